"""
===================================
The words behind each task's labels
===================================

:func:`skmtl.inspection.top_terms` lists, for every task and every class of a
fitted :class:`~skmtl.MultiTaskTextClassifier`, the input features that push a
document towards that class the most. It reads them off the fitted parameters:
the effective linear weight of a class on a feature combines the shared layer
and the class's head (and the task-private part, if any). For a binary task
the weight of a word for ``"positive"`` is its weight for ``"positive"`` minus
its weight for ``"negative"``, so the two classes' lists are the two ends of
one scale.
"""

# %%
# Fit a model on the demo corpus
# ------------------------------
# The vectorizer and the classifier are fitted separately here, so that a
# second classifier below can reuse the features; for a fitted
# :class:`~sklearn.pipeline.Pipeline`, ``top_terms(pipeline)`` finds the
# feature names itself.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.inspection import top_terms

train = load_demo_corpus(subset="train", as_frame=True)
vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
X_train = vectorizer.fit_transform(train.data)
feature_names = vectorizer.get_feature_names_out()

model = MultiTaskTextClassifier(random_state=0).fit(X_train, train.target)
terms = top_terms(model, feature_names, n_terms=8)
for task, per_class in terms.items():
    for label, pairs in per_class.items():
        print(f"{task:>18} {label:>8}: " + ", ".join(term for term, _ in pairs))


# %%
# Plot the top terms of each task
# -------------------------------
# One panel per task: the terms of ``"positive"`` to the right, those of
# ``"negative"`` to the left (their weight for ``"negative"`` is shown
# negated, as the weight for ``"positive"`` it equals), the strongest at the
# top and at the bottom.
def plot_terms(terms, title, xlabel):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
    for ax, (task, per_class) in zip(axes.ravel(), terms.items()):
        negative = per_class["negative"]  # strongest first: at the bottom
        positive = per_class["positive"][::-1]  # strongest last: at the top
        words = [term for term, _ in negative] + [term for term, _ in positive]
        weights = [-w for _, w in negative] + [w for _, w in positive]
        colors = ["tab:red"] * len(negative) + ["tab:blue"] * len(positive)
        ax.barh(np.arange(len(words)), weights, color=colors)
        ax.set_yticks(np.arange(len(words)), words, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(task)
        ax.set_xlabel(xlabel)
    fig.suptitle(title)
    return fig


plot_terms(terms, "Top terms of each task", 'weight for "positive" vs "negative"')
plt.show()

# %%
# The four lists are almost the same: with a shared layer of 32 dimensions,
# the four heads read sentiment from largely the same directions, and words of
# praise and blame are common to all product domains. That is what lets the
# domains learn from one another (see
# :ref:`sphx_glr_auto_examples_plot_task_similarity.py`).
#
# What is specific to each domain?
# --------------------------------
# With ``private=True`` each task also gets a linear model of its own on the
# input features, which ``top_terms`` includes. To see what differs between
# the domains, rank each word by how much more it favours ``"positive"`` in one
# task than on average in the other three. ``n_terms=len(feature_names)``
# returns the weights of all terms.
private = MultiTaskTextClassifier(private=True, random_state=0)
private.fit(X_train, train.target)
all_terms = top_terms(private, feature_names, n_terms=len(feature_names))
tasks = list(all_terms)
index = {name: j for j, name in enumerate(feature_names)}
weights = np.zeros((len(tasks), len(feature_names)))
for t, task in enumerate(tasks):
    for term, weight in all_terms[task]["positive"]:
        weights[t, index[term]] = weight

specific = {}
for t, task in enumerate(tasks):
    others = np.delete(weights, t, axis=0).mean(axis=0)
    difference = weights[t] - others
    order = np.argsort(difference)
    specific[task] = {
        "negative": [(feature_names[j], -difference[j]) for j in order[:8]],
        "positive": [(feature_names[j], difference[j]) for j in order[::-1][:8]],
    }
plot_terms(
    specific,
    "Terms specific to each domain (private=True)",
    'weight for "positive" minus its mean elsewhere',
)
plt.show()

# %%
# The domain-specific terms name what is praised or blamed in each domain:
# the author and the pages of a book, a classic or a disappointing version of a
# DVD, a TV or a laptop and its support service, a kitchen item sent back after
# a few months. A word can also appear because it matters *less* here than
# elsewhere: "boring", a strong negative word for books and DVDs, is nearly
# neutral for kitchen items, so it lands on the "positive" side of
# kitchen_housewares.
