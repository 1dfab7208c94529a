"""skmtl: multi-task text classification for scikit-learn.

One estimator, :class:`MultiTaskTextClassifier`, learns a shared layer from sparse
text features plus one head per task, with missing labels allowed, and plugs into
``Pipeline``, ``GridSearchCV`` and ``joblib`` like any scikit-learn classifier.
"""

__version__ = "0.1.0.dev0"

try:
    from . import _sgd_fast  # noqa: F401
except ImportError as exc:  # pragma: no cover - only hit on an unbuilt tree
    raise ImportError(
        "skmtl's compiled kernel (skmtl._sgd_generic) could not be imported: "
        f"{exc}.\nThis usually means skmtl is imported from a source tree that was "
        "not built. Install it with\n    pip install .\nor, for development,\n"
        "    pip install --no-build-isolation -e .\nfrom the repository root."
    ) from exc

from ._estimator import MultiTaskTextClassifier  # noqa: E402
from ._tasks import LabelSet  # noqa: E402

__all__ = ["LabelSet", "MultiTaskTextClassifier", "__version__"]
