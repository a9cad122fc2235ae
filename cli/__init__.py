"""The ``fourway`` command."""
