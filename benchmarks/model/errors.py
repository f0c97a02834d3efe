"""The error every command reports as bad input: one line naming the input and what was expected, exit status 2."""


class BadInput(ValueError):
    """A file, option or name that cannot be used; the message names it and says what was expected."""
