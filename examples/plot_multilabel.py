"""
==========================================
A multi-label task beside a multiclass one
==========================================

A task of :class:`~skmtl.MultiTaskTextClassifier` is multi-label when its
cells are collections of labels (lists, tuples or sets): a document may have
any number of them, none included. Here one model learns, over the same
product reviews, the review's sentiment (one class out of two) and the
aspects it talks about (any subset of eleven tags).

The demo corpus has no aspect annotation, so we make one: a review gets the
tag ``"price"`` if it uses one of the words "price", "money", "cost", ...,
and so on for each aspect. The tags are a function of the words, an easy task
by construction, and the keywords are left in the text the model reads. What
the example shows is how such a task is passed, predicted and scored, and how
the labels' thresholds are tuned on held-out data; not what F1 to expect on
real tags.
"""

# %%
# Build the two tasks
# -------------------
# Every review of the demo corpus has one sentiment label, in the column of its
# product domain; we gather them in one ``"sentiment"`` column. The
# ``"aspects"`` cells are tuples of tags: an empty tuple means that the review
# mentions none of the aspects (a known answer, which trains every tag towards
# "absent"), whereas ``None`` would mean that the review is not labelled for
# the task.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.inspection import top_terms
from skmtl.metrics import per_task_score

ASPECTS = {
    "battery": ["battery", "batteries"],
    "broken": ["broke", "broken"],
    "cleaning": ["cleaning", "dishwasher", "wash"],
    "delivery": ["shipping", "shipped", "arrived", "delivery"],
    "family": ["kids", "children", "son", "daughter", "child"],
    "gift": ["gift", "christmas", "birthday"],
    "price": ["price", "money", "cost", "expensive", "cheap", "dollars"],
    "recipes": ["recipe", "recipes", "cook", "cooking"],
    "sound": ["sound", "audio", "speakers", "volume"],
    "story": ["story", "plot", "characters"],
    "support": ["warranty", "refund", "customer"],
}


def load(subset):
    corpus = load_demo_corpus(subset=subset)
    # The texts are already lower-cased and tokenized: words are split by spaces.
    words = [set(text.split()) for text in corpus.data]
    Y = pd.DataFrame({
        "sentiment": [next(label for label in row if label is not None)
                      for row in corpus.target],
        "aspects": [tuple(aspect for aspect, keys in ASPECTS.items()
                          if found & set(keys)) for found in words],
    })
    return corpus.data, Y


texts, Y = load("train")
texts_test, Y_test = load("test")
# A dev split for the thresholds, out of the training reviews.
texts_train, texts_dev, Y_train, Y_dev = train_test_split(
    texts, Y, test_size=0.25, random_state=0)
Y_train.head()

# %%
# How often each tag occurs in the training reviews: from about 2 % (the
# rare ones) to about 19 %. Half the reviews have no tag at all.
binarizer = MultiLabelBinarizer(classes=list(ASPECTS))
frequency = binarizer.fit_transform(Y_train["aspects"]).mean(axis=0)
print(pd.Series(frequency, index=list(ASPECTS)).round(3).to_string())
print(f"no tag: {np.mean([len(cell) == 0 for cell in Y_train['aspects']]):.2f}")

# %%
# Fit one model for both tasks
# ----------------------------
# Nothing declares the kind of a task: a column of label collections is
# multi-label. Each tag gets a logistic unit (a two-class head, absent or
# present) on the shared layer, beside the sentiment's head.
model = make_pipeline(
    TfidfVectorizer(sublinear_tf=True, min_df=2),
    MultiTaskTextClassifier(random_state=0),
)
model.fit(texts_train, Y_train)
classifier = model[-1]
classifier.multilabel_, classifier.classes_[1]

# %%
# ``predict`` gives one row per review and one column per task. As the
# aspects' cells are tuples of tags (empty where no tag is predicted), the
# array is of dtype object.
reviews = [
    "the story is great and the characters are wonderful",
    "it broke after a week and customer service would not refund my money",
    "my kids love it , a great christmas gift",
    "terrible sound , returned it",
]
model.predict(reviews)

# %%
# The second review also gets ``"gift"``, a word it does not use: in the
# training reviews, a broken item was three times as likely as the average
# one to be a gift, and the model learned the association (see the words
# behind each tag at the end).
#
# ``predict_proba`` gives a list with one array per task: the sentiment's
# classes, then one independent probability per tag (they need not sum to
# one). A tag is predicted where its probability exceeds 0.5.
sentiment_proba, aspect_proba = model.predict_proba(reviews)
pd.DataFrame(aspect_proba, columns=classifier.classes_[1]).round(2)

# %%
# The model's ``score`` is the mean over the tasks of the accuracy, which for
# a multi-label task is the *subset* accuracy: the share of reviews whose
# predicted tag set is exactly right. :func:`~skmtl.metrics.per_task_score`
# scores each task apart, and its F1 metrics work on the tags: ``"f1_micro"``
# over all (review, tag) pairs, ``"f1_macro"`` the mean of the tags' F1 and
# ``"f1_samples"`` the mean of the reviews' F1. A review with no tag, rightly
# predicted with none, has no F1 of its own: ``zero_division=1`` counts it as
# right (with the default, 0, the half of the reviews that have no tag would
# all count as wrong).
Y_pred = model.predict(texts_test)
print("accuracy (sentiment, aspects):", per_task_score(Y_test, Y_pred).round(3))
for metric in ("f1_micro", "f1_macro", "f1_samples"):
    score = per_task_score(Y_test[["aspects"]], Y_pred[:, 1:], metric,
                           zero_division=1)
    print(f"aspects {metric}: {score[0]:.3f}")

# %%
# Tune the tags' thresholds on the dev split
# ------------------------------------------
# A tag is predicted where its score (``decision_function``: the logit of
# "present", after ``prior_correction``, minus the tag's threshold) is
# positive. ``thresholds_`` are 0 after ``fit``; ``tune_thresholds`` sets each
# tag's to the value that maximises its F1 on the data it is given, which
# should not be the training data. It is a method of the classifier: in a
# pipeline, give it the dev texts as the steps before it transform them.
f1_before = f1_score(binarizer.transform(Y_test["aspects"]),
                     binarizer.transform(Y_pred[:, 1]),
                     average=None, zero_division=0)
classifier.tune_thresholds(model[:-1].transform(texts_dev), Y_dev)
print(pd.Series(classifier.thresholds_[1], index=classifier.classes_[1]).round(2)
      .to_string())
Y_tuned = model.predict(texts_test)
f1_after = f1_score(binarizer.transform(Y_test["aspects"]),
                    binarizer.transform(Y_tuned[:, 1]),
                    average=None, zero_division=0)
print(f"aspects f1_macro on the test set: {f1_before.mean():.3f} with the "
      f"default thresholds, {f1_after.mean():.3f} tuned")

# %%
# Here all thresholds came out negative: at 0, the model predicts the tags
# too rarely for their best F1. The sentiment task has no thresholds (its
# entry is ``None``) and keeps its predictions.
#
# F1 of each tag against its frequency
# ------------------------------------
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
for x, before, after in zip(frequency, f1_before, f1_after):
    ax.annotate("", xy=(x, after), xytext=(x, before),
                arrowprops={"arrowstyle": "->", "color": "grey"})
ax.scatter(frequency, f1_before, label="thresholds 0 (after fit)",
           facecolors="none", edgecolors="tab:blue")
ax.scatter(frequency, f1_after, label="thresholds tuned on the dev split",
           color="tab:orange")
for name, x, y in zip(classifier.classes_[1], frequency, f1_after):
    ax.annotate(name, (x, y), xytext=(5, 0), textcoords="offset points",
                fontsize=8, va="center")
ax.set_xscale("log")
ax.set_xlim(0.015, 0.3)
ax.set_xticks([0.02, 0.05, 0.1, 0.2], ["2 %", "5 %", "10 %", "20 %"])
ax.minorticks_off()
ax.set_xlabel("share of training reviews with the tag")
ax.set_ylabel("F1 on the test set")
ax.set_title("Per-tag F1 against tag frequency")
ax.legend(loc="lower right")
plt.show()

# %%
# The two most frequent tags, ``"price"`` and ``"story"``, are predicted as
# well either way. The rare ones (under 5 %, 90 to 190 training reviews each)
# mostly gain from a threshold of their own, though not every one: the dev
# split holds only 30 to 60 reviews of a rare tag, so its tuned threshold is
# itself noisy. A larger dev split makes the thresholds steadier.
#
# What the model learned for each tag
# -----------------------------------
# :func:`~skmtl.inspection.top_terms` ranks, for each tag, the words that
# make it more likely ("present" against "absent"). The keywords the tags were
# made from come first; the others are words that occur with them.
terms = top_terms(model, n_terms=5)
for tag, pairs in terms["aspects"].items():
    print(f"{tag:>9}: " + ", ".join(term for term, _ in pairs))
