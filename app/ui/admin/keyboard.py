"""Keyboard helpers shared by the administration screens."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from PySide6.QtWidgets import QWidget


def chain_tab_order(widgets: Sequence[QWidget]) -> None:
    """Tab moves through ``widgets`` in the given order."""
    for first, second in pairwise(widgets):
        QWidget.setTabOrder(first, second)


__all__ = ["chain_tab_order"]
