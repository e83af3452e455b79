"""Policy: the agency's rules as data and pure functions. The single place a rule is written.

``profiles`` (load_profile, PolicyProfile), ``worksheet`` (load_worksheet, Answer, Conclusion,
progress), ``gates`` (every check_* / evaluate_* gate; re-exports ``release_gates``),
``decision`` (Decision, require_role), ``roles`` (Role), ``supervision`` (audit access, training
status). No I/O beyond reading profile and worksheet files; no database.
"""
