"""
================================================
Tuning a multi-task pipeline with GridSearchCV
================================================

:class:`~skmtl.MultiTaskTextClassifier` is tuned like any scikit-learn
classifier: put it in a :class:`~sklearn.pipeline.Pipeline` after a vectorizer
and give the pipeline to :class:`~sklearn.model_selection.GridSearchCV`.

Two details matter with a multi-task target that has missing labels:

* scikit-learn's model selection calls ``type_of_target(Y)``, which rejects
  ``None`` and ``NaN`` among string labels, so the missing labels are marked
  with a sentinel, ``""``, both in the target and in the estimator's
  ``missing_label``;
* with a 2-D target, ``cv=3`` means ``KFold(3)`` **without** shuffling, and the
  demo corpus is sorted by domain: the rows are shuffled first so that every
  fold holds every task.
"""

# %%
# Load and shuffle the data
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import shuffle

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train", as_frame=True, missing_label="")
test = load_demo_corpus(subset="test", as_frame=True, missing_label="")
X_train, Y_train = shuffle(train.data, train.target, random_state=0)
Y_train.head()

# %%
# The pipeline and the grid
# -------------------------
# The vectorizer does not depend on the classifier's parameters, so the
# pipeline caches its fit on each fold (``memory``): it is fitted once per fold
# instead of once per fold and candidate.
from tempfile import TemporaryDirectory  # noqa: E402

cache = TemporaryDirectory()
model = Pipeline(
    [
        ("tfidf", TfidfVectorizer(sublinear_tf=True, min_df=2)),
        ("mtl", MultiTaskTextClassifier(random_state=0, missing_label="")),
    ],
    memory=cache.name,
)
param_grid = {
    "mtl__n_components": [8, 32],
    "mtl__alpha": [1e-5, 1e-4, 1e-3],
}

# %%
# Run the search
# --------------
# Without ``scoring``, the search uses the estimator's ``score``: the mean over
# tasks of the accuracy on the labelled entries of each test fold
# (:func:`~skmtl.metrics.make_multitask_scorer` builds other scorers, e.g.
# ``make_multitask_scorer("f1_macro", missing_label="")``).
search = GridSearchCV(model, param_grid, cv=3)
search.fit(X_train, Y_train)
cache.cleanup()
print("best parameters:", search.best_params_)
print(f"best mean CV accuracy: {search.best_score_:.4f}")

# %%
# Plot the grid scores
# --------------------
# The mean and standard deviation of the accuracy over the 3 folds, for each
# width of the shared layer, against the penalty ``alpha``.
results = search.cv_results_
alphas = param_grid["mtl__alpha"]
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for n_components in param_grid["mtl__n_components"]:
    rows = [
        np.flatnonzero(
            (results["param_mtl__n_components"] == n_components)
            & (results["param_mtl__alpha"] == alpha)
        )[0]
        for alpha in alphas
    ]
    ax.errorbar(
        alphas,
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o",
        capsize=3,
        label=f"n_components={n_components}",
    )
ax.set_xscale("log")
ax.set_xlabel("alpha")
ax.set_ylabel("mean accuracy over tasks (3-fold CV)")
ax.set_title("Grid search on the demo corpus")
ax.legend()
plt.show()

# %%
# The differences between the candidates are smaller than their spread over the
# folds: on this small corpus, any of these settings, the defaults
# (``n_components=32, alpha=1e-4``) included, is as good as another. When the
# best value lies at the edge of the grid, extend the grid in that direction
# before trusting it; a much stronger penalty than these (``alpha=1e-2``)
# shrinks the model so much that it predicts one class only.

# %%
# Evaluate the best model on the test set
# ---------------------------------------
# ``GridSearchCV`` refits the best pipeline on all training rows; score it on
# the held-out test reviews, task by task.
Y_pred = search.predict(test.data)
scores = per_task_score(test.target, Y_pred, missing_label="")
for task, score in zip(test.task_names, scores):
    print(f"{task:20} {score:.4f}")
print(f"{'mean':20} {scores.mean():.4f}")
