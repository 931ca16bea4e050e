"""Errors meant for users.

Everything the user can get wrong (a config field, a data file, an image) raises a
subclass of `UserError` at the edge, with a message that names the file, line or field.
Command-line entry points catch `UserError`, print its message and exit with status 2,
so bad input never ends in a traceback.
"""

import sys


class UserError(Exception):
    """A problem with the user's input, explained in the message."""


class ConfigError(UserError):
    """A bad configuration file or flag."""


class DataError(UserError):
    """A bad data file, annotation line, image or label."""


def exit_on_user_error(main):
    """Wraps a command-line main so a `UserError` prints one line and exits with status 2."""

    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    wrapped.__name__ = getattr(main, "__name__", "main")
    wrapped.__doc__ = main.__doc__
    return wrapped
