"""The one error type of the local platform: a single line a person can act on."""


class StackError(Exception):
    """A platform problem, stated in one line that names what is wrong and what to set."""
