"""Supervision and administration screens: the audit log viewer and user administration."""
