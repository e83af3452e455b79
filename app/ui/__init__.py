"""User interface: the only package that imports PySide6. Calls casework only."""
