"""Casework: every use case. Each checks policy, runs engine work, writes records and the audit
event in one transaction, and returns a small result dataclass. The only door to records for the
UI and the CLI.
"""
