"""Task and label encoding: from user targets to the kernel's integer label matrix.

The kernel trains *heads*: a multiclass (or binary) task is one head over its
classes, a multi-label task one two-class head (label absent, present) per
label. It sees one int8 (or int32) matrix of shape ``(n_samples, n_heads)`` in
which each entry is the index of the class inside its head, or ``-1`` where the
task's label is missing.  Everything a user may pass as a target (1-D ``y``, 2-D
array like, pandas ``DataFrame``; int, float or string labels; label
collections for a multi-label task; ``None``, ``NaN``, ``pd.NA`` or a sentinel
for missing labels) is turned into that matrix here, once.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import type_of_target

#: Value of the encoded label matrix where a label is missing.
MISSING = -1
#: String classes longer than this many characters are stored as objects.
LONG_LABEL = 32
#: String classes that usually mark a missing label (warned about when they are
#: classes and ``missing_label`` is not set).
SENTINEL_STRINGS = frozenset({"", "nan", "NaN", "NAN", "None", "none", "null",
                              "NULL", "NA", "N/A", "n/a"})


def _is_pandas_na(value):
    # Compared by type name so that pandas stays an optional dependency.
    return type(value).__name__ == "NAType"


def _is_missing_scalar(value, missing_label):
    if value is None or _is_pandas_na(value):
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    if missing_label is None:
        return False
    if isinstance(value, str) != isinstance(missing_label, str):
        return False
    return bool(value == missing_label)


def missing_mask(column, missing_label=None):
    """Boolean mask of the missing entries of one task's labels.

    Parameters
    ----------
    column : ndarray of shape (n_samples,)
        Labels of one task, of any dtype.
    missing_label : int, float, str or None, default=None
        Extra value that marks a missing label. ``None``, ``NaN`` and ``pd.NA``
        always do.

    Returns
    -------
    mask : ndarray of shape (n_samples,), dtype=bool
        True where the label is missing.
    """
    column = np.asarray(column)
    if column.dtype.kind == "f":
        mask = np.isnan(column)
        if missing_label is not None and not isinstance(missing_label, str):
            mask |= column == missing_label
        return mask
    if column.dtype.kind in "iub":
        if missing_label is None or isinstance(missing_label, str):
            return np.zeros(column.shape, dtype=bool)
        return column == missing_label
    if column.dtype.kind == "U":
        if isinstance(missing_label, str):
            return column == missing_label
        return np.zeros(column.shape, dtype=bool)
    try:  # pandas' isna is a C loop over None, NaN and pd.NA
        from pandas import isna
    except ImportError:
        mask = np.fromiter(
            (_is_missing_scalar(v, None) for v in column), bool, column.shape[0]
        )
    else:
        mask = np.asarray(isna(column), dtype=bool)
    if missing_label is not None:
        # None, NaN and pd.NA are out of the way, so == compares element-wise
        # (and a string never equals a number).
        present = np.flatnonzero(~mask)
        mask[present] = np.asarray(column[present] == missing_label, dtype=bool)
    return mask


def as_task_columns(Y):
    """Split a target into one array per task.

    Parameters
    ----------
    Y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
        Targets as the user passed them.

    Returns
    -------
    columns : list of ndarray of shape (n_samples,)
        One array per task, with the dtype pandas or numpy gives that column.
    task_names : list of str or None
        Column names of a DataFrame (as strings), else None.
    is_1d : bool
        Whether ``Y`` was one-dimensional (a single task, ordinary classifier).
    """
    if hasattr(Y, "columns") and hasattr(Y, "iloc"):  # pandas DataFrame
        columns = [_column_to_numpy(Y.iloc[:, j]) for j in range(Y.shape[1])]
        names = [str(c) for c in Y.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"Y has several columns named {repeated}; task names must be "
                "unique."
            )
        return columns, names, False
    if hasattr(Y, "iloc"):  # pandas Series
        return [_column_to_numpy(Y)], None, True
    if sp.issparse(Y):
        return [indicator_to_label_sets(Y)], None, True
    # Lists are read as objects: numpy would turn a mix of int and string tasks
    # into strings everywhere.
    Y = _object_array(Y) if isinstance(Y, (list, tuple)) else np.asarray(Y)
    if Y.dtype.kind == "O" and Y.ndim == 1 and Y.size and isinstance(Y[0], list):
        raise ValueError(
            "Y is a ragged nested sequence; pass a 2-D array-like with one column "
            "per task. For a single multi-label task, pass its label collections "
            "as a pandas Series, a 1-D object array or a list of sets."
        )
    if Y.ndim == 1:
        return [Y], None, True
    if Y.ndim != 2:
        raise ValueError(
            f"Y must be 1-D (one task) or 2-D (one column per task); got {Y.ndim} "
            "dimensions."
        )
    return [Y[:, j] for j in range(Y.shape[1])], None, False


def indicator_to_label_sets(Y):
    """A sparse multi-label indicator matrix as one column of label tuples.

    Parameters
    ----------
    Y : sparse matrix of shape (n_samples, n_labels)
        1 where a label applies, 0 elsewhere (scikit-learn's
        multilabel-indicator format); its labels are the column indices.

    Returns
    -------
    column : ndarray of shape (n_samples,), dtype=object
        Tuples of the column indices of each row's ones.
    """
    Y = sp.csr_matrix(Y)
    Y.eliminate_zeros()
    if Y.nnz and not np.all(Y.data == 1):
        raise ValueError(
            "A sparse y is a multi-label indicator matrix: its entries must be "
            f"0 or 1, got values such as {Y.data[Y.data != 1][0]!r}."
        )
    Y.sort_indices()
    column = np.empty(Y.shape[0], dtype=object)
    for i in range(Y.shape[0]):
        column[i] = tuple(Y.indices[Y.indptr[i]:Y.indptr[i + 1]].tolist())
    return column


def _object_array(rows):
    """A list of labels (1-D) or of rows of cells (2-D) as an object array.

    Cells that are label collections stay cells: numpy alone would read
    equal-length tuples as a third dimension.
    """
    Y = np.asarray(rows, dtype=object)
    if Y.ndim <= 2:
        return Y
    Y = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            Y[i, j] = cell
    return Y


def _column_to_numpy(series):
    # Nullable and categorical pandas columns are read as objects so that pd.NA
    # and the original label values survive.
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiubU":
        return series.to_numpy()
    return series.to_numpy(dtype=object)


def labelled_values(values, task_name):
    """Labelled entries of one task as a numpy array with a clean dtype."""
    if values.dtype.kind != "O":
        return values
    # The set of the cells' types is one C loop; a test per cell in Python
    # cost about 5 % of a partial_fit epoch on FDU-MTL's 16 tasks.
    types = set(map(type, values))
    if all(issubclass(kind, str) for kind in types):
        return values.astype(str)
    if not all(issubclass(kind, (numbers.Number, np.bool_)) for kind in types):
        kinds = sorted(kind.__name__ for kind in types)
        raise TypeError(
            f"Labels of task {task_name!r} mix types {kinds}; all labels of a task "
            "must be strings, or all numbers."
        )
    return np.asarray(values.tolist())


def encode_targets(Y, missing_label=None, task_names=None, classes=None):
    """Encode user targets into the kernel's label matrix.

    Parameters
    ----------
    Y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
        Targets. Missing labels are ``None``, ``NaN``, ``pd.NA`` or ``missing_label``.
    missing_label : int, float, str or None, default=None
        Extra sentinel value that marks a missing label.
    task_names : list of str or None, default=None
        Names to use when ``Y`` carries none (not a DataFrame). ``None`` gives
        ``task_0, task_1, ...``.
    classes : list of ndarray or None, default=None
        Known classes of each task (``partial_fit`` after its first call). Labels
        are then encoded against them, any label outside them is an error, and a
        task may have no labels or a single class in ``Y``.

    Returns
    -------
    Y_encoded : ndarray of shape (n_samples, n_heads), dtype=int8 or int32
        Index of each label in its head's classes (a multi-label task's
        heads: 0 absent, 1 present), ``MISSING`` (-1) if missing; int8 unless
        a task has more than 127 classes.
    classes : list of ndarray
        Sorted classes (labels) of each task, in the dtype of the labels.
    task_names : list of str
        Name of each task.
    multilabel : list of bool
        Whether each task is multi-label (its cells are label collections).
    is_1d : bool
        Whether ``Y`` was one-dimensional.

    Raises
    ------
    ValueError
        If a task has no labels or continuous labels (when ``classes`` is
        None), or a label outside the known ``classes``.
    TypeError
        If the labels of a task mix strings and numbers, or label collections
        and single labels.
    """
    columns, names, is_1d = as_task_columns(Y)
    Y_encoded, found_classes, names, multilabel = encode_columns(
        columns, names or task_names, missing_label, classes
    )
    return Y_encoded, found_classes, names, multilabel, is_1d


def encode_columns(columns, task_names=None, missing_label=None, classes=None,
                   multilabel=None, warn_constant=True, single_task=False):
    """``encode_targets`` of targets already split by ``as_task_columns``.

    Parameters
    ----------
    columns : list of ndarray of shape (n_samples,)
        One array per task.
    task_names : list of str or None, default=None
    missing_label : int, float, str or None, default=None
    classes : list of ndarray or None, default=None
        Known classes (labels, for a multi-label task) of each task.
    multilabel : list of bool or None, default=None
        Known kind of each task (a fitted model's); None takes each task's
        kind from its cells: multi-label where they are label collections.
    warn_constant : bool, default=True
        Warn about a label of a multi-label task that is present in every
        labelled cell or in none (its head learns a constant). A batch of a
        stream need not hold every label.
    single_task : bool, default=False
        Whether the target is a 1-D ``y``: a multiclass task of one class is
        then an error (an ordinary classifier needs two classes), not a
        constant learned with a warning.

    Returns
    -------
    Y_encoded : ndarray of shape (n_samples, n_heads), dtype=int8 or int32
        Class codes of each head (``head_sizes``), ``MISSING`` (-1) where the
        task's label is missing.
    classes : list of ndarray
        Sorted classes (labels) of each task.
    task_names : list of str
    multilabel : list of bool
        Whether each task is multi-label.
    """
    names = task_names or [f"task_{t}" for t in range(len(columns))]
    if len(columns) == 0:
        raise ValueError("Y has no task (zero columns).")
    for given in (classes, multilabel):
        if given is not None and len(given) != len(columns):
            raise ValueError(
                f"Y has {len(columns)} task(s) but the model was fitted on "
                f"{len(given)}."
            )
    blocks, found_classes, kinds = [], [], []
    for t, (name, column) in enumerate(zip(names, columns)):
        labelled = ~missing_mask(column, missing_label)
        known = None if classes is None else classes[t]
        is_multilabel = _task_kind(column[labelled], name,
                                   None if multilabel is None else multilabel[t])
        if not labelled.any() and known is None:
            raise ValueError(
                f"Task {name!r} has no labelled sample; every task needs labels "
                "(missing labels are None, NaN, pd.NA or missing_label="
                f"{missing_label!r})."
            )
        if is_multilabel:
            codes, task_classes = _encode_label_sets(column[labelled], name, known)
            if warn_constant:
                _warn_constant_labels(codes, task_classes, name)
        else:
            codes, task_classes = _encode_labels(column[labelled], name, known,
                                                 missing_label, single_task)
        # One byte a label while a head has at most 127 classes (the kernel
        # takes int8 or int32): with many tasks the label matrix is then a
        # small part of what fit holds in memory.
        narrow = is_multilabel or len(task_classes) <= np.iinfo(np.int8).max
        block = np.full((len(column), codes.shape[1]), MISSING,
                        dtype=np.int8 if narrow else np.int32)
        block[labelled] = codes
        blocks.append(block)
        found_classes.append(task_classes)
        kinds.append(is_multilabel)
    return np.hstack(blocks), found_classes, list(names), kinds


class LabelSet(frozenset):
    """The labels of one cell of a multi-label task, in a form scikit-learn can sort.

    A ``frozenset`` that sorts after every single label (a string or a number)
    and among label sets by their labels. ``GridSearchCV`` and
    ``cross_val_score`` with an integer ``cv`` call scikit-learn's
    ``type_of_target(Y)``, which sorts all of ``Y``'s cells together: label
    sets as tuples, lists or sets do not sort beside the strings of the other
    tasks or of the ``missing_label`` sentinel, and it raises a ``TypeError``.
    Cells of this type let it through, so an integer ``cv`` works (it then
    splits with ``KFold``). ``<`` and ``>`` compare that order, not subsets
    as a ``frozenset``'s do; equality, hashing and everything else are a
    ``frozenset``'s.

    Parameters
    ----------
    labels : iterable of labels, default=()
        The cell's labels; empty for "no label applies". A string is refused:
        ``frozenset("ab")`` would be the labels ``'a'`` and ``'b'``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmtl import LabelSet
    >>> tags = pd.Series([("billing",), (), "", ("login", "bug")])
    >>> tags.map(lambda cell: cell if cell == "" else LabelSet(cell)).tolist()
    [LabelSet({'billing'}), LabelSet(), '', LabelSet({'bug', 'login'})]
    """

    __slots__ = ()

    def __new__(cls, labels=()):
        if isinstance(labels, (str, bytes)):
            raise TypeError(
                f"LabelSet takes a collection of labels, got the string {labels!r};"
                " write LabelSet([label]) for a single label."
            )
        return super().__new__(cls, labels)

    def __repr__(self):
        if not self:
            return "LabelSet()"
        return "LabelSet({" + ", ".join(sorted(map(repr, self))) + "})"

    def _sort_key(self):
        return sorted(map(repr, self))

    def __lt__(self, other):
        if isinstance(other, LabelSet):
            return self._sort_key() < other._sort_key()
        return False

    def __gt__(self, other):
        if isinstance(other, LabelSet):
            return self._sort_key() > other._sort_key()
        return True

    def __le__(self, other):
        return self == other or self < other

    def __ge__(self, other):
        return self == other or self > other


# Types of the cells of a multi-label task (a numpy array only when 1-D).
_LABEL_SET_TYPES = (list, tuple, set, frozenset, np.ndarray)


def is_label_set(value):
    """Whether a target cell is a collection of labels (a multi-label cell)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, _LABEL_SET_TYPES)


def is_label_set_column(values, task_name):
    """Whether a task's labelled cells are label collections (a multi-label task).

    Raises a TypeError if some are and others are not.
    """
    return _task_kind(values, task_name)


def _label_set_mask(values):
    """Which of a task's cells are label collections, per ``is_label_set``."""
    # Most columns hold no collection at all, which the set of the cells'
    # types (one C loop) tells without a test per cell in Python.
    if values.dtype.kind != "O" or not any(
        issubclass(kind, _LABEL_SET_TYPES) for kind in set(map(type, values))
    ):
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((is_label_set(v) for v in values), bool, len(values))


def _task_kind(values, task_name, fitted_multilabel=None):
    """Whether a task's labelled cells are label sets, checked against its kind."""
    is_set = _label_set_mask(values)
    if fitted_multilabel is None:
        if is_set.any() and not is_set.all():
            raise TypeError(
                f"Task {task_name!r} mixes label collections and single labels "
                f"(e.g. {values[~is_set][0]!r}); the cells of a multi-label task "
                "are all collections (list, tuple, set or frozenset), those of "
                "a multiclass task all single labels."
            )
        return bool(is_set.any())
    if fitted_multilabel and not is_set.all():
        raise TypeError(
            f"Task {task_name!r} is multi-label: its cells must be label "
            "collections (list, tuple, set or frozenset; empty for 'no label'), "
            f"got {values[~is_set][0]!r}."
        )
    if not fitted_multilabel and is_set.any():
        raise TypeError(
            f"Task {task_name!r} was fitted as a multiclass task, but a cell is "
            f"the label collection {values[is_set][0]!r}."
        )
    return fitted_multilabel


def _encode_labels(values, task_name, classes=None, missing_label=None,
                   single_task=False):
    """Class codes of one multiclass task's labelled cells.

    Returns
    -------
    codes : ndarray of shape (n_labelled, 1)
    classes : ndarray of shape (n_classes,)
    """
    if not len(values):
        return np.zeros((0, 1), dtype=np.intp), classes
    values = labelled_values(values, task_name)
    _check_classification_labels(values, task_name)
    if classes is not None:
        return encode_with_classes(values, classes, task_name)[:, None], classes
    classes, codes = np.unique(values, return_inverse=True)
    classes = compact_labels(classes)
    _warn_sentinel_classes(classes, task_name, missing_label)
    if len(classes) < 2 and single_task:
        raise ValueError(
            f"y has only one class ({classes.tolist()[0]!r}); a classifier needs "
            "at least 2 classes."
        )
    if len(classes) < 2:
        warnings.warn(
            f"Task {task_name!r} has only one class ({classes.tolist()[0]!r}) "
            "among its labelled samples: it is learned as a constant and always "
            "predicts that class.",
            UserWarning,
        )
    return codes.reshape(-1, 1), classes


def _encode_label_sets(cells, task_name, labels=None):
    """Indicator codes (0 absent, 1 present) of one multi-label task's cells.

    Returns
    -------
    codes : ndarray of shape (n_labelled, n_labels)
    labels : ndarray of shape (n_labels,)
        Sorted labels of the task.
    """
    lengths = np.fromiter((len(c) for c in cells), np.intp, len(cells))
    flat = np.empty(int(lengths.sum()), dtype=object)
    flat[:] = [label for cell in cells for label in cell]
    if any(is_label_set(v) or _is_missing_scalar(v, None) for v in flat):
        raise TypeError(
            f"Label collections of task {task_name!r} must hold labels (ints or "
            "strings), not collections or missing values."
        )
    if labels is None:
        if not len(flat):
            raise ValueError(
                f"Task {task_name!r} is multi-label, but none of its label "
                "collections holds a label."
            )
        values = labelled_values(flat, task_name)
        _check_classification_labels(values, task_name)
        labels, codes = np.unique(values, return_inverse=True)
        labels = compact_labels(labels)
    else:
        codes = (encode_with_classes(labelled_values(flat, task_name), labels,
                                     task_name)
                 if len(flat) else np.zeros(0, dtype=np.intp))
    indicator = np.zeros((len(cells), len(labels)), dtype=np.intp)
    indicator[np.repeat(np.arange(len(cells)), lengths), codes] = 1
    return indicator, labels


def _warn_constant_labels(indicator, labels, task_name):
    n_present = indicator.sum(axis=0)
    for label, n in zip(labels.tolist(), n_present):
        if len(indicator) and n in (0, len(indicator)):
            state = "no" if n == 0 else "every"
            warnings.warn(
                f"Label {label!r} of task {task_name!r} is in {state} labelled "
                "sample: it is learned as a constant.",
                UserWarning,
            )


def head_sizes(classes, multilabel):
    """Number of classes of each kernel head, in task order.

    A multiclass task is one head over its classes; a multi-label task one
    two-class head (absent, present) per label.

    Parameters
    ----------
    classes : list of ndarray
        Classes (labels) of each task.
    multilabel : list of bool
        Whether each task is multi-label.

    Returns
    -------
    sizes : list of int
        Of length ``n_heads``.
    """
    sizes = []
    for task_classes, is_multilabel in zip(classes, multilabel):
        sizes += [2] * len(task_classes) if is_multilabel else [len(task_classes)]
    return sizes


def head_tasks(classes, multilabel):
    """Index of the task of each kernel head: ndarray of shape (n_heads,)."""
    return np.repeat(
        np.arange(len(classes)),
        [len(c) if m else 1 for c, m in zip(classes, multilabel)],
    )


def compact_labels(classes):
    """Long string classes as an object array of Python strings.

    numpy stores strings with the width of the longest: ``predict`` would
    return an array of that width for every row (gigabytes for one very long
    label). Short labels keep their numpy string dtype; ints stay ints.
    """
    if classes.dtype.kind == "U" and classes.dtype.itemsize > 4 * LONG_LABEL:
        return classes.astype(object)
    return classes


def _warn_sentinel_classes(classes, task_name, missing_label):
    """Warn when a class looks like a missing-label sentinel that is not set."""
    if missing_label is not None:
        return
    if classes.dtype.kind in "OU":
        suspects = [c for c in classes.tolist() if c in SENTINEL_STRINGS]
    elif classes.dtype.kind in "iuf":
        # -1 next to non-negative classes, as in {-1, 0, 1}; {-1, 1} is a
        # usual binary labelling.
        suspects = [-1] if (classes[0] == -1 and len(classes) > 2
                            and classes[1] >= 0) else []
    else:
        suspects = []
    for value in suspects:
        warnings.warn(
            f"Task {task_name!r} has the class {value!r}, which looks like a "
            "marker of missing labels; it is learned as a class. Set "
            f"missing_label={value!r} if it marks missing labels.",
            UserWarning,
        )


def _check_classification_labels(values, task_name):
    target_type = type_of_target(values, input_name=f"Y[{task_name!r}]")
    if target_type in ("binary", "multiclass"):
        return
    if target_type == "unknown" and values.dtype.kind == "b":
        return
    raise ValueError(
        f"Unknown label type: {target_type} for task {task_name!r}. Labels must be "
        "classes (ints or strings), not continuous values."
    )


def encode_with_classes(values, classes, task_name):
    """Index of each label in ``classes``; an unknown label is an error.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Labels of one task (none missing).
    classes : ndarray of shape (n_classes,)
        Sorted known classes of the task.
    task_name : str
        For the error message.

    Returns
    -------
    codes : ndarray of shape (n,), dtype=intp
    """
    try:
        codes = np.searchsorted(classes, values)
        codes = np.minimum(codes, len(classes) - 1)
        known = classes[codes] == values
    except (TypeError, np.exceptions.DTypePromotionError) as exc:
        raise ValueError(
            f"Labels of task {task_name!r} do not have the type of its classes "
            f"{classes!r}."
        ) from exc
    if not np.all(known):
        unknown = np.unique(values[~known])
        raise ValueError(
            f"Task {task_name!r} has labels {unknown.tolist()!r} that are not in its "
            f"classes {classes.tolist()!r}."
        )
    return codes


def classes_per_task(classes, task_names, is_1d):
    """``partial_fit``'s ``classes`` as one sorted array per task.

    Parameters
    ----------
    classes : array-like, list of array-like or dict
        The classes of a single task, one entry per task, or a dict by task name.
    task_names : list of str
    is_1d : bool
        Whether Y is 1-D (a single task).

    Returns
    -------
    classes : list of ndarray
        Sorted unique labels of each task, at least two each.
    """
    if is_1d and not isinstance(classes, (dict, list)) or (
        is_1d and isinstance(classes, list) and not any(
            isinstance(c, (list, np.ndarray, tuple)) for c in classes
        )
    ):
        classes = [classes]
    if isinstance(classes, dict):
        missing = [n for n in task_names if n not in classes]
        if missing:
            raise ValueError(
                f"classes has no entry for tasks {missing}; give the classes of "
                "every task on the first call to partial_fit."
            )
        classes = [classes[n] for n in task_names]
    if len(classes) != len(task_names):
        raise ValueError(
            f"classes has {len(classes)} entries but Y has {len(task_names)} tasks."
        )
    out = []
    for name, labels in zip(task_names, classes):
        labels = compact_labels(np.unique(np.asarray(labels)))
        if len(labels) < 1:
            raise ValueError(f"classes of task {name!r} has no label.")
        out.append(labels)
    return out
