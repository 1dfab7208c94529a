"""
==========================================================
Transfer to a new task through the shared representation
==========================================================

``transform`` returns the shared representation ``h(x)`` that a fitted
:class:`~skmtl.MultiTaskTextClassifier` computes for every document: a dense
vector of ``n_components`` values that all its tasks read their labels from.
It can serve as features for a **new** task, learned by any scikit-learn
estimator from few labels.

We fit the model on three domains of the demo corpus (books, DVDs,
electronics), then learn the sentiment of the fourth, kitchen, from a handful
of its labelled reviews, with a logistic regression on the 32 shared features,
and compare it with a logistic regression on the TF-IDF features given the
same labels.
"""

# %%
# Load the data and build the features
# ------------------------------------
# The vectorizer is fitted on the texts of all training reviews, kitchen
# included: texts are cheap, labels are not. No kitchen label is used until
# the new task is learned.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus

train = load_demo_corpus(subset="train", as_frame=True)
test = load_demo_corpus(subset="test", as_frame=True)
new_task = "kitchen_housewares"
source_tasks = [task for task in train.task_names if task != new_task]

vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
X_train = vectorizer.fit_transform(train.data)
X_test = vectorizer.transform(test.data)

# The new task's labelled reviews.
train_rows = np.flatnonzero(train.target[new_task].notna())
test_rows = np.flatnonzero(test.target[new_task].notna())
y_train = train.target[new_task].to_numpy()
y_test = test.target[new_task].to_numpy()[test_rows]
X_test_new = X_test[test_rows]

# %%
# Fit the multi-task model on the three source domains
# ----------------------------------------------------
# The kitchen reviews have no label among the source tasks, so the model skips
# them.
mtl = MultiTaskTextClassifier(random_state=0)
mtl.fit(X_train, train.target[source_tasks])
H_train = mtl.transform(X_train)
H_test = mtl.transform(X_test_new)
print(H_train.shape)

# %%
# Without any kitchen label, the head of a source domain already predicts the
# kitchen sentiment fairly well: how well is a first measure of transfer.
electronics = source_tasks.index("electronics")
zero_shot = np.mean(mtl.predict(X_test_new)[:, electronics] == y_test)
print(f"electronics head on kitchen reviews: {zero_shot:.3f}")

# %%
# Learn the new task from few labels
# ----------------------------------
# For each number of labels, 5 random draws of labelled kitchen reviews (with
# both classes present); both classifiers see the same reviews.
n_labels = [10, 20, 50, 100, 200, 500, len(train_rows)]
n_draws = 5
scores = {"shared": np.zeros((len(n_labels), n_draws)),
          "tfidf": np.zeros((len(n_labels), n_draws))}
for i, n in enumerate(n_labels):
    for draw in range(n_draws):
        rng = np.random.RandomState(draw)
        rows = rng.choice(train_rows, size=n, replace=False)
        while len(set(y_train[rows])) < 2:
            rows = rng.choice(train_rows, size=n, replace=False)
        on_shared = make_pipeline(StandardScaler(), LogisticRegression())
        on_shared.fit(H_train[rows], y_train[rows])
        scores["shared"][i, draw] = on_shared.score(H_test, y_test)
        on_tfidf = LogisticRegression(C=10, max_iter=1000)
        on_tfidf.fit(X_train[rows], y_train[rows])
        scores["tfidf"][i, draw] = on_tfidf.score(X_test_new, y_test)
    print(f"{n:5d} labels: shared features {scores['shared'][i].mean():.3f}, "
          f"TF-IDF {scores['tfidf'][i].mean():.3f}")

# %%
# Plot the accuracy against the number of labels
# ----------------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for name, label in [
    ("shared", "LogisticRegression on transform(X) (32 features)"),
    ("tfidf", f"LogisticRegression on TF-IDF ({X_train.shape[1]} features)"),
]:
    mean, std = scores[name].mean(axis=1), scores[name].std(axis=1)
    ax.plot(n_labels, mean, marker="o", label=label)
    ax.fill_between(n_labels, mean - std, mean + std, alpha=0.2)
ax.axhline(zero_shot, color="gray", linestyle=":",
           label="electronics head, no kitchen label")
ax.set_xscale("log")
ax.set_xticks(n_labels, [str(n) for n in n_labels])
ax.minorticks_off()
ax.set_xlabel("labelled kitchen reviews")
ax.set_ylabel("test accuracy on kitchen reviews")
ax.set_title("A new task from few labels")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %%
# Ten labelled reviews on the shared features do about as well as several
# hundred on the TF-IDF features: the shared layer, trained on the sentiment of
# three other domains, has already found the directions that matter, and the
# new task only has to weigh 32 of them. The electronics head alone, with no
# kitchen label at all, is close behind: kitchen and electronics reviews praise
# and blame products in much the same words (see
# :ref:`sphx_glr_auto_examples_plot_task_similarity.py`). More kitchen labels
# help the shared features little, as 32 features fixed by other domains leave
# little to learn; the TF-IDF model keeps improving as labels grow. To use many
# labels of a new task, add it as a task of the multi-task model instead.
