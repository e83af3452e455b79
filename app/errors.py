"""The project's own exception types.

Every error a user can cause is raised as a subclass of :class:`FrxError` whose message is a plain
sentence an examiner understands; the UI and CLI show ``str(error)`` and never a traceback.
"""

from __future__ import annotations


class FrxError(Exception):
    """Base class of every error the user can cause; ``str()`` is the plain message."""


class ConfigurationError(FrxError):
    """The installation's settings are wrong (data folder, database URL, profile, model)."""


class StorageError(FrxError):
    """The data folder or database cannot be read or written (read-only, full disk, corrupt)."""


class ImageError(FrxError):
    """An image cannot be used: not an image, truncated, too large, unsupported."""


class ModelError(FrxError):
    """A face model is missing, corrupt or does not match its manifest."""


class IndexCorruptError(FrxError):
    """A persisted search index cannot be trusted and must be rebuilt."""


class IndexFormatError(IndexCorruptError):
    """A persisted search index was written in another format (an earlier version): sound, but
    rebuilt all the same."""


class AuthenticationError(FrxError):
    """Sign-in failed: unknown user, wrong password, locked or inactive account."""


class PermissionDenied(FrxError):
    """The signed-in user may not do this (role, training, acknowledgment)."""


class PolicyViolation(FrxError):
    """The action would break a rule of the active policy profile."""


class NotFound(FrxError):
    """A record the user asked for does not exist."""


class ConflictError(FrxError):
    """Someone else changed the record meanwhile (optimistic locking)."""


class IntegrityError(FrxError):
    """Stored evidence, an audit chain or a report failed verification."""


class ImportCancelled(FrxError):
    """A long operation was cancelled by the user; what was done so far is kept."""


class EditError(FrxError):
    """A probe edit is unknown, has a bad or missing parameter, or does not fit the image."""


class InvalidInput(FrxError):
    """Something the user typed or chose cannot be used (a date range the wrong way round, an
    unknown export format, a destination that is not a file)."""


class ManifestError(FrxError):
    """A gallery import manifest cannot be used (missing columns, unreadable, not a CSV file)."""
