"""Files the command line writes: atomic replacement, path checks, model files.

Every file (model, metrics, predictions) is written through
:func:`write_atomically`: into a temporary file in the target's folder,
fsynced, then renamed over the target with :func:`os.replace`. A failed or
interrupted write (disk full, file-size limit, Ctrl-C, SIGKILL) therefore
leaves the previous file whole; at worst a hidden ``.NAME.*.tmp`` file remains
after SIGKILL.
"""

import contextlib
import os
import tempfile
import warnings

from .. import __version__
from ._errors import CLIError, one_line, warn

# Version of the layout of the model files written by ``skmtl train``: 2 for a
# model with a multi-label task (it adds the key "label_sep"; a reader of
# format 1 would take its label sets for single labels), else 1.
MODEL_FORMAT = 1
MULTILABEL_MODEL_FORMAT = 2
READ_FORMATS = (MODEL_FORMAT, MULTILABEL_MODEL_FORMAT)
MODEL_KEYS = ("skmtl_model", "pipeline", "text_column", "tasks", "skmtl_version")
# Extensions a model file is expected to have; used to recognise swapped
# MODEL DATA arguments.
MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
# First byte of a pickle (protocol 2 and later), joblib's files included.
_PICKLE_MAGIC = b"\x80"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(writers):
    """Write several files, each replaced only when all are complete.

    Parameters
    ----------
    writers : dict of str to callable
        ``{path: write}``; ``write(handle)`` writes the file's bytes to a binary
        handle. All files are written and fsynced before the first one is
        renamed into place, so a model is never left beside the metrics of
        another.
    """
    temporaries = {}
    try:
        for path, write in writers.items():
            folder, name = os.path.split(os.path.abspath(path))
            fd, temporary = tempfile.mkstemp(
                prefix=f".{name}.", suffix=".tmp", dir=folder
            )
            temporaries[path] = temporary
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp creates the file readable by its owner only.
            os.chmod(temporary, 0o666 & ~_umask())
        for path, temporary in list(temporaries.items()):
            os.replace(temporary, path)
            del temporaries[path]
    except BaseException:
        for temporary in temporaries.values():
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    _fsync_folders(writers)


def _fsync_folders(paths):
    """Make the renames durable (where a folder can be opened, not on Windows)."""
    for folder in {os.path.dirname(os.path.abspath(p)) for p in paths}:
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def check_output_path(path, what):
    """Fail early, before any long work, if ``path`` cannot be written.

    A temporary file is created and removed in the target's folder: this is
    what :func:`write_atomically` will do, so a read-only folder or a special
    file system such as ``/proc`` fails here, not after training.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write the {what} {path!r}: no directory {folder!r}")
    if os.path.isdir(path):
        raise CLIError(f"cannot write the {what} {path!r}: it is a directory")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(
            f"cannot write the {what} {path!r}: {folder!r} is not writable "
            f"({one_line(exc)})"
        ) from exc


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file (existing or not)."""
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_not_input(output, inputs, what):
    """Refuse to write the output ``output`` over one of the ``inputs``."""
    for option, path in inputs.items():
        if same_file(output, path):
            raise CLIError(
                f"the {what} {output!r} is the {option} {path!r}: writing it would "
                "destroy that input; choose another file name"
            )


def save_model(path, metrics_path, bundle, write_metrics):
    """Write the model ``bundle`` with joblib and its metrics, atomically."""
    import joblib

    try:
        write_atomically(
            {
                path: lambda handle: joblib.dump(bundle, handle),
                metrics_path: write_metrics,
            }
        )
    except OSError as exc:
        raise CLIError(f"cannot write the model {path!r}: {one_line(exc)}") from exc


def looks_like_model(path):
    """Whether ``path`` is named or starts like a model file (a pickle)."""
    if path.lower().endswith(MODEL_EXTENSIONS):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(1) == _PICKLE_MAGIC
    except OSError:
        return False


def load_model(path):
    """The dict saved by ``skmtl train``; warnings become one line each."""
    import joblib

    if not os.path.exists(path):
        raise CLIError(f"cannot read the model {path!r}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read the model {path!r}: it is a directory")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            bundle = joblib.load(path)
        except PermissionError as exc:
            raise CLIError(f"cannot read the model {path!r}: {one_line(exc)}") from exc
        except Exception as exc:  # unpickling garbage raises anything
            raise CLIError(
                f"cannot load the model {path!r} ({type(exc).__name__}"
                f"{': ' + one_line(exc) if str(exc).strip() else ''}): it is not a "
                "model file of 'skmtl train', or needs other versions of its "
                "libraries"
            ) from exc
    _check_bundle(bundle, path)
    for warning in caught:
        # E.g. skmtl's or scikit-learn's InconsistentVersionWarning; not the
        # DeprecationWarnings of the libraries unpickling.
        if issubclass(warning.category, UserWarning):
            warn(warning.message)
    return bundle


def _check_bundle(bundle, path):
    if not (isinstance(bundle, dict) and all(key in bundle for key in MODEL_KEYS)):
        raise CLIError(
            f"{path!r} is not a skmtl model file (those are written by 'skmtl train')"
        )
    if bundle["skmtl_model"] not in READ_FORMATS:
        raise CLIError(
            f"{path!r} is a skmtl model file of format {bundle['skmtl_model']!r}, "
            f"written by skmtl {bundle['skmtl_version']}; this skmtl ({__version__}) "
            f"reads formats {' and '.join(map(str, READ_FORMATS))}"
        )
    if bundle["skmtl_model"] == MULTILABEL_MODEL_FORMAT:
        sep = bundle.get("label_sep")
        if not (isinstance(sep, str) and sep.strip()):
            raise CLIError(
                f"{path!r} is a damaged skmtl model file: it has multi-label tasks "
                "but no label separator"
            )


def model_bundle(pipeline, text_column, tasks, label_sep=None):
    """The dict a model file holds.

    ``label_sep``, the separator of the labels in a multi-label cell, is stored
    when the model has a multi-label task, which makes the file format 2.
    """
    bundle = {
        "skmtl_model": MODEL_FORMAT,
        "pipeline": pipeline,
        "text_column": text_column,
        "tasks": list(tasks),
        "skmtl_version": __version__,
    }
    if any(getattr(pipeline[-1], "multilabel_", ())):
        bundle["skmtl_model"] = MULTILABEL_MODEL_FORMAT
        bundle["label_sep"] = label_sep
    return bundle
