"""The command line's one error type and its one-line messages."""

import sys

PROG = "skmtl"


class CLIError(Exception):
    """An error shown to the user as one line ``skmtl: error: <message>``."""


def one_line(exc):
    """The message of ``exc`` on one line (its type name when it has none)."""
    message = " ".join(str(exc).split())
    return message or type(exc).__name__


def warn(message):
    """Print ``skmtl: warning: <message>`` on stderr, on one line."""
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)
