"""
================================================
Saving and loading a model: joblib and skops.io
================================================

A fitted :class:`~skmtl.MultiTaskTextClassifier`, or a pipeline holding one,
is saved like any scikit-learn estimator. Two formats are shown here:

* :mod:`joblib` (or :mod:`pickle`): fast and simple, but loading a file runs
  whatever code the file asks for, so **only load files you trust**;
* `skops.io <https://skops.readthedocs.io/>`_: a format that loads only the
  types you have reviewed and allowed, safer for files from elsewhere.

In both cases load the model with the same versions of skmtl and scikit-learn
that saved it: skmtl warns (``InconsistentVersionWarning``) when the versions
differ. :ref:`persistence` describes both formats in more detail.
"""

# %%
# Fit a pipeline
# --------------
import os
import zipfile
from tempfile import TemporaryDirectory

import joblib
import matplotlib.pyplot as plt
import numpy as np
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import per_task_score

train = load_demo_corpus(subset="train", as_frame=True)
test = load_demo_corpus(subset="test", as_frame=True)
model = make_pipeline(
    TfidfVectorizer(sublinear_tf=True, min_df=5),
    MultiTaskTextClassifier(random_state=0),
)
model.fit(train.data, train.target)
Y_before = model.predict(test.data)

# The files go to a temporary directory, deleted at the end.
folder = TemporaryDirectory()
sizes = {}

# %%
# joblib
# ------
# ``compress`` trades a little time for a smaller file.
joblib_path = os.path.join(folder.name, "model.joblib")
joblib.dump(model, joblib_path)
sizes["joblib"] = os.path.getsize(joblib_path)

compressed_path = os.path.join(folder.name, "model_compressed.joblib")
joblib.dump(model, compressed_path, compress=3)
sizes["joblib\n(compress=3)"] = os.path.getsize(compressed_path)

from_joblib = joblib.load(joblib_path)  # only for files you trust!
assert np.array_equal(from_joblib.predict(test.data), Y_before)

# %%
# skops.io
# --------
# :func:`skops.io.dump` writes a zip archive (``compression`` makes it smaller).
# Before loading, :func:`skops.io.get_untrusted_types` lists the types in the
# file that skops does not trust by default; review them, then pass the list
# you accept as ``trusted``.
skops_path = os.path.join(folder.name, "model.skops")
sio.dump(model, skops_path, compression=zipfile.ZIP_DEFLATED)
sizes["skops.io\n(deflated)"] = os.path.getsize(skops_path)

untrusted = sio.get_untrusted_types(file=skops_path)
print(untrusted)

# %%
# Accept only types of skmtl, numpy, scipy and scikit-learn: anything else in a
# file that claims to hold an skmtl model deserves a closer look.
allowed_modules = ("skmtl.", "numpy.", "scipy.", "sklearn.")
unexpected = [name for name in untrusted if not name.startswith(allowed_modules)]
if unexpected:
    raise RuntimeError(f"unexpected types in {skops_path}: {unexpected}")
from_skops = sio.load(skops_path, trusted=untrusted)
Y_skops = from_skops.predict(test.data)
print("same predictions:", np.array_equal(Y_skops, Y_before))

# %%
# Compare the files and the models
# --------------------------------
# The loaded models predict exactly what the original did: their per-task test
# accuracy is the same.
folder.cleanup()
accuracy = {
    "fitted": per_task_score(test.target, Y_before),
    "loaded (joblib)": per_task_score(test.target, from_joblib.predict(test.data)),
    "loaded (skops.io)": per_task_score(test.target, Y_skops),
}
for name, scores in accuracy.items():
    print(f"{name:18}", np.round(scores, 4))

fig, (ax_size, ax_acc) = plt.subplots(
    1, 2, figsize=(10, 4), layout="constrained", width_ratios=[1, 2]
)
bars = ax_size.bar(list(sizes), np.array(list(sizes.values())) / 1e6)
ax_size.bar_label(bars, fmt="%.1f MB")
ax_size.set_ylabel("file size (MB)")
ax_size.set_title("The saved pipeline")

positions = np.arange(len(test.task_names))
width = 0.8 / len(accuracy)
for k, (name, scores) in enumerate(accuracy.items()):
    ax_acc.bar(positions + (k - 1) * width, scores, width, label=name)
ax_acc.set_xticks(positions, test.task_names)
ax_acc.set_ylim(0.7, 0.9)
ax_acc.set_ylabel("test accuracy")
ax_acc.set_title("Per-task accuracy before and after loading")
ax_acc.legend(loc="upper left")
plt.show()
