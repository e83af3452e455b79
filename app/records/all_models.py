"""Imports every model module so ``Base.metadata`` knows every table (migrations, tests).

Each helper that adds a model module adds its import here.
"""

from __future__ import annotations

from app.records import case_models, gallery_models, models, report_models, unit_settings
from app.records.base import Base

__all__ = ["Base", "case_models", "gallery_models", "models", "report_models", "unit_settings"]
