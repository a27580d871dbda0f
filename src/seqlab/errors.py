"""The one exception type for user errors: the CLI prints its message on one line and exits 2."""


class UserError(Exception):
    """Bad input or usage: a message that says what is wrong and how to fix it."""
