"""Sub-commands of the ``frx`` command-line tool; each module registers its own parsers."""
