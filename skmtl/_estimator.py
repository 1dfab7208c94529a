"""The multi-task estimator: validation, task encoding, the epoch loop, prediction."""

import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import cpu_count
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import row_norms, softmax
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import __version__, _sgd_fast
from ._repr import DocLinkMixin
from ._tasks import MISSING, as_task_columns, encode_targets
from .exceptions import InconsistentVersionWarning
from .metrics import mean_task_score

# Standard deviation of the initial shared layer, times 1 / sqrt(n_components).
# Small, so that the random part of W that training never corrects (rare
# features) adds little noise. Measured while choosing defaults (20 Newsgroups,
# reference TF-IDF, alpha=1e-6): 82.5 % on the 20-way task with 1.0, 84.2 %
# with 0.1.
_INIT_SCALE = 0.1
# The initial shared layer is drawn in blocks of this many rows, each from its
# own random stream: threads can draw blocks at once, and the draws depend on
# the shape only, not on n_jobs.
_INIT_BLOCK_ROWS = 1 << 16

# Rows per chunk in prediction: the temporaries of a chunk (its shared
# representation and logits, (k + n_classes_total) values a row) stay a few MB,
# while the per-chunk overhead stays small next to the chunk's work.
_PREDICT_CHUNK_ROWS = 4096

# A mean training loss per unit of sample and class weight above this means
# the fit has diverged: it takes logits of this size on the wrong class, and a
# trained model's are a few units. The parameters can still be finite (in
# float64 they reached 1e20 on raw hashed counts, with every predicted
# probability 0 or 1), so finiteness alone does not catch it.
_DIVERGED_LOSS = 1e6


def _has_log_loss(estimator):
    return estimator.loss == "log_loss"


class MultiTaskTextClassifier(
    DocLinkMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClassifierMixin,
    BaseEstimator,
):
    """Multi-task classifier with a shared layer over sparse text features.

    Several classification tasks over the same documents are learned at once: a
    shared layer maps each sparse row ``x`` (TF-IDF, counts, hashing) to a dense
    representation ``h = phi(W^T x + b)`` of width ``n_components``, and each task
    ``t`` has its own softmax head ``z_t = V_t h + c_t`` (plus, optionally, a
    task-private linear part ``U_t^T x``). The model minimises

        sum_t  lambda_t * mean over samples labelled for t of
               sample_weight * class_weight_t(y) * loss(z_t(x), y)  + penalties

    by SGD, in a Cython kernel that visits each row once per epoch and evaluates
    only the heads of the tasks labelled on that row, so labels may be missing.
    The task weights ``lambda_t`` are normalised to sum to one.

    With a 1-D ``y`` the estimator is an ordinary (single-task) classifier; with a
    2-D ``Y`` (array-like or DataFrame, one column per task) it fits all tasks.

    Parameters
    ----------
    n_components : int, default=32
        Width ``k`` of the shared layer. Values must be in the range ``[0, inf)``;
        0 (only with ``private=True``) gives independent linear models per task.
    activation : {'identity', 'relu', 'tanh'}, default='identity'
        Non-linearity ``phi`` of the shared layer.
    private : bool, default=False
        Whether each task also has a private linear part ``U_t^T x`` on the input
        features (learned with L2 strength ``alpha_private``).
    alpha_private : float, default=1e-5
        L2 penalty on the task-private part. Values must be in ``[0, inf)``.
    loss : {'log_loss', 'hinge'}, default='log_loss'
        Loss of each head: softmax cross-entropy (gives ``predict_proba``) or the
        multiclass hinge loss of Crammer and Singer.
    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        Penalty on the shared layer ``W``. L1 uses the cumulative penalty of
        Tsuruoka et al. (2009), so a sparse row stays cheap. The heads always get
        an L2 penalty of strength ``alpha`` unless ``penalty=None``.
    alpha : float, default=1e-4
        Strength of the penalties. Values must be in ``[0, inf)``.
    l1_ratio : float, default=0.15
        Share of L1 in the elastic-net penalty (1 for 'l1', 0 for 'l2').
    task_weights : array-like of shape (n_tasks,), dict or None, default=None
        Weights ``lambda_t`` of the tasks' losses, by position or by task name (a
        dict may omit tasks: they get 1). None gives equal weights. Weights must be
        non-negative, finite and not all zero; they are normalised to sum to one.
    class_weight : dict, list, 'balanced' or None, default=None
        Class weights. For a single task (1-D ``y``): ``{label: weight}`` or
        'balanced', as in scikit-learn. For several tasks: 'balanced' (every task),
        a dict ``{task_name: {label: weight} or 'balanced'}`` (tasks left out are
        unweighted) or a list with one such entry (or None) per task. 'balanced'
        uses the labelled samples of each task (with ``partial_fit``, those of all
        batches so far). Weights must be finite and
        non-negative.
    learning_rate : {'linear', 'constant'}, default='linear'
        Step size schedule of ``fit``: 'linear' decays from ``eta0`` to 0 over the
        ``max_iter`` epochs (as fastText), 'constant' keeps ``eta0``.
        ``partial_fit`` has no horizon and always uses the constant ``eta0``.
    eta0 : float, default=0.5
        Initial step size. Values must be in the range ``(0, inf)``. It is
        divided by the largest ``w_i * ||x_i||^2`` over the training rows when that
        exceeds 1, where ``w_i`` sums the loss multipliers of row i's labelled
        tasks (normalised task weight times ``n_samples / n_labelled_t``, class
        and sample weights): unnormalised features or large weights then do not
        make SGD diverge. TF-IDF rows (norm 1) see ``eta0`` itself when every
        task is labelled on about as many rows and weights are default; a task
        labelled on few rows is up-weighted and slows every step down. If
        training still diverges (after an epoch, the loss or a parameter is no
        longer finite, or a task's mean loss exceeds 1e6 per unit of the largest
        row weight), ``fit`` and ``partial_fit`` raise a ``ValueError`` naming
        ``eta0`` and discard the fitted state: the estimator is then unfitted,
        never left with NaN or exploded parameters.
    max_iter : int, default=10
        Number of epochs (passes over the data) of ``fit``. Values must be in
        ``[1, inf)``.
    tol : float or None, default=None
        Stopping tolerance: training stops when the training loss (or, with
        ``early_stopping``, the validation score) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. None runs all ``max_iter`` epochs.
    n_iter_no_change : int, default=5
        Number of epochs without improvement before stopping.
    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training rows and stop
        on the mean validation accuracy over tasks (needs ``tol``; None is taken
        as 0 here).
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping. Values must be in ``(0, 1)``.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial shared layer, the shuffling and the validation split.
        Fitting is deterministic for a fixed value when ``n_jobs`` is 1.
    n_jobs : int or None, default=None
        Number of threads of the SGD kernel; None means 1, -1 all CPUs (-2 all
        but one, and so on, as in joblib). With more than one thread each takes
        its own rows of the epoch and updates the shared parameters without
        locks (Hogwild, as fastText does): training is faster, its accuracy the
        same up to SGD's noise, but the result depends on the threads' timing
        and is not reproducible even with a fixed ``random_state``.
        The initial shared layer is also drawn on these threads, with the same
        values for any ``n_jobs``. Prediction does not use these threads.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current parameters (the tasks, classes
        and number of features must not change).
    verbose : int, default=0
        Print the per-task training loss after each epoch when positive.
    missing_label : int, float, str or None, default=None
        A label value that marks a missing label, in addition to ``None``, ``NaN``
        and ``pd.NA`` which always do. Use a sentinel (-1 for integer labels, ''
        for strings) with scikit-learn's model selection: ``GridSearchCV(cv=5)``
        calls ``type_of_target(Y)``, which rejects ``NaN``/``None`` in ``Y``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Classes of the task (1-D ``y``), or a list with the classes of each task.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Name of each task: the DataFrame's columns, else ``task_0, task_1, ...``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, if ``X`` had string column names.
    shared_coef_ : ndarray of shape (`n_features_in_`, n_components)
        Shared layer ``W``, in the dtype of ``X`` (float32 or float64). Later
        ``partial_fit`` batches and prediction inputs are cast to this dtype.
    shared_intercept_ : ndarray of shape (n_components,)
        Shared layer bias ``b``.
    head_coef_ : ndarray of shape (n_classes_total, n_components)
        Heads ``V_t`` stacked over tasks: task ``t`` owns rows
        ``class_offsets_[t]:class_offsets_[t + 1]``.
    head_intercept_ : ndarray of shape (n_classes_total,)
        Head biases ``c_t``, stacked like ``head_coef_``.
    private_coef_ : ndarray of shape (`n_features_in_`, n_classes_total) or None
        Task-private linear parts ``U_t`` (columns stacked like ``head_coef_``),
        None when ``private=False``.
    class_offsets_ : ndarray of shape (`n_tasks_` + 1,)
        Where each task's classes start in the stacked head arrays.
    n_iter_ : int
        Number of epochs run by the last ``fit`` (1 per ``partial_fit``).
    t_ : int
        Number of SGD steps taken since the parameters were initialised.
    loss_curve_ : ndarray of shape (n_epochs, `n_tasks_`)
        Mean training loss of each task over each epoch (weighted by sample and
        class weights, not by task weights), for all epochs since the
        parameters were initialised, ``partial_fit`` calls included.
    validation_scores_ : ndarray of shape (`n_iter_`,) or None
        Mean validation accuracy over tasks after each epoch, with
        ``early_stopping``; else None.

    See Also
    --------
    sklearn.linear_model.SGDClassifier : Single-task linear model trained by SGD.
    sklearn.multioutput.MultiOutputClassifier : Independent model per task; no
        missing labels.

    References
    ----------
    R. Caruana, "Multitask learning", Machine Learning 28, 1997.

    Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic gradient descent training
    for L1-regularized log-linear models with cumulative penalty", ACL 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskTextClassifier
    >>> texts = ["great phone", "awful phone", "great film", "awful film"] * 10
    >>> Y = np.array([["pos", "tech"], ["neg", None], [None, "film"],
    ...               ["neg", "film"]] * 10, dtype=object)
    >>> model = make_pipeline(TfidfVectorizer(),
    ...                       MultiTaskTextClassifier(random_state=0))
    >>> model.fit(texts, Y).predict(["great film"])
    array([['pos', 'film']], dtype='<U4')
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "activation": [StrOptions(set(_sgd_fast.ACTIVATIONS))],
        "private": ["boolean"],
        "alpha_private": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions(set(_sgd_fast.LOSSES))],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "task_weights": ["array-like", dict, None],
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
        "learning_rate": [StrOptions(set(_sgd_fast.LEARNING_RATES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "missing_label": [Real, str, None],
    }

    def __init__(
        self,
        n_components=32,
        *,
        activation="identity",
        private=False,
        alpha_private=1e-5,
        loss="log_loss",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        task_weights=None,
        class_weight=None,
        learning_rate="linear",
        eta0=0.5,
        max_iter=10,
        tol=None,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        n_jobs=None,
        warm_start=False,
        verbose=0,
        missing_label=None,
    ):
        self.n_components = n_components
        self.activation = activation
        self.private = private
        self.alpha_private = alpha_private
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.task_weights = task_weights
        self.class_weight = class_weight
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.warm_start = warm_start
        self.verbose = verbose
        self.missing_label = missing_label

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = False
        # transform() gives the shared representation, in the parameters' dtype.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __getstate__(self):
        # A copy: for a class outside sklearn, BaseEstimator.__getstate__ returns
        # the instance's own __dict__, so pickling used to add _skmtl_version to
        # the live model.
        state = dict(super().__getstate__())
        state["_skmtl_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skmtl_version", "unknown (before 0.1)")
        if saved != __version__:
            warnings.warn(
                f"Loading a {type(self).__name__} saved with skmtl {saved} into "
                f"skmtl {__version__}: its fitted state may not be valid here. "
                "Refit the model with this version, or use the version it was "
                "saved with.",
                InconsistentVersionWarning,
            )
        super().__setstate__(state)

    @property
    def _n_features_out(self):
        # Names of transform's outputs: multitasktextclassifier0, 1, ...
        return self.shared_coef_.shape[1]

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit all tasks on X and their labels Y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, e.g. TF-IDF features. Sparse input is used as CSR and
            never densified; float32 input trains in float32. With
            ``warm_start``, X is cast to the dtype of the existing parameters.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Labels: one column per task (a 1-D ``y`` is a single task). Labels of
            a task are ints or strings; ``None``, ``NaN``, ``pd.NA`` and
            ``missing_label`` mark missing labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample, in every task's loss.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        reset = not (self.warm_start and hasattr(self, "shared_coef_"))
        return self._fit(X, y, sample_weight, reset=reset, partial=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of SGD over a batch, with the constant step ``eta0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Batch of training data. After the first call it is cast to the dtype
            of the parameters (that of the first batch: float32 or float64).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Labels of the batch, as in ``fit``. A batch may lack labels for some
            tasks (they are not updated). Each task's loss is scaled by
            ``n / n_t``, and 'balanced' class weights computed, from the counts
            of all batches so far (``fit`` counts its data), so batches with
            the same label proportions give the same steps as
            ``fit(max_iter=1, learning_rate='constant', shuffle=False)`` on the
            batches concatenated.
        classes : array-like, list of array-like or dict, default=None
            Classes of every task, required on the first call and ignored after:
            an array of labels for a single task, else a list with one array per
            task or a dict ``{task_name: labels}`` covering all tasks.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        first_call = not hasattr(self, "shared_coef_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(
            X, y, sample_weight, reset=first_call, partial=True, classes=classes
        )

    def _fit(self, X, Y, sample_weight, *, reset, partial, classes=None):
        """Shared body of fit (``partial=False``) and partial_fit (one epoch)."""
        self._validate_params_together()
        if Y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        max_iter = 1 if partial else self.max_iter
        X = _validate_X(self, X, reset=reset)
        X = sp.csr_matrix(X) if not sp.issparse(X) else X
        if not reset:
            # Training continues in the dtype the parameters were created in.
            X = X.astype(self.shared_coef_.dtype, copy=False)
        Y_encoded, task_classes = self._encode_fit_targets(Y, reset, partial, classes)
        if Y_encoded.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and Y have inconsistent numbers of samples: {X.shape[0]} and "
                f"{Y_encoded.shape[0]}."
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        rng = check_random_state(self.random_state)
        n_threads = self._n_threads()
        if reset:
            self._init_parameters(task_classes, X.shape[1], X.dtype, rng, n_threads)
        else:
            self._check_warm_state(task_classes, X)
            if self.shared_coef_.ctypes.data % 64:
                # Unpickled or set by hand: numpy aligns to 16 bytes only, and
                # an epoch took a third longer on such rows (FDU-MTL).
                W = _sgd_fast.aligned_zeros(self.shared_coef_.shape,
                                            self.shared_coef_.dtype)
                W[...] = self.shared_coef_
                self.shared_coef_ = W
        train_rows, val_rows = self._split_rows(Y_encoded, rng, partial)
        # Most often every row trains: then no copy of the labels is needed.
        Y_train = (Y_encoded if len(train_rows) == len(Y_encoded)
                   else Y_encoded[train_rows])
        class_counts = _class_counts(Y_train, self.class_offsets_)
        del Y_train
        if partial and not reset:
            # A stream's batches can label a task or a class rarely (or not at
            # all): the counts behind the task scales and 'balanced' class
            # weights accumulate over the calls, so that one sparse batch does
            # not up-weight its few labels (and, through the eta0 rule, shrink
            # every task's step).
            self._n_rows_seen += len(train_rows)
            self._class_counts_seen += class_counts
        else:
            self._n_rows_seen, self._class_counts_seen = len(train_rows), class_counts
        starts = self.class_offsets_[:-1]
        task_scale = self._task_scale(
            self._n_rows_seen, np.add.reduceat(self._class_counts_seen, starts)
        )
        class_weight = self._class_weight_vector(self._class_counts_seen)
        n_labelled = np.add.reduceat(class_counts, starts)

        data, indices, indptr = _csr_arrays(X)
        eta0 = self.eta0 / max(
            1.0,
            _largest_step_scale(
                X, Y_encoded, task_scale, class_weight, self.class_offsets_,
                sample_weight, train_rows,
            ),
        )
        W, V = self.shared_coef_, self.head_coef_
        U = self.private_coef_ if self.private else np.zeros((1, 1), dtype=W.dtype)
        alpha_l1 = {"l1": 1.0, "elasticnet": self.l1_ratio}.get(self.penalty, 0.0)
        alpha = 0.0 if self.penalty is None else self.alpha
        schedule = "constant" if partial else self.learning_rate
        t_total = float(self.t_ + max_iter * len(train_rows))

        self.n_iter_ = 0
        validation_scores = []
        best, n_bad_epochs = -np.inf, 0
        curves = [self.loss_curve_] if len(self.loss_curve_) else []
        X_val, Y_val = X[val_rows], Y_encoded[val_rows]
        # Bounds every row's loss weight, for the divergence check.
        max_weight = float(sample_weight.max(initial=0) * class_weight.max(initial=0))
        for epoch in range(max_iter):
            tic = time.perf_counter()
            order = rng.permutation(train_rows) if self.shuffle else train_rows
            task_loss = np.zeros(self.n_tasks_)
            t_end, finite = _sgd_fast.sgd_epoch(
                data, indices, indptr, Y_encoded, self.class_offsets_,
                task_scale, class_weight, sample_weight,
                order.astype(np.int32, copy=False),
                W, self.shared_intercept_, V, self.head_intercept_, U, task_loss,
                _sgd_fast.LOSSES[self.loss],
                _sgd_fast.ACTIVATIONS[self.activation],
                _sgd_fast.LEARNING_RATES[schedule],
                self.private, eta0, float(self.t_), t_total,
                alpha * (1.0 - alpha_l1), alpha * alpha_l1, alpha,
                float(self.alpha_private) if self.private else 0.0,
                n_threads,
            )
            self.t_ = int(t_end)
            self.n_iter_ += 1
            epoch_loss = task_loss / np.maximum(n_labelled, 1)
            self._check_diverged(epoch_loss, finite, max_weight, epoch)
            curves.append(epoch_loss[None, :])
            if self.early_stopping and not partial:
                score = self._validation_score(X_val, Y_val)
                validation_scores.append(score)
                improved = score > best + (self.tol or 0.0)
                best = max(best, score)
            else:
                objective = float(np.dot(self._task_lambdas(), epoch_loss))
                improved = self.tol is None or objective < -best - self.tol
                best = max(best, -objective)
            if self.verbose:
                self._print_epoch(epoch, epoch_loss, validation_scores, tic)
            n_bad_epochs = 0 if improved else n_bad_epochs + 1
            stop_rule = self.early_stopping or self.tol is not None
            if stop_rule and n_bad_epochs >= self.n_iter_no_change:
                break
        else:
            if (
                not partial
                and self.tol is not None
                and self.learning_rate == "constant"
                and max_iter > 1
            ):
                warnings.warn(
                    f"Maximum number of epochs ({max_iter}) reached before the "
                    "stopping criterion; consider increasing max_iter.",
                    ConvergenceWarning,
                )
        self.loss_curve_ = np.concatenate(curves, axis=0)
        self.validation_scores_ = (
            np.asarray(validation_scores) if self.early_stopping and not partial
            else None
        )
        return self

    def _n_threads(self):
        """Threads of the kernel from ``n_jobs``, with joblib's convention."""
        if self.n_jobs is None:
            return 1
        if self.n_jobs == 0:
            raise ValueError(
                "n_jobs == 0 has no meaning; use None or 1 for one thread, -1 for "
                "all CPUs."
            )
        if self.n_jobs < 0:
            return max(1, cpu_count() + 1 + self.n_jobs)
        return self.n_jobs

    def _validate_params_together(self):
        if self.n_components == 0 and not self.private:
            raise ValueError(
                "n_components=0 leaves no parameter to learn; set private=True for "
                "independent linear models per task, or n_components >= 1."
            )

    def _encode_fit_targets(self, Y, reset, partial, classes):
        """Encode Y for fit/partial_fit; check it against the fitted tasks.

        ``partial_fit`` encodes against the known classes (its first call's
        ``classes``, or those of an earlier ``fit``), so a batch may lack a
        task or a class; a warm-started ``fit`` encodes afresh and must find the
        same classes again.
        """
        if reset:
            known = None
            if classes is not None:
                columns, names, is_1d = as_task_columns(Y)
                names = names or [f"task_{t}" for t in range(len(columns))]
                known = _classes_per_task(classes, names, is_1d)
            Y_encoded, task_classes, names, is_1d = encode_targets(
                Y, self.missing_label, classes=known
            )
            self.task_names_ = names
            self.n_tasks_ = len(names)
            self._is_1d = is_1d
            self.classes_ = task_classes[0] if is_1d else task_classes
            return Y_encoded, task_classes
        columns, names, _ = as_task_columns(Y)
        self._check_task_names(names, len(columns))
        fitted_classes = [self.classes_] if self._is_1d else self.classes_
        Y_encoded, task_classes, _, _ = encode_targets(
            Y, self.missing_label, task_names=self.task_names_,
            classes=fitted_classes if partial else None,
        )
        return Y_encoded, task_classes

    def _check_task_names(self, names, n_tasks):
        if n_tasks != self.n_tasks_:
            raise ValueError(
                f"Y has {n_tasks} task(s) but {type(self).__name__} was fitted on "
                f"{self.n_tasks_} task(s) {self.task_names_}."
            )
        if names is not None and list(names) != list(self.task_names_):
            if self.task_names_ != [f"task_{t}" for t in range(self.n_tasks_)]:
                raise ValueError(
                    f"Y's task names {list(names)} differ from the fitted task names "
                    f"{self.task_names_}."
                )

    def _init_parameters(self, task_classes, n_features, dtype, rng, n_threads):
        k = self.n_components
        n_classes = [len(c) for c in task_classes]
        self.class_offsets_ = np.concatenate([[0], np.cumsum(n_classes)]).astype(
            np.int32
        )
        n_total = int(self.class_offsets_[-1])
        # Rows aligned to cache lines: the kernel is bound by loading them.
        self.shared_coef_ = _sgd_fast.aligned_zeros((n_features, k), dtype)
        _standard_normal(
            self.shared_coef_, rng.randint(np.iinfo(np.int32).max), n_threads
        )
        self.shared_coef_ *= _INIT_SCALE / np.sqrt(max(k, 1))
        self.head_coef_ = np.zeros((n_total, k), dtype=dtype)
        self.shared_intercept_ = np.zeros(k, dtype=dtype)
        self.head_intercept_ = np.zeros(n_total, dtype=dtype)
        self.private_coef_ = (
            np.zeros((n_features, n_total), dtype=dtype) if self.private else None
        )
        self.t_ = 0
        self.loss_curve_ = np.zeros((0, len(task_classes)))

    def _check_warm_state(self, task_classes, X):
        fitted = [self.classes_] if self._is_1d else self.classes_
        same = len(fitted) == len(task_classes) and all(
            len(a) == len(b) and np.array_equal(a, b)
            for a, b in zip(fitted, task_classes)
        )
        if not same:
            raise ValueError(
                "warm_start=True needs the classes of every task to stay the same; "
                f"fitted {fitted}, got {task_classes}. Set warm_start=False to refit."
            )
        if (self.private_coef_ is not None) != bool(self.private) or (
            self.shared_coef_.shape[1] != self.n_components
        ):
            raise ValueError(
                "n_components and private cannot change when continuing training "
                "(warm_start or partial_fit); refit from scratch."
            )

    def _split_rows(self, Y_encoded, rng, partial):
        """Rows to train on (at least one label) and rows held out for validation."""
        rows = np.flatnonzero((Y_encoded != MISSING).any(axis=1)).astype(np.int32)
        if not self.early_stopping or partial:
            return rows, rows[:0]
        n_val = int(np.ceil(self.validation_fraction * len(rows)))
        if n_val < 1 or n_val >= len(rows):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training "
                f"or no validation row out of {len(rows)} labelled rows."
            )
        rows = rng.permutation(rows)
        return np.sort(rows[n_val:]), np.sort(rows[:n_val])

    def _task_lambdas(self):
        """Task weights normalised to sum to one."""
        weights = self.task_weights
        if weights is None:
            lambdas = np.ones(self.n_tasks_)
        elif isinstance(weights, dict):
            unknown = set(weights) - set(self.task_names_)
            if unknown:
                raise ValueError(
                    f"task_weights names unknown tasks {sorted(map(str, unknown))}; "
                    f"the tasks are {self.task_names_}."
                )
            lambdas = [weights.get(n, 1.0) for n in self.task_names_]
        else:
            lambdas = weights
        try:
            lambdas = np.asarray(lambdas, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            # numpy's "could not convert string to float" names no parameter.
            raise ValueError(f"task_weights must be numbers; got {weights!r}.") from exc
        if lambdas.shape[0] != self.n_tasks_:
            raise ValueError(
                f"task_weights has {lambdas.shape[0]} entries but there are "
                f"{self.n_tasks_} tasks {self.task_names_}."
            )
        if not np.all(np.isfinite(lambdas)) or np.any(lambdas < 0):
            raise ValueError(
                f"task_weights must be finite and non-negative; got {lambdas}."
            )
        if lambdas.sum() == 0:
            raise ValueError("task_weights are all zero: no task would be learned.")
        return lambdas / lambdas.sum()

    def _task_scale(self, n_rows, n_labelled):
        """Per-sample multiplier of each task's loss: lambda_t * n / n_t.

        SGD visits each row with probability 1/n, so scaling task t's loss by
        n / n_t makes each step an unbiased estimate of lambda_t times the mean
        loss over the n_t rows labelled for t, as the objective says.
        ``partial_fit`` passes the counts of all its batches so far.
        """
        scale = self._task_lambdas() * n_rows / np.maximum(n_labelled, 1)
        return np.ascontiguousarray(scale, dtype=np.float64)

    def _class_weight_vector(self, class_counts):
        """Class weights of all tasks, stacked like the heads.

        ``class_counts`` (stacked like the heads too) gives the frequencies
        behind 'balanced'.
        """
        specs = self._class_weight_per_task()
        weights = []
        task_classes = [self.classes_] if self._is_1d else self.classes_
        for t, (name, classes, spec) in enumerate(
            zip(self.task_names_, task_classes, specs)
        ):
            if spec is None:
                weights.append(np.ones(len(classes)))
                continue
            # A task's entry is only checked here (the parameter constraints see
            # the outer dict or list): any other string used to act as
            # 'balanced', and a number failed with "not iterable".
            if not (isinstance(spec, dict) or isinstance(spec, str)
                    and spec == "balanced"):
                raise ValueError(
                    f"class_weight of task {name!r} is {spec!r}; use a "
                    "{label: weight} dict, 'balanced' or None."
                )
            if isinstance(spec, str):  # 'balanced' over the labelled rows
                offset = self.class_offsets_[t]
                counts = class_counts[offset:offset + len(classes)]
                present = counts > 0
                w = np.ones(len(classes))
                w[present] = counts.sum() / (present.sum() * counts[present])
                weights.append(w)
                continue
            unknown = [c for c in spec if not np.isin(c, classes).any()]
            if unknown:
                raise ValueError(
                    f"class_weight of task {name!r} names labels {unknown} that are "
                    f"not among its classes {classes.tolist()}."
                )
            w = compute_class_weight(spec, classes=classes, y=classes)
            # A NaN weight used to surface as "training diverged ... eta0", and a
            # negative one made SGD climb the loss.
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(
                    f"class_weight of task {name!r} must be finite and "
                    f"non-negative; got {spec}."
                )
            weights.append(w)
        return np.ascontiguousarray(np.concatenate(weights), dtype=np.float64)

    def _class_weight_per_task(self):
        cw = self.class_weight
        if cw is None or isinstance(cw, str):
            return [cw] * self.n_tasks_
        if isinstance(cw, list):
            if len(cw) != self.n_tasks_:
                raise ValueError(
                    f"class_weight has {len(cw)} entries but there are "
                    f"{self.n_tasks_} tasks {self.task_names_}."
                )
            return cw
        if self._is_1d:
            return [cw]
        unknown = set(cw) - set(self.task_names_)
        if unknown:
            raise ValueError(
                f"class_weight names unknown tasks {sorted(map(str, unknown))}; the "
                f"tasks are {self.task_names_}. With several tasks, class_weight is "
                "a dict by task name of {label: weight} dicts or 'balanced'."
            )
        return [cw.get(name) for name in self.task_names_]

    def _check_diverged(self, epoch_loss, params_finite, max_weight, epoch):
        """Raise, leaving the estimator unfitted, if training has diverged.

        It has when the loss or the parameters are no longer finite (the kernel
        reports the latter as ``params_finite``), or when a task's mean loss
        exceeds ``_DIVERGED_LOSS`` per unit of the largest row weight
        ``max_weight``.
        """
        finite = params_finite and np.isfinite(epoch_loss).all()
        if not finite or epoch_loss.max(initial=0) > _DIVERGED_LOSS * max_weight:
            # The parameters were updated in place and are now NaN, inf or huge: drop
            # every fitted attribute so that the estimator is unfitted (predict
            # raises NotFittedError) rather than a fitted model full of NaN.
            for name in [v for v in vars(self) if v.endswith("_")]:
                if not name.startswith("__"):
                    delattr(self, name)
            raise ValueError(
                f"Training diverged at epoch {epoch + 1}: the loss or the parameters "
                f"are no longer finite, or the loss exceeds {_DIVERGED_LOSS:g} per "
                f"unit of weight (eta0={self.eta0}). Lower eta0, use a "
                "smaller class or sample weight, or scale the features (e.g. "
                "TfidfVectorizer's L2-normalised rows). The estimator's fitted "
                "state was discarded: it is unfitted now."
            )

    def _validation_score(self, X_val, Y_val):
        scores = []
        best = self._map_logits(X_val, lambda Z: Z.argmax(axis=1))
        for t, predicted in enumerate(best):
            labelled = Y_val[:, t] != MISSING
            if labelled.any():
                scores.append(np.mean(predicted[labelled] == Y_val[labelled, t]))
        return float(np.mean(scores))

    def _print_epoch(self, epoch, epoch_loss, validation_scores, tic):
        losses = ", ".join(
            f"{name}: {loss:.4f}" for name, loss in zip(self.task_names_, epoch_loss)
        )
        line = f"-- Epoch {epoch + 1}: loss {losses}"
        if validation_scores:
            line += f"; validation score {validation_scores[-1]:.4f}"
        print(f"{line}; {time.perf_counter() - tic:.2f} s", flush=True)

    # --------------------------------------------------------------- prediction

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        X = _validate_X(self, X, reset=False)
        # Predict in the parameters' dtype, as transform documents: float64 X on
        # a float32 model would otherwise upcast W (a copy of the whole shared
        # layer on every call) and return float64.
        return X.astype(self.shared_coef_.dtype, copy=False)

    def _hidden(self, X):
        H = X @ self.shared_coef_
        H = np.asarray(H) + self.shared_intercept_
        if self.activation == "relu":
            np.maximum(H, 0, out=H)
        elif self.activation == "tanh":
            np.tanh(H, out=H)
        return H

    def _decision_per_task(self, X):
        """Logits of every task: list of (n_samples, n_classes_t) arrays."""
        # All heads in one product (a slice of U per task would be copied).
        Z = self._hidden(X) @ self.head_coef_.T + self.head_intercept_
        if self.private_coef_ is not None:
            Z += np.asarray(X @ self.private_coef_)
        offsets = self.class_offsets_
        return [Z[:, offsets[t]:offsets[t + 1]] for t in range(self.n_tasks_)]

    def _map_logits(self, X, func):
        """``func`` of each task's logits, computed over chunks of rows.

        Returns one array per task, stacking ``func(Z_t)`` over the chunks.
        Working in chunks of ``_PREDICT_CHUNK_ROWS`` rows bounds what prediction
        allocates besides its output (the shared representation and the logits
        of one chunk), however many rows X has.
        """
        n_samples = X.shape[0]
        out = None
        for rows in gen_batches(n_samples, _PREDICT_CHUNK_ROWS):
            results = [func(Z) for Z in self._decision_per_task(X[rows])]
            if out is None:
                out = [np.empty((n_samples,) + r.shape[1:], dtype=r.dtype)
                       for r in results]
            for full, part in zip(out, results):
                full[rows] = part
        return out

    def transform(self, X):
        """Shared representation ``h = phi(W^T x + b)`` of each sample.

        Use it to transfer what the tasks learned to a new task with any
        scikit-learn estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Shared representation, in the dtype of the fitted parameters.
        """
        return self._hidden(self._validate_X_predict(X))

    def decision_function(self, X):
        """Logits of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray or list of ndarray
            Per task, an array of shape (n_samples, n_classes_t), or of shape
            (n_samples,) for a binary task (the logit of the second class minus
            that of the first, as scikit-learn's binary classifiers). A list over
            tasks, or the single array when the model was fitted on a 1-D ``y``.
        """
        X = self._validate_X_predict(X)
        out = self._map_logits(
            X, lambda Z: Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z
        )
        return out[0] if self._is_1d else out

    def predict(self, X):
        """Predict the label of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        Y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Predicted labels, in the dtype of each task's classes (object when
            the tasks' label types differ); 1-D when fitted on a 1-D ``y``.
        """
        X = self._validate_X_predict(X)
        classes = [self.classes_] if self._is_1d else self.classes_
        best = self._map_logits(X, lambda Z: Z.argmax(axis=1))
        columns = [cl[b] for cl, b in zip(classes, best)]
        if self._is_1d:
            return columns[0]
        Y = np.empty((X.shape[0], self.n_tasks_), dtype=_common_dtype(classes))
        for t, column in enumerate(columns):
            Y[:, t] = column
        return Y

    @available_if(_has_log_loss)
    def predict_proba(self, X):
        """Class probabilities of every task (log loss only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            Per task, the probability of each class in the order of its
            ``classes_``; a list over tasks unless fitted on a 1-D ``y``.
        """
        X = self._validate_X_predict(X)
        out = self._map_logits(X, lambda Z: softmax(Z, copy=False))
        return out[0] if self._is_1d else out

    @available_if(_has_log_loss)
    def predict_log_proba(self, X):
        """Log of the class probabilities of every task (log loss only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            As ``predict_proba``, in log space (computed stably from the logits).
        """
        X = self._validate_X_predict(X)
        out = self._map_logits(X, _log_softmax)
        return out[0] if self._is_1d else out

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the accuracy on the labelled entries of Y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            True labels, missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; they must be finite.

        Returns
        -------
        score : float
            Mean over tasks of each task's (weighted) accuracy on its labelled
            samples; the plain accuracy for a single task.
        """
        check_is_fitted(self)
        columns, names, _ = as_task_columns(y)
        self._check_task_names(names, len(columns))
        Y_pred = self.predict(X)
        # Checked here so that the message names X and Y as fit's does (the
        # metric's speaks of Y_true and Y_pred).
        if columns[0].shape[0] != Y_pred.shape[0]:
            raise ValueError(
                f"X and Y have inconsistent numbers of samples: {Y_pred.shape[0]} "
                f"and {columns[0].shape[0]}."
            )
        if sample_weight is not None:
            # The metric only reads the weights of labelled entries, so a NaN or
            # inf weight on an unlabelled row used to pass unnoticed.
            sample_weight = _check_sample_weight(sample_weight, Y_pred)
        return float(
            mean_task_score(
                y, Y_pred, missing_label=self.missing_label,
                sample_weight=sample_weight,
            )
        )


def _validate_X(estimator, X, reset):
    """``validate_data`` for X, with errors on an empty X that name X.

    scikit-learn's own message ("Found array with 0 sample(s)") does not say
    which argument was empty, so the minimum sizes are checked here instead, in
    scikit-learn's words (its estimator checks match them). A sparse X must
    also have valid CSR index arrays.
    """
    X = validate_data(
        estimator, X, accept_sparse="csr", dtype=[np.float64, np.float32],
        reset=reset, ensure_min_samples=0, ensure_min_features=0,
    )
    for axis, what in enumerate(("sample", "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"X has 0 {what}(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(estimator).__name__}."
            )
    if sp.issparse(X):
        # scipy builds a CSR matrix from (data, indices, indptr) without checking
        # the indices, and neither does validate_data: an index outside
        # [0, n_features) made the kernel write outside W (and X @ W read
        # outside it). Two passes over the indices, cheap next to an epoch.
        nnz = X.indptr[-1]
        indices = X.indices[:nnz]
        if (
            X.indptr[0] != 0 or np.any(np.diff(X.indptr) < 0)
            or nnz > len(X.indices) or nnz > len(X.data)
        ):
            raise ValueError(
                "X is a malformed CSR matrix: its indptr must start at 0, never "
                "decrease and end within its indices and data."
            )
        if nnz and (indices.min() < 0 or indices.max() >= X.shape[1]):
            raise ValueError(
                f"X is a malformed CSR matrix: column indices must be in [0, "
                f"{X.shape[1]}), got values from {indices.min()} to {indices.max()}."
            )
    return X


def _class_counts(Y, class_offsets):
    """Number of labelled rows of each class, stacked over tasks like the heads."""
    counts = np.zeros(class_offsets[-1])
    for t in range(Y.shape[1]):
        labels = Y[:, t][Y[:, t] != MISSING]
        lo, hi = class_offsets[t], class_offsets[t + 1]
        counts[lo:hi] = np.bincount(labels, minlength=hi - lo)
    return counts


def _log_softmax(Z):
    """Log of the softmax of each row of Z, computed stably from the logits."""
    Z = Z - Z.max(axis=1, keepdims=True)
    Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return Z


def _standard_normal(out, seed, n_threads):
    """Fill ``out`` with standard normal draws, in blocks of rows on threads.

    Parameters
    ----------
    out : ndarray of shape (n_rows, n_cols), C-contiguous, float32 or float64
        Filled in place.
    seed : int
        Seed of the draws: block b of ``_INIT_BLOCK_ROWS`` rows takes the b-th
        stream spawned from it, so the result depends on ``seed`` and the shape
        only.
    n_threads : int
        Threads that draw blocks at once (numpy releases the GIL while it
        draws).
    """
    n_blocks = max(1, -(-out.shape[0] // _INIT_BLOCK_ROWS))
    streams = np.random.SeedSequence(seed).spawn(n_blocks)

    def draw(block):
        rows = slice(block * _INIT_BLOCK_ROWS, (block + 1) * _INIT_BLOCK_ROWS)
        generator = np.random.default_rng(streams[block])
        generator.standard_normal(dtype=out.dtype, out=out[rows])

    if n_threads > 1 and n_blocks > 1:
        with ThreadPoolExecutor(min(n_threads, n_blocks)) as pool:
            list(pool.map(draw, range(n_blocks)))
    else:
        for block in range(n_blocks):
            draw(block)


def _largest_step_scale(X, Y, task_scale, class_weight, class_offsets,
                        sample_weight, rows):
    """Largest ``row weight * squared row norm`` over the training ``rows``.

    A step on row i scales with its loss multiplier (task, class and sample
    weights summed over its labelled tasks) times ``||x_i||^2``; dividing ``eta0``
    by the largest such product keeps every step as stable as a step of ``eta0``
    on a unit-norm, unit-weight row (a TF-IDF row with default weights).
    """
    if len(rows) == 0:
        return 0.0
    # Over all rows, then the training rows picked: one task's column at a
    # time, so that nothing of the size of Y is copied.
    row_weight = row_norms(X, squared=True)
    row_weight *= sample_weight
    task_weight = np.zeros(X.shape[0])
    for t in range(Y.shape[1]):
        labelled = Y[:, t] != MISSING
        codes = Y[labelled, t].astype(np.intp) + class_offsets[t]
        task_weight[labelled] += task_scale[t] * class_weight[codes]
    row_weight *= task_weight
    return float(np.max(row_weight[rows]))


def _csr_arrays(X):
    """CSR arrays for the kernel, indices and indptr of one integer type."""
    indices, indptr = X.indices, X.indptr
    if indices.dtype != indptr.dtype:
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    if indices.dtype not in (np.int32, np.int64):
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    return X.data, indices, indptr


def _common_dtype(classes):
    """One dtype for all tasks' labels, object when their kinds differ."""
    kinds = {c.dtype.kind for c in classes}
    if len(kinds) == 1:
        return np.result_type(*[c.dtype for c in classes])
    return object


def _classes_per_task(classes, task_names, is_1d):
    """``partial_fit``'s ``classes`` as one sorted array per task."""
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
        labels = np.unique(np.asarray(labels))
        if len(labels) < 2:
            raise ValueError(
                f"classes of task {name!r} has {len(labels)} label(s); a classifier "
                "needs at least 2."
            )
        out.append(labels)
    return out
