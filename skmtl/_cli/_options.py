"""``skmtl train``'s estimator options, generated from the estimator itself.

Each parameter of :class:`~skmtl.MultiTaskTextClassifier` becomes an option
``--name-with-dashes``: its accepted values come from
``_parameter_constraints``, its help from the first sentence of the
parameter's entry in the class docstring and its default from ``__init__``,
so the command line cannot drift from the estimator. The parameters in
:data:`EXCLUDED` are set by the command line itself.
"""

import argparse
import inspect
import json
import re
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions, make_constraint

from .._estimator import MultiTaskTextClassifier

ESTIMATOR = MultiTaskTextClassifier

# Parameters with no generated option, and why.
EXCLUDED = {
    "random_state": "--random-state sets it; it also draws the --holdout rows",
    "verbose": "train shows its own progress (hidden by --quiet)",
    "warm_start": "train always starts from scratch: there is no model to continue",
    "missing_label": "fixed to '': an empty cell is a missing label",
}


def parameter_docs(cls=ESTIMATOR):
    """``{name: description}`` from the "Parameters" section of ``cls``'s docstring."""
    lines = inspect.getdoc(cls).splitlines()
    start = lines.index("Parameters") + 2
    docs, name = {}, None
    for line in lines[start:]:
        if line.strip() and not line.startswith(" "):
            if " : " not in line:
                break  # the next section's title
            name = line.partition(" : ")[0].strip()
            docs[name] = []
        elif name is not None:
            docs[name].append(line.strip())
    return {name: " ".join(words).strip() for name, words in docs.items()}


def _first_sentence(text):
    text = text.replace("``", "").replace("`", "")
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def _parse_mapping(text):
    """A JSON object or array, or the shorthand ``NAME=NUMBER,NAME=NUMBER``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    pairs = [item.partition("=") for item in text.split(",")]
    if not all(sep and key.strip() for key, sep, _ in pairs):
        raise ValueError("not JSON nor NAME=NUMBER,...")
    return {key.strip(): float(value) for key, _, value in pairs}


def _candidates(constraint, text):
    """Values ``text`` could mean under one constraint (maybe none)."""
    if constraint is None:
        return [None] if text.lower() == "none" else []
    if isinstance(constraint, StrOptions):
        return [text] if text in constraint.options else []
    if constraint == "boolean":  # beside other values, e.g. private's 'auto'
        return {"true": [True], "false": [False]}.get(text.lower(), [])
    kind = constraint.type if isinstance(constraint, Interval) else constraint
    parse = {Integral: int, Real: float}.get(kind)
    if parse is None:  # dict, list, "array-like": given as JSON
        parse = _parse_mapping
    try:
        return [parse(text)]
    except (ValueError, TypeError, RecursionError):
        return []


def _converter(name, constraints):
    """argparse ``type`` accepting exactly what the constraints accept."""
    checks = [c if c is None else make_constraint(c) for c in constraints]

    def convert(text):
        for constraint, check in zip(constraints, checks):
            for value in _candidates(constraint, text):
                if check is None or check.is_satisfied_by(value):
                    return value
        wanted = " or ".join("none" if c is None else str(c) for c in checks)
        raise argparse.ArgumentTypeError(f"must be {wanted}; got {text!r}")

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def _metavar(constraints):
    parts = []
    for c in constraints:
        if isinstance(c, StrOptions):
            parts.extend(sorted(c.options))
        elif c == "boolean":
            parts.extend(["true", "false"])
        elif c is None:
            parts.append("none")
        else:
            kind = c.type if isinstance(c, Interval) else c
            parts.append({Integral: "INT", Real: "FLOAT"}.get(kind, "JSON"))
    return "{" + ",".join(dict.fromkeys(parts)) + "}" if len(parts) > 1 else parts[0]


def generated_parameters():
    """Names of the estimator's parameters that get an option, in order."""
    return [
        name for name in inspect.signature(ESTIMATOR).parameters if name not in EXCLUDED
    ]


def add_estimator_options(group):
    """Add one option per parameter of :func:`generated_parameters` to ``group``."""
    constraints = ESTIMATOR._parameter_constraints
    docs = parameter_docs()
    defaults = ESTIMATOR().get_params()
    for name in generated_parameters():
        default = defaults[name]
        metavar = _metavar(constraints[name])
        note = (
            " JSON: a JSON object or array, or NAME=NUMBER,..."
            if ("JSON" in metavar)
            else ""
        )
        shown = "none" if default is None else default
        help_text = f"{_first_sentence(docs[name])}{note} (default: {shown})"
        help_text = help_text.replace("%", "%%")
        flag = "--" + name.replace("_", "-")
        if constraints[name] == ["boolean"]:
            group.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=help_text,
            )
        else:
            group.add_argument(
                flag,
                type=_converter(name, constraints[name]),
                default=default,
                metavar=metavar,
                help=help_text,
            )


def estimator_params(args):
    """The estimator's parameters chosen by the generated options of ``args``."""
    return {name: getattr(args, name) for name in generated_parameters()}
