"""Errors the user can act on: the CLI prints them as one line, never a traceback."""


class UserError(Exception):
    """Bad input or configuration, with a message that says what to do."""
