"""The measurements of one epoch against one ``X @ W`` (``bench_epoch.py``),
also taken by ``bench_peers.py`` for its kernel-floor table."""

import copy
import time

import _common  # noqa: F401  (first: pins BLAS/OpenMP to one thread)

# isort: split
import numpy as np

from skmtl import MultiTaskTextClassifier, _sgd_fast

# The arguments of sgd_epoch that it updates in place.
UPDATED = ("W", "b", "V", "c", "U", "task_loss")


def capture_kernel_call(model, X, Y):
    """Run ``model.partial_fit(X, Y)`` and return the arguments of its kernel call.

    The arrays the kernel updates are copied before the call, so the returned
    arguments are those of the fitted model as the estimator passed them.
    """
    real, calls = _sgd_fast.sgd_epoch, []

    def spy(**kwargs):
        calls.append(fresh_args(kwargs))
        return real(**kwargs)

    _sgd_fast.sgd_epoch = spy
    try:
        model.partial_fit(X, Y)
    finally:
        _sgd_fast.sgd_epoch = real
    if len(calls) != 1:
        raise RuntimeError(f"partial_fit called sgd_epoch {len(calls)} times")
    return calls[0]


def fresh_args(kwargs):
    """The kernel's keyword arguments, the arrays it updates in place copied.

    The copy of the shared layer starts a cache line, as the estimator's does
    (``_training._initial_parameters``): a numpy copy starts 16 bytes into
    one, and every row of W would then span one line more than in the
    estimator's epochs (a replay on FDU-MTL a fifth to a third slower).
    """
    fresh = {name: a.copy() if name in UPDATED else a for name, a in kwargs.items()}
    W = kwargs["W"]
    fresh["W"] = _sgd_fast.aligned_zeros(W.shape, W.dtype)
    fresh["W"][...] = W
    return fresh


def time_interleaved(measurements, repeats):
    """Wall times of several measurements, run round-robin after a warm-up round.

    ``measurements`` maps a name to ``(func, setup)``; each run times
    ``func(setup())`` (setup not timed; ``setup`` may be None). Interleaving makes
    a change of the machine's load hit every measurement alike, which keeps their
    ratios meaningful on a shared machine.
    """
    times = {name: [] for name in measurements}
    for r in range(repeats + 1):
        for name, (func, setup) in measurements.items():
            arg = setup() if setup else None
            tic = time.perf_counter()
            func(arg)
            elapsed = time.perf_counter() - tic
            if r:  # the first round warms caches and page tables up
                times[name].append(elapsed)
    return {name: np.array(t) for name, t in times.items()}


def run_dtype(X, Y, dtype, repeats):
    X = X.astype(dtype)
    tic = time.perf_counter()
    clf = MultiTaskTextClassifier(random_state=0).fit(X, Y)
    fit_time = time.perf_counter() - tic

    checked = copy.deepcopy(clf)
    args = capture_kernel_call(checked, X, Y)
    replay = fresh_args(args)
    _sgd_fast.sgd_epoch(**replay)
    same = np.array_equal(replay["W"], checked.shared_coef_)
    del checked, replay

    # (a') is a diagnostic: the same epoch with Y as float64 and NaN for missing
    # labels, which the estimator checks without looking at object values.
    Y_float = Y.astype(np.float64)
    W = clf.shared_coef_
    times = time_interleaved(
        {
            "epoch": (
                lambda model: model.partial_fit(X, Y),
                lambda: copy.deepcopy(clf),
            ),
            "epoch_float": (
                lambda model: model.partial_fit(X, Y_float),
                lambda: copy.deepcopy(clf),
            ),
            "kernel": (lambda a: _sgd_fast.sgd_epoch(**a), lambda: fresh_args(args)),
            "product": (lambda _: X @ W, None),
        },
        repeats,
    )
    assert (X @ W).dtype == dtype
    order, schedule = args["sample_order"], args["schedule"]
    return {
        "dtype": np.dtype(dtype).name,
        "fit": fit_time,
        **times,
        "same": same,
        "steps": len(order),
        "schedule": {code: name for name, code in
                     _sgd_fast.LEARNING_RATES.items()}[schedule],
        "eta0": args["eta0"],
        "clf": clf,
    }
