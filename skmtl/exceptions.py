"""Warnings and errors that skmtl raises."""

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """A model saved by one version of skmtl is loaded by another.

    The fitted state of a :class:`~skmtl.MultiTaskTextClassifier` is plain numpy
    arrays, but their meaning may change between versions: refit, or load the
    model with the version that saved it.
    """
