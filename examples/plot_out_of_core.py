"""
==================================================
Out-of-core training: streaming with partial_fit
==================================================

When the documents do not fit in memory as one matrix, read them in chunks,
turn each chunk into features with a stateless
:class:`~sklearn.feature_extraction.text.HashingVectorizer` (no vocabulary to
fit, so every chunk gets the same columns) and train
:class:`~skmtl.MultiTaskTextClassifier` with ``partial_fit``, one chunk at a
time. Only one chunk's sparse matrix exists at any moment, next to the model.

Here the demo corpus plays the part of a stream: chunks of 500 reviews, read
3 times (3 passes) in a new order each time, and the test accuracy of every
task is measured after each chunk.
"""

# %%
# A stream of chunks
# ------------------
# ``read_chunks`` stands for reading a large file piece by piece: it yields
# raw texts and their labels, never the whole corpus' features. The demo
# corpus is sorted by task, so its rows are shuffled once first (a stream
# sorted by task would train one task after the other and forget the others).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train")
test = load_demo_corpus(subset="test")
tasks = train.task_names
order = np.random.RandomState(0).permutation(len(train.data))
texts = [train.data[i] for i in order]
Y = train.target[order]


def read_chunks(chunk_size, seed):
    """One pass over the stream, chunks in a random order."""
    starts = np.arange(0, len(texts), chunk_size)
    for start in np.random.RandomState(seed).permutation(starts):
        yield texts[start:start + chunk_size], Y[start:start + chunk_size]


# %%
# Features and model
# ------------------
# 2**18 hashed unigram features with L2-normalised rows, in float32: the
# model then trains and predicts in float32, and its shared layer (2**18 x 32)
# takes 32 MB instead of 64 MB. ``classes`` gives the labels of every task on
# the first call to ``partial_fit``, since a chunk may lack some classes or
# tasks: a list by position, or a dict by task name when the chunks' labels
# are DataFrames.
vectorizer = HashingVectorizer(
    n_features=2**18, alternate_sign=False, norm="l2", dtype=np.float32
)
X_test = vectorizer.transform(test.data)
classes = [["negative", "positive"]] * len(tasks)
model = MultiTaskTextClassifier(random_state=0)

# %%
# Train chunk by chunk
# --------------------
# ``partial_fit`` runs one SGD epoch over its chunk. Its step decays over the
# whole stream (``learning_rate='optimal'``, ``eta0 / (1 + eta0 * alpha * t)``
# at the ``t``-th document), so later chunks move the model less than the
# first ones and the stream settles without a horizon.
n_passes, chunk_size = 3, 500
n_seen, accuracy = [], []
for n_pass in range(n_passes):
    for chunk_texts, Y_chunk in read_chunks(chunk_size, seed=n_pass):
        X_chunk = vectorizer.transform(chunk_texts)
        model.partial_fit(X_chunk, Y_chunk, classes=classes)
        n_seen.append(model.t_)  # documents seen so far (SGD steps)
        accuracy.append(per_task_score(test.target, model.predict(X_test)))
accuracy = np.array(accuracy)
print(f"{len(n_seen)} chunks, {model.t_} documents seen")
print("final test accuracy:", ", ".join(
    f"{task} {a:.3f}" for task, a in zip(tasks, accuracy[-1])))
print(f"model dtype: {model.shared_coef_.dtype}, shared layer: "
      f"{model.shared_coef_.nbytes / 2**20:.0f} MB; last chunk's matrix: "
      f"{(X_chunk.data.nbytes + X_chunk.indices.nbytes) / 2**20:.1f} MB")

# %%
# Compare with ``fit`` on the whole matrix
# ----------------------------------------
# For reference only (it materialises all features at once): ``fit`` on the
# same hashed features (at the default ``max_iter='auto'``).
X_train = vectorizer.transform(texts)
batch = MultiTaskTextClassifier(random_state=0).fit(X_train, Y)
batch_accuracy = per_task_score(test.target, batch.predict(X_test))
print("fit on the whole matrix:", ", ".join(
    f"{task} {a:.3f}" for task, a in zip(tasks, batch_accuracy)))

# %%
# Accuracy against documents seen
# -------------------------------
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for t, task in enumerate(tasks):
    ax.plot(n_seen, accuracy[:, t], label=task, alpha=0.8)
ax.plot(n_seen, accuracy.mean(axis=1), "k", lw=2, label="mean over tasks")
ax.axhline(batch_accuracy.mean(), color="k", ls="--",
           label="fit on the whole matrix (mean)")
for n_pass in range(1, n_passes):
    ax.axvline(n_pass * len(texts), color="grey", lw=0.5)
ax.set_xlabel("training documents seen (grey lines: end of each pass)")
ax.set_ylabel("test accuracy")
ax.set_title("Streaming the demo corpus through HashingVectorizer + partial_fit")
ax.legend(loc="lower right")
plt.show()

# %%
# After one pass the model is still far from the batch fit: with the
# multiplicative shared layer, SGD starts slowly from small initial weights.
# By the end of the third pass it comes within a few points of ``fit`` on
# the whole matrix, which also sees each document 10 times but with a step
# size decaying to 0. A stream that labels a task rarely is not a problem:
# each task's loss is scaled by its share of labels counted over all chunks
# so far, so a chunk with few labels of a task does not slow the others down.
# See :ref:`scaling` for ``partial_fit``'s semantics, dask clusters and
# float32 models.
