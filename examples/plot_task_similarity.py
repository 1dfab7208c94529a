"""
======================================
How similar are the tasks? A heatmap
======================================

:func:`skmtl.inspection.task_similarity` compares the tasks of a fitted
:class:`~skmtl.MultiTaskTextClassifier` through their effective linear weights
on the input features: two tasks are similar when the same words move their
classes. For two tasks with the same labels (here, four sentiment tasks with
``"negative"`` and ``"positive"``) it is the cosine between their weights,
signed; between tasks whose classes differ it is a label-free measure in
``[0, 1]`` (see the function's documentation).

To the four sentiment tasks of the demo corpus we add a fifth task of another
kind: predicting the **domain** of a review (4 classes), known for every
review. We compare the similarities learned by the model with a shared layer
and by independent linear models per task, fitted by the same estimator with
``n_components=0, private=True``.
"""

# %%
# Load the data and add the domain task
# -------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.inspection import task_similarity
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train", as_frame=True)
test = load_demo_corpus(subset="test", as_frame=True)
for data in (train, test):
    # The domain of a review is the one task it is labelled for.
    data.target["domain"] = data.target.notna().idxmax(axis=1)
tasks = list(train.target.columns)
train.target.head()

# %%
# Fit the two models
# ------------------
vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
X_train = vectorizer.fit_transform(train.data)
X_test = vectorizer.transform(test.data)

models = {
    "shared layer (n_components=32)": MultiTaskTextClassifier(random_state=0),
    "independent linear models\n(n_components=0, private=True)": (
        MultiTaskTextClassifier(n_components=0, private=True, random_state=0)
    ),
}
for name, model in models.items():
    model.fit(X_train, train.target)
    accuracy = per_task_score(test.target, model.predict(X_test))
    print(name.replace("\n", " "))
    scores = ", ".join(f"{t} {a:.3f}" for t, a in zip(tasks, accuracy))
    print("  test accuracy:", scores)

# %%
# Plot the similarity matrices
# ----------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, (name, model) in zip(axes, models.items()):
    similarity = task_similarity(model)
    image = ax.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
    for (i, j), value in np.ndenumerate(similarity):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center",
                color="white" if abs(value) > 0.6 else "black")
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_title(name)
fig.colorbar(image, ax=axes, shrink=0.8, label="task similarity")
plt.show()

# %%
# Both models find the same structure: books and DVDs are the closest pair,
# then electronics and kitchen, and predicting the domain has little to do with
# predicting the sentiment. The independent models agree only on the few words
# that every domain uses for its sentiment, so their similarities are low. The
# shared layer makes the sentiment tasks use largely the same directions of the
# input space (its ``n_components`` directions serve all tasks), which is how
# the labels of one domain help the others; the domain task, which needs other
# words, stays apart.
