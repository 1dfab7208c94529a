"""argparse types and the arguments several commands share."""

import argparse
import math

from ._tables import FORMATS

MAX_SEED = 2**32 - 1


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def seed(text):
    """argparse type of ``--random-state``: an int in [0, 2**32 - 1]."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in [0, {MAX_SEED}], got {value}")
    return value


def count(text):
    """argparse type: an int >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def min_df(text):
    """argparse type of ``--min-df``: an int >= 1 or a float in (0, 1)."""
    try:
        return count(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a count >= 1 or a fraction in (0, 1), got {text!r}"
        )
    return value


def holdout(text):
    """argparse type of ``--holdout``; its range is checked by ``skmtl train``."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None


def add_format_argument(parser):
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="format of DATA (default: from its extension)",
    )


def add_quiet_argument(parser, what):
    parser.add_argument("--quiet", action="store_true", help=what)


def add_model_and_data_arguments(parser, data_help):
    """The positional MODEL DATA of ``predict`` and ``evaluate``."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model file written by 'skmtl train' (a pickle: load only files "
        "you trust)",
    )
    parser.add_argument("data", metavar="DATA", help=data_help)


def add_task_and_text_arguments(parser, verb):
    """``--tasks`` and ``--text`` of ``predict`` and ``evaluate``."""
    parser.add_argument(
        "--tasks",
        metavar="TASK1,TASK2,...",
        help=f"{verb} only these tasks (default: all tasks of the model)",
    )
    parser.add_argument(
        "--text",
        metavar="COL",
        help="column of the texts (default: the one the model was trained on)",
    )
