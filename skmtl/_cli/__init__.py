"""The ``skmtl`` command line (also ``python -m skmtl``).

One module per command (:mod:`.demo`, :mod:`.train`, :mod:`.predict`,
:mod:`.evaluate`), each with ``add_parser(subparsers)`` and ``run(args) ->
int``; to add a command, write such a module and list it in :data:`COMMANDS`.
Shared modules: :mod:`._args` (argparse types), :mod:`._options` (train's
estimator options, generated from the estimator), :mod:`._tables` (data files),
:mod:`._modelfile` (atomic writes, path checks, the model file),
:mod:`._report` (scores and the table formatter), :mod:`._inputs` (what
``predict`` and ``evaluate`` read).

Errors meant for the user are raised as :class:`CLIError`; :func:`main` prints
them, and whatever else a damaged input raises, as one line ``skmtl: error:
...`` on stderr, with exit status 1. Usage errors are argparse's (status 2).
"""

import argparse
import contextlib
import os
import sys
import warnings

from .. import __version__
from . import demo, evaluate, predict, train
from ._errors import PROG, CLIError, one_line, warn
from ._tables import READ_ERRORS

COMMANDS = (demo, train, predict, evaluate)

# Exceptions that a bad input, a full disk or a too large option can raise
# anywhere in a command: all shown as one line.
_USER_ERRORS = (CLIError, MemoryError, *READ_ERRORS)

__all__ = ["CLIError", "main"]


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "skmtl: multi-task text classification for scikit-learn. "
            "Run 'skmtl COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def _single_thread_blas():
    """Limit BLAS to one thread if threadpoolctl is installed, else do nothing.

    The models are single-threaded; a multi-threaded BLAS only competes with
    them for the cores (on 2 busy cores it made the demo's baseline fits ~10
    times slower).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` of the command line: one line, no source."""
    warn(message)


def main(argv=None):
    """Run the ``skmtl`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 1 after an error (printed as one line
        ``skmtl: error: ...`` on stderr), 130 when interrupted. Usage errors
        raise ``SystemExit(2)`` from argparse.
    """
    args = _build_parser().parse_args(argv)
    try:
        with _single_thread_blas(), warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. ``skmtl demo | head``): stop
        # quietly, and keep Python from complaining when it flushes stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except _USER_ERRORS as exc:
        message = one_line(exc)
        if isinstance(exc, MemoryError):
            message = f"out of memory: {message}"
        elif isinstance(exc, RecursionError):
            message = f"input nested too deeply: {message}"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
