"""
=============================================
One multi-task model versus per-task models
=============================================

The demo corpus bundled with skmtl holds Amazon reviews from four product
domains (books, DVDs, electronics, kitchen), each review labelled
``"negative"`` or ``"positive"`` for its own domain only. Seen as four
classification tasks, every row of the target has one label and three missing
entries.

We fit one :class:`~skmtl.MultiTaskTextClassifier` on all four tasks at once,
which learns a shared layer from every training review, and compare it with the
usual alternative: one :class:`~sklearn.linear_model.LogisticRegression` per
task, each trained on the reviews of its own domain only.
"""

# %%
# Load the data
# -------------
# :func:`~skmtl.datasets.load_demo_corpus` returns the texts and a wide target
# of shape ``(n_documents, 4)`` in which ``None`` marks a missing label.
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
print(f"{len(train.data)} training and {len(test.data)} test reviews")
print(tasks)
print(train.target[:3])

# %%
# Turn the texts into features
# ----------------------------
# One TF-IDF vectorizer of words and word bigrams, fitted on the training texts
# of all domains, serves both models.
vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
X_train = vectorizer.fit_transform(train.data)
X_test = vectorizer.transform(test.data)
X_train.shape

# %%
# Fit the multi-task model
# ------------------------
# A single call fits the four tasks: the missing labels (``None``) are skipped,
# so each review updates the shared layer and the head of its own task.
mtl = MultiTaskTextClassifier(random_state=0)
mtl.fit(X_train, train.target)
Y_mtl = mtl.predict(X_test)
Y_mtl[:3]

# %%
# Fit one logistic regression per task
# ------------------------------------
# The baseline sees, for each task, only the rows where that task is labelled.
Y_logreg = np.empty(test.target.shape, dtype=object)
for t, task in enumerate(tasks):
    labelled = np.array([label is not None for label in train.target[:, t]])
    logreg = LogisticRegression(C=10)
    logreg.fit(X_train[labelled], train.target[labelled, t])
    Y_logreg[:, t] = logreg.predict(X_test)

# %%
# Compare the test accuracy of each task
# --------------------------------------
# :func:`~skmtl.metrics.per_task_score` scores each task on the test rows where
# it has a true label and ignores the rest.
columns = {
    ("accuracy", "skmtl"): per_task_score(test.target, Y_mtl, "accuracy"),
    ("accuracy", "logreg"): per_task_score(test.target, Y_logreg, "accuracy"),
    ("macro-F1", "skmtl"): per_task_score(test.target, Y_mtl, "f1_macro"),
    ("macro-F1", "logreg"): per_task_score(test.target, Y_logreg, "f1_macro"),
}
scores = np.column_stack(list(columns.values()))
scores = np.vstack([scores, scores.mean(axis=0)])  # last row: mean over tasks
row_names = tasks + ["average"]

print(f"{'':18}  {'accuracy':^14}  {'macro-F1':^14}")
print(f"{'task':18}" + "".join(f"  {model:>6}" for _, model in columns))
for name, row in zip(row_names, scores):
    print(f"{name:18}" + "".join(f"  {value:6.4f}" for value in row))

# %%
# And plot it.
positions = np.arange(len(row_names))
width = 0.4
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for shift, column, label in [
    (-width / 2, 0, "MultiTaskTextClassifier (one model)"),
    (width / 2, 1, "LogisticRegression (one per task)"),
]:
    bars = ax.bar(positions + shift, scores[:, column], width, label=label)
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
ax.set_xticks(positions, row_names)
ax.set_ylim(0.7, 0.95)
ax.set_ylabel("test accuracy")
ax.set_title("Sentiment in 4 domains of the demo corpus")
ax.legend(loc="upper left")
plt.show()

# %%
# The multi-task model learns its shared layer from the reviews of all four
# domains, whereas each logistic regression sees only the ~1,400 reviews of its
# own. The demo corpus is a small subset of FDU-MTL meant for trying skmtl out,
# not a benchmark; ``skmtl demo`` on the command line prints the same
# comparison with fit times.
