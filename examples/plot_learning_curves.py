"""
==============================================
Per-task learning curves and the epoch count
==============================================

:class:`~skmtl.MultiTaskTextClassifier` records the mean training loss of every
task after every epoch in ``loss_curve_``, of shape ``(n_epochs, n_tasks)``.
We plot these curves, then look at the test accuracy of each task as a function
of the number of epochs ``max_iter``.

With the default ``learning_rate="linear"``, the step size decays from
``eta0`` to 0 over the ``max_iter`` epochs of ``fit``: a model fitted with
``max_iter=5`` is not the model after 5 of 20 epochs, so each point of the
second plot is a separate fit.
"""

# %%
# Load the data and build the features
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train", as_frame=True)
test = load_demo_corpus(subset="test", as_frame=True)
tasks = train.task_names
vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
X_train = vectorizer.fit_transform(train.data)
X_test = vectorizer.transform(test.data)

# %%
# Training loss of each task, epoch by epoch
# ------------------------------------------
# ``verbose=1`` would print the same numbers during training.
model = MultiTaskTextClassifier(max_iter=30, random_state=0)
model.fit(X_train, train.target)
print(model.loss_curve_.shape)  # (epochs, tasks)

# %%
# Test accuracy against ``max_iter``
# ----------------------------------
# One fit per value of ``max_iter`` (the default, 'auto', runs 20 epochs on
# these tasks of 1,400 reviews), each scored on the test reviews of every
# task.
epochs = [1, 2, 3, 5, 10, 20, 30]
test_accuracy = np.array(
    [
        per_task_score(
            test.target,
            MultiTaskTextClassifier(max_iter=n, random_state=0)
            .fit(X_train, train.target)
            .predict(X_test),
        )
        for n in epochs
    ]
)
for n, row in zip(epochs, test_accuracy):
    print(f"max_iter={n:2d}: " + "  ".join(f"{a:.3f}" for a in row))

# %%
# Plot both
# ---------
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
n_epochs = np.arange(1, len(model.loss_curve_) + 1)
for t, task in enumerate(tasks):
    ax_loss.plot(n_epochs, model.loss_curve_[:, t], label=task)
    ax_acc.plot(epochs, test_accuracy[:, t], marker="o", label=task)
ax_acc.plot(epochs, test_accuracy.mean(axis=1), "k--", marker="s", label="mean")
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("mean training log loss")
ax_loss.set_title("loss_curve_ of a fit with max_iter=30")
ax_acc.set_xscale("log")
ax_acc.set_xticks(epochs, [str(n) for n in epochs])
ax_acc.minorticks_off()
ax_acc.set_xlabel("max_iter (epochs of the fit)")
ax_acc.set_ylabel("test accuracy")
ax_acc.set_title("One fit per max_iter")
ax_loss.legend()
ax_acc.legend(loc="lower right")
plt.show()

# %%
# The training loss falls in steps. With ``learning_rate="linear"`` the step
# size starts at ``eta0`` and decays to 0 over the fit: early on, the steps are
# large enough for SGD to hover above a noise floor, and once they have shrunk
# enough, late in the fit, the loss drops to a much lower level.
#
# The training loss keeps falling long after the test accuracy has levelled
# off: the model goes on fitting the training reviews more closely without
# getting better on new ones. On this small corpus the test accuracy stops
# improving after 2 or 3 epochs. The default ``max_iter='auto'`` (20 epochs on
# tasks of 1,400 reviews, 10 on tasks of 3,000 rows or more) was chosen on the
# benchmark corpora (see :ref:`benchmarks`), where FDU-MTL's review domains of
# this size gained from 20 epochs and larger tasks lost.
#
# Rather than choosing ``max_iter`` on the test set, hold out validation data:
# ``early_stopping=True`` does so inside ``fit`` (see :ref:`user_guide`), or tune
# ``max_iter`` with ``GridSearchCV`` as in
# :ref:`sphx_glr_auto_examples_plot_grid_search.py`.
