"""FRX examiner workstation: facial-recognition investigative leads, under policy, fully audited."""

__version__ = "0.1.0"
APP_NAME = "FRX Examiner Workstation"
