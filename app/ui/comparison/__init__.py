"""Side-by-side comparison of a probe with its candidates: the examiner's main screen.

``model`` and ``geometry`` are plain Python (no Qt); the ``qt_*`` modules are the widgets:
:class:`QtImagePane`, :class:`QtComparisonView`, :class:`QtFeatureStrip`,
:class:`QtWorksheetPanel` and :class:`QtComparisonScreen`, which composes them.
"""
