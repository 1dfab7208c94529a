"""Per-epoch progress of a fit, reported to a callback held in a context variable.

A context variable reaches the estimator wherever it sits (inside a Pipeline,
a meta-estimator, a thread started with the caller's context), so callers such
as the command line follow training without parsing printed text::

    with epoch_callback(lambda info: print(info.epoch, info.task_loss)):
        pipeline.fit(X, Y)
"""

import contextlib
import contextvars
from dataclasses import dataclass

import numpy as np

_CALLBACK = contextvars.ContextVar("skmtl_epoch_callback", default=None)


@dataclass(frozen=True)
class EpochInfo:
    """What one finished epoch of ``fit`` or ``partial_fit`` reports.

    Attributes
    ----------
    epoch : int
        Number of the epoch in this call, counting from 1.
    max_iter : int
        Number of epochs this call runs at most (1 for ``partial_fit``).
    task_names : list of str
        Name of each task.
    task_loss : ndarray of shape (n_tasks,)
        Mean training loss of each task over the epoch.
    validation_score : float or None
        Mean validation accuracy over tasks with early stopping, else None.
    seconds : float
        Duration of the epoch.
    """

    epoch: int
    max_iter: int
    task_names: list
    task_loss: np.ndarray
    validation_score: float | None
    seconds: float


@contextlib.contextmanager
def epoch_callback(fn):
    """Call ``fn(info)`` with an :class:`EpochInfo` after each epoch in the block.

    Parameters
    ----------
    fn : callable or None
        Called with one :class:`EpochInfo`; None reports nothing.
    """
    token = _CALLBACK.set(fn)
    try:
        yield
    finally:
        _CALLBACK.reset(token)


def report_epoch(info):
    """Pass ``info`` (an :class:`EpochInfo`) to the current callback, if any."""
    fn = _CALLBACK.get()
    if fn is not None:
        fn(info)
