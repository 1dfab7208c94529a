"""
======================================
Learning with fewer and fewer labels
======================================

In the demo corpus every review is labelled for its own product domain only,
so three out of four entries of the target are already missing. Here we remove
more: a growing fraction of the remaining labels of every task, as when only a
few reviews per domain have been annotated.

One :class:`~skmtl.MultiTaskTextClassifier` is fitted on what is left of all
four tasks at once, and compared with one
:class:`~sklearn.linear_model.LogisticRegression` per task trained on the
labelled reviews of its domain. The multi-task model learns its shared layer
from the labels of all domains, which matters more as each domain has fewer.
"""

# %%
# Load the data and build the features
# ------------------------------------
# The TF-IDF vectorizer needs no labels: it is fitted once on all training
# texts and serves every model below.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train")
test = load_demo_corpus(subset="test")
tasks = train.task_names
vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
X_train = vectorizer.fit_transform(train.data)
X_test = vectorizer.transform(test.data)


# %%
# Remove labels
# -------------
# ``remove_labels`` sets a random fraction of the labels of each task to
# ``None`` (missing). A review whose only label is removed is no longer used
# by either model.
def remove_labels(Y, fraction, rng):
    Y = Y.copy()
    for t in range(Y.shape[1]):
        labelled = np.flatnonzero([label is not None for label in Y[:, t]])
        n_removed = int(round(fraction * len(labelled)))
        Y[rng.choice(labelled, size=n_removed, replace=False), t] = None
    return Y


def fit_per_task_logreg(X, Y):
    """Predictions of one logistic regression per task, on X_test."""
    Y_pred = np.empty((X_test.shape[0], Y.shape[1]), dtype=object)
    for t in range(Y.shape[1]):
        labelled = np.array([label is not None for label in Y[:, t]])
        logreg = LogisticRegression(C=10, max_iter=1000)
        logreg.fit(X[labelled], Y[labelled, t])
        Y_pred[:, t] = logreg.predict(X_test)
    return Y_pred


# %%
# Fit both models for each fraction of removed labels
# ---------------------------------------------------
# Each fraction is repeated with 3 random draws of the removed labels; we keep
# the mean test accuracy over tasks of each draw.
fractions = [0.0, 0.5, 0.8, 0.9, 0.95]
n_draws = 3
accuracy = {"skmtl": np.zeros((len(fractions), n_draws)),
            "logreg": np.zeros((len(fractions), n_draws))}
n_labels = []
for i, fraction in enumerate(fractions):
    for draw in range(n_draws):
        rng = np.random.RandomState(draw)
        Y = remove_labels(train.target, fraction, rng)
        mtl = MultiTaskTextClassifier(random_state=draw).fit(X_train, Y)
        Y_mtl = mtl.predict(X_test)
        Y_logreg = fit_per_task_logreg(X_train, Y)
        accuracy["skmtl"][i, draw] = per_task_score(test.target, Y_mtl).mean()
        accuracy["logreg"][i, draw] = per_task_score(test.target, Y_logreg).mean()
    n_per_task = round(np.mean([sum(y is not None for y in column) for column in Y.T]))
    n_labels.append(n_per_task)
    print(
        f"{fraction:4.0%} removed ({n_per_task:4d} labels per task): "
        f"skmtl {accuracy['skmtl'][i].mean():.4f}, "
        f"logreg {accuracy['logreg'][i].mean():.4f}"
    )

# %%
# Plot the mean accuracy against the number of labels per task
# ------------------------------------------------------------
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for name, label in [("skmtl", "MultiTaskTextClassifier (one model)"),
                    ("logreg", "LogisticRegression (one per task)")]:
    mean, std = accuracy[name].mean(axis=1), accuracy[name].std(axis=1)
    ax.plot(n_labels, mean, marker="o", label=label)
    ax.fill_between(n_labels, mean - std, mean + std, alpha=0.2)
ax.set_xscale("log")
ax.set_xticks(n_labels, [str(n) for n in n_labels])
ax.minorticks_off()
ax.set_xlabel("labelled training reviews per task")
ax.set_ylabel("mean test accuracy over the 4 tasks")
ax.set_title("Removing labels from the demo corpus")
ax.legend(loc="lower right")
plt.show()

# %%
# With all labels, the multi-task model is already ahead; as labels get
# scarce, each logistic regression has to learn the sentiment words of its
# domain from a few dozen reviews, whereas the shared layer pools the labels
# of the four domains. Nothing else changed between the fits: the default
# parameters of both estimators are used throughout.
