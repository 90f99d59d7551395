"""The one base class of every error a user can fix; the command line prints its message, not a traceback."""


class UserError(Exception):
    """Something the user asked for or supplied cannot be done; the message says what to do instead."""
