"""Face pipeline: decode, detect, landmarks, align, embed, index, quality, feature regions.

Pure computation on arrays and files: imports neither Qt nor SQLAlchemy. Long work takes
``progress(done, total, message)`` and ``cancelled()`` callables.
"""
