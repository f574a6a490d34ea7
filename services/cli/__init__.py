"""The ``serah`` command line."""
