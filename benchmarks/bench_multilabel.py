"""skmtl's multi-label tasks against per-label linear models on GoEmotions.

The question: with GoEmotions' three taxonomies of the same Reddit comments
(28 original labels, 7 Ekman labels, 4 groups) as three multi-label tasks of
one ``MultiTaskTextClassifier`` at default settings, is each taxonomy's
macro-F1 at least that of one LogisticRegression per label with C and the
label's threshold chosen on dev, and is the one fit faster than those 39
per-label fits?

Systems, all in one run on the same features (the reference
``TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)`` fitted on
the training comments) and the official train / dev / test split:

- skmtl: one model, the three taxonomies as multi-label tasks (cells are
  label tuples), ``random_state=0``; at its defaults (the verdict's row), the
  same model after ``tune_thresholds`` on dev, with ``private=False``
  (no private part for the labels), with ``loss='log_loss'`` (every label
  on the log loss, as ``loss='auto'`` trains only its rare ones) and with
  ``loss='modified_huber', alpha_private=5e-5``, each with and without
  ``tune_thresholds``. skmtl never sees dev labels except in
  ``tune_thresholds``.
- LogisticRegression (``max_iter=1000``, C in 1 / 10 / 100) and LinearSVC
  (C in 0.1 / 1 / 10), one binary model per label of each taxonomy (39 in
  all) on every training comment: with the default threshold (0 on
  ``decision_function``; C chosen per label on dev F1), and with C and the
  threshold on ``decision_function`` chosen together per label to maximise
  its dev F1.
- fastText (``loss='ova'``, one model per taxonomy, one sigmoid per label) at
  skmtl's dimension (32), epochs (10), word n-grams (2) and thread count (1),
  lr per taxonomy from 0.25 / 0.5 / 1.0 on dev: with its threshold 0.5 on
  each label's probability, and with a threshold per label from dev. Left
  out, with the reason in the report, when the ``fasttext`` module is missing.

Scores: per taxonomy, macro-F1 (the mean of its labels' F1) and micro-F1 on
the test split, on indicator matrices over all of the taxonomy's labels.
A second table sets the thresholds aside: the dev and test comments are
halved at random ``N_HALVINGS`` times, each label's threshold is chosen on
one half and scored on the other, so that every system's ranking is compared
with thresholds chosen the same way, on the same rows.
Fit times are the models' fits only (the vectorizer, fastText's tokenizing
and file writing excluded): skmtl's one fit; a baseline's fits of the chosen
C of every label, summed (its "with selection" time adds every fit of the
grid, the dev predictions and the threshold search). Run from the repository
root::

    python benchmarks/bench_multilabel.py            # about 2 min on 2 cores
    python benchmarks/bench_multilabel.py --quick    # toy sizes, under a minute

BLAS/OpenMP are pinned to one thread (by ``_common``, before numpy is
imported, and ``threadpoolctl.threadpool_limits(1)`` around the work). Every
model is seeded, so one run gives the scores; times are of that one run.
"""

import argparse
import os
import tempfile
import time
import warnings

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    QUICK_BUCKET,
    QUICK_TEST,
    QUICK_TRAIN,
    Report,
    add_common_options,
    command_line,
    fasttext_line,
    fasttext_missing,
    machine_lines,
    md_table,
    output_path,
    question,
    runtime_line,
    targets,
    targets_section,
    train_fasttext,
    vectorizer,
    verdict,
)
from _corpora import _rows as rows_of

# isort: split
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskTextClassifier

TAXONOMIES = ["original", "ekman", "group"]
BASELINES = {
    "LR": (LogisticRegression, {"max_iter": 1000}, [1.0, 10.0, 100.0]),
    "LinearSVC": (LinearSVC, {"random_state": 0}, [0.1, 1.0, 10.0]),
}
# --quick: on 300 comments lbfgs runs to max_iter at C=100; 20 keeps the 117
# toy fits to a few seconds (as bench_defaults.py's LR_MAX_ITER_QUICK).
LR_MAX_ITER_QUICK = 20
FASTTEXT_LRS = [0.25, 0.5, 1.0]
# The reference baseline's published macro-F1 (%) on the test split
# (benchmarks/README.md): one LogisticRegression per label, C and threshold
# from dev, on the reference features.
PUBLISHED_LR = {"original": 42.21, "ekman": 55.80, "group": 62.57}
SKMTL_SETTINGS = [
    ("skmtl defaults", {}),
    ("skmtl private=False", {"private": False}),
    # The labels' penalty and loss (the ranking table and the user guide).
    ("skmtl loss='log_loss'", {"loss": "log_loss"}),
    ("skmtl loss='modified_huber', alpha_private=5e-5",
     {"loss": "modified_huber", "alpha_private": 5e-5}),
]
TUNED = " + tune_thresholds (dev)"
# Random halvings of dev + test behind the ranking table.
N_HALVINGS = 30
VERDICT_ROW = "skmtl defaults"


def tuned_row(name):
    """The row of a baseline whose C and thresholds come from dev."""
    return f"{name} per label, C + threshold from dev"


REFERENCE_ROW = tuned_row("LR")
RANKING_ROWS = ["skmtl defaults", "skmtl loss='log_loss'",
                "skmtl loss='modified_huber', alpha_private=5e-5",
                REFERENCE_ROW, tuned_row("LinearSVC")]


# --------------------------------------------------------------------------
# Data


def load(quick, seed=0):
    """Texts and label lists of each split; ``labels[taxonomy]``: all its labels."""
    rows = rows_of("goemotions")
    data = {"labels": {t: sorted({lab for r in rows for lab in r[t]})
                       for t in TAXONOMIES}}
    rng = np.random.default_rng(seed)
    for part in ("train", "dev", "test"):
        picked = [r for r in rows if r["split"] == part]
        if quick:
            n = QUICK_TRAIN if part == "train" else QUICK_TEST
            picked = [picked[i] for i in np.sort(rng.choice(len(picked), n,
                                                            replace=False))]
        data[f"{part}_texts"] = [r["text"] for r in picked]
        data[f"sets_{part}"] = {t: [tuple(r[t]) for r in picked] for t in TAXONOMIES}
    return data


def indicator(sets, labels):
    """(n, n_labels) 0/1 matrix of label collections over ``labels``."""
    column = {lab: j for j, lab in enumerate(labels)}
    out = np.zeros((len(sets), len(labels)), dtype=np.int8)
    for i, cell in enumerate(sets):
        for lab in cell:
            out[i, column[lab]] = 1
    return out


def task_matrix(data, part, known=None):
    """skmtl's ``Y``: an object array (n, 3) whose cells are label tuples.

    ``known`` (per taxonomy, the labels a model knows) drops other labels: on
    the toy sizes of ``--quick`` a dev comment may carry a label that no
    training comment has, which ``tune_thresholds`` rejects. The full corpus
    has every label in train, so this changes nothing there.
    """
    sets = data[f"sets_{part}"]
    Y = np.empty((len(sets[TAXONOMIES[0]]), len(TAXONOMIES)), dtype=object)
    for j, t in enumerate(TAXONOMIES):
        keep = None if known is None else set(known[j])
        for i, cell in enumerate(sets[t]):
            Y[i, j] = cell if keep is None else tuple(x for x in cell if x in keep)
    return Y


def f1s(truth, predicted):
    """Macro-F1, micro-F1 (%) and each label's F1, on indicator matrices."""
    kw = {"zero_division": 0}
    return (100 * f1_score(truth, predicted, average="macro", **kw),
            100 * f1_score(truth, predicted, average="micro", **kw),
            100 * f1_score(truth, predicted, average=None, **kw))


def best_threshold(scores, truth, default):
    """The threshold ``c`` maximising the F1 of ``scores >= c`` and that F1;
    ``default`` (and the F1 at ``scores > default``) when no label is present."""
    if not truth.any():
        return default, 100 * f1_score(truth, scores > default, zero_division=0)
    precision, recall, cuts = precision_recall_curve(truth, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    best = int(np.argmax(f1[:-1]))
    return float(cuts[best]), 100 * float(f1[best])


# --------------------------------------------------------------------------
# Systems. Each returns {"pred": {taxonomy: indicator matrix on test},
# "fit_s": final models' fit time, "select_s": time with selection, "notes"}.


def run_skmtl(data, X, params):
    """One model for the three taxonomies; at fit's thresholds and tuned on dev."""
    model = MultiTaskTextClassifier(random_state=0, **params)
    Y_train = task_matrix(data, "train")
    tic = time.perf_counter()
    model.fit(X["train"], Y_train)
    fit_s = time.perf_counter() - tic
    out = {}
    out["plain"] = {"pred": _skmtl_predictions(model, data, X), "fit_s": fit_s,
                    "select_s": fit_s, "scores": _skmtl_scores(model, data, X)}
    tic = time.perf_counter()
    model.tune_thresholds(X["dev"], task_matrix(data, "dev", known=model.classes_))
    tune_s = time.perf_counter() - tic
    out["tuned"] = {"pred": _skmtl_predictions(model, data, X), "fit_s": fit_s,
                    "select_s": fit_s + tune_s}
    return out


def _skmtl_predictions(model, data, X):
    predicted = model.predict(X["test"])
    return {t: indicator(predicted[:, j], data["labels"][t])
            for j, t in enumerate(TAXONOMIES)}


def _skmtl_scores(model, data, X):
    """Per taxonomy, each label's score on the dev then the test comments
    (-inf for a label no training comment has: ``--quick`` only)."""
    scores = [model.decision_function(X[part]) for part in ("dev", "test")]
    out = {}
    for j, t in enumerate(TAXONOMIES):
        known = np.vstack([scores[0][j], scores[1][j]])
        column = {lab: i for i, lab in enumerate(model.classes_[j])}
        out[t] = np.full((len(known), len(data["labels"][t])), -np.inf)
        for i, lab in enumerate(data["labels"][t]):
            if lab in column:
                out[t][:, i] = known[:, column[lab]]
    return out


class _Constant:
    """A label with one class in the training rows (toy sizes only)."""

    def __init__(self, value):
        self.value = value

    def decision_function(self, X):
        return np.full(X.shape[0], 1.0 if self.value else -1.0)


def _fit_label(cls, params, C, X, y):
    if y.min() == y.max():
        return _Constant(y[0])
    return cls(C=C, **params).fit(X, y)


def run_baseline(data, X, name, quick):
    """One binary model per label and C; two rows: threshold 0 (C on dev F1)
    and C + threshold from dev. Also each label's chosen C."""
    cls, params, grid = BASELINES[name]
    if quick and "max_iter" in params:
        params = {**params, "max_iter": LR_MAX_ITER_QUICK}
    rows = {key: {"pred": {}, "fit_s": 0.0, "select_s": 0.0, "C": {}, "scores": {}}
            for key in ("plain", "tuned")}
    select_s = 0.0
    for t in TAXONOMIES:
        labels = data["labels"][t]
        truth = {part: indicator(data[f"sets_{part}"][t], labels)
                 for part in ("train", "dev")}
        for key in rows:
            rows[key]["pred"][t] = np.zeros((X["test"].shape[0], len(labels)),
                                            dtype=np.int8)
            rows[key]["C"][t] = []
            rows[key]["scores"][t] = np.zeros((X["dev"].shape[0] + X["test"].shape[0],
                                               len(labels)))
        for j in range(len(labels)):
            y = truth["train"][:, j]
            best = {"plain": (-1.0,), "tuned": (-1.0,)}
            for C in grid:
                tic = time.perf_counter()
                model = _fit_label(cls, params, C, X["train"], y)
                seconds = time.perf_counter() - tic
                dev = model.decision_function(X["dev"])
                cut, tuned_f1 = best_threshold(dev, truth["dev"][:, j], 0.0)
                plain_f1 = 100 * f1_score(truth["dev"][:, j], dev > 0, zero_division=0)
                test = model.decision_function(X["test"])
                select_s += time.perf_counter() - tic
                for key, f1, predicted in (("plain", plain_f1, test > 0),
                                           ("tuned", tuned_f1, test >= cut)):
                    if f1 > best[key][0]:
                        best[key] = (f1, C, seconds, predicted, np.r_[dev, test])
            for key, (_, C, seconds, predicted, scores) in best.items():
                rows[key]["pred"][t][:, j] = predicted
                rows[key]["fit_s"] += seconds
                rows[key]["C"][t].append(C)
                rows[key]["scores"][t][:, j] = scores
    for key in rows:
        rows[key]["select_s"] = select_s
    return rows


def run_fasttext(data, quick):
    """One ``loss='ova'`` model per taxonomy, lr from dev; two rows:
    threshold 0.5, and a threshold per label from dev."""
    lines = {part: [fasttext_line(s) for s in data[f"{part}_texts"]]
             for part in ("train", "dev", "test")}
    rows = {key: {"pred": {}, "fit_s": 0.0, "select_s": 0.0, "lr": {}, "retries": 0,
                  "diverged": []}
            for key in ("plain", "tuned")}
    select_s, retries, diverged = 0.0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for t in TAXONOMIES:
            labels = data["labels"][t]
            truth = indicator(data["sets_dev"][t], labels)
            path = os.path.join(tmp, f"{t}.txt")
            # fastText does not shuffle its file: shuffle, as its scripts do.
            order = np.random.RandomState(0).permutation(len(lines["train"]))
            with open(path, "w", encoding="utf-8") as f:
                for i in order:
                    tags = " ".join(f"__label__{lab}"
                                    for lab in data["sets_train"][t][i])
                    f.write(f"{tags} {lines['train'][i]}\n")
            best = {"plain": (-1.0,), "tuned": (-1.0,)}
            for lr in FASTTEXT_LRS:
                tic = time.perf_counter()
                # A learning rate that diverges on every seed (at lr=1.0 on
                # --quick's few hundred comments, about one run in ten) is
                # left out of the grid, and reported.
                model, n_retries = train_fasttext(path, quick, loss="ova", lr=lr)
                retries += n_retries
                if model is None:
                    diverged.append(f"{t}: lr={lr}")
                    continue
                seconds = time.perf_counter() - tic
                dev = _fasttext_proba(model, lines["dev"], labels)
                plain_f1 = 100 * f1_score(truth, dev > 0.5, average="macro",
                                          zero_division=0)
                cuts = [best_threshold(dev[:, j], truth[:, j], 0.5)
                        for j in range(len(labels))]
                tuned_f1 = float(np.mean([f1 for _, f1 in cuts]))
                test = _fasttext_proba(model, lines["test"], labels)
                select_s += time.perf_counter() - tic
                tuned = test >= np.array([c for c, _ in cuts])
                for key, f1, predicted in (("plain", plain_f1, test > 0.5),
                                           ("tuned", tuned_f1, tuned)):
                    if f1 > best[key][0]:
                        best[key] = (f1, lr, seconds, predicted.astype(np.int8))
            if best["plain"][0] < 0:
                raise RuntimeError(f"fastText diverged at every lr of {t!r}: "
                                   f"{FASTTEXT_LRS}")
            for key, (_, lr, seconds, predicted) in best.items():
                rows[key]["pred"][t] = predicted
                rows[key]["fit_s"] += seconds
                rows[key]["lr"][t] = lr
    for key in rows:
        rows[key]["select_s"], rows[key]["retries"] = select_s, retries
        rows[key]["diverged"] = diverged
    return rows


def _fasttext_proba(model, lines, labels):
    """(n, n_labels) probabilities of every label (ova: independent sigmoids)."""
    column = {f"__label__{lab}": j for j, lab in enumerate(labels)}
    found, probs = model.predict(lines, k=-1, threshold=0.0)
    out = np.zeros((len(lines), len(labels)))
    for i, (names, p) in enumerate(zip(found, probs)):
        for name, value in zip(names, p):
            out[i, column[name]] = value
    return out


# --------------------------------------------------------------------------
# Report


def scored(data, systems):
    """{row: {taxonomy: (macro, micro, per-label F1)}} on the test split."""
    truth = {t: indicator(data["sets_test"][t], data["labels"][t]) for t in TAXONOMIES}
    return {label: {t: f1s(truth[t], r["pred"][t]) for t in TAXONOMIES}
            for label, r in systems.items()}


def main_table(systems, scores):
    headers = (["system"] + [f"{t} macro-F1" for t in TAXONOMIES]
               + [f"{t} micro-F1" for t in TAXONOMIES]
               + ["fit s", "with selection s"])
    rows = []
    for label, r in systems.items():
        macro = [f"{scores[label][t][0]:.2f}" for t in TAXONOMIES]
        if label == VERDICT_ROW:
            macro = [f"**{m}**" for m in macro]
        rows.append([label, *macro,
                     *(f"{scores[label][t][1]:.2f}" for t in TAXONOMIES),
                     f"{r['fit_s']:.2f}", f"{r['select_s']:.2f}"])
    rows.append(["LR per label, C + threshold from dev (published, data README)",
                 *(f"{PUBLISHED_LR[t]:.2f}" for t in TAXONOMIES),
                 "—", "—", "—", "—", "—"])
    return md_table(headers, rows)


def choices_table(systems):
    rows = []
    for label, r in systems.items():
        for key in ("C", "lr"):
            if key in r:
                cells = []
                for t in TAXONOMIES:
                    values = r[key][t] if isinstance(r[key][t], list) else [r[key][t]]
                    counts = {v: values.count(v) for v in sorted(set(values))}
                    cells.append(", ".join(f"{key}={v:g}: {n}"
                                           for v, n in counts.items()))
                rows.append([label, *cells])
    return md_table(["system", *TAXONOMIES], rows, "l" + "l" * len(TAXONOMIES))


PER_LABEL_ROWS = ["skmtl defaults", "skmtl defaults" + TUNED,
                  "LR per label, C from dev (threshold 0)", REFERENCE_ROW]


def per_label_table(data, systems, scores):
    shown = [label for label in PER_LABEL_ROWS if label in systems]
    headers = ["label", "train docs", "test docs", *shown, "LR chosen C"]
    rows = []
    for t in TAXONOMIES:
        counts = {part: indicator(data[f"sets_{part}"][t], data["labels"][t]).sum(0)
                  for part in ("train", "test")}
        for j, lab in enumerate(data["labels"][t]):
            rows.append([f"{t}:{lab}", int(counts["train"][j]), int(counts["test"][j]),
                         *(f"{scores[label][t][2][j]:.2f}" for label in shown),
                         f"{systems[REFERENCE_ROW]['C'][t][j]:g}"])
    return md_table(headers, rows)


def halved_macro_f1(truth, scores, n_halvings=N_HALVINGS):
    """Macro-F1 (%) with each label's threshold chosen on half of the rows
    and scored on the other half, and with the best threshold of that other
    half; means over ``n_halvings`` random halvings (the same for every
    system)."""
    rng = np.random.default_rng(0)
    n = len(truth)
    chosen, best = [], []
    for _ in range(n_halvings):
        order = rng.permutation(n)
        first, second = order[:n // 2], order[n // 2:]
        for j in range(truth.shape[1]):
            cut, _ = best_threshold(scores[first, j], truth[first, j], 0.0)
            chosen.append(f1_score(truth[second, j], scores[second, j] >= cut,
                                   zero_division=0))
            best.append(best_threshold(scores[second, j], truth[second, j], 0.0)[1])
    return 100 * np.mean(chosen), np.mean(best)


def ranking_table(data, systems):
    """Each system's labels ranked on dev + test, thresholds set aside."""
    truth = {t: np.vstack([indicator(data[f"sets_{part}"][t], data["labels"][t])
                           for part in ("dev", "test")]) for t in TAXONOMIES}
    rows = []
    for label in RANKING_ROWS:
        if label not in systems:
            continue
        cells = [halved_macro_f1(truth[t], systems[label]["scores"][t])
                 for t in TAXONOMIES]
        rows.append([label, *(f"{chosen:.2f}" for chosen, _ in cells),
                     *(f"{best:.2f}" for _, best in cells)])
    return md_table(["system", *(f"{t}, threshold from the other half"
                                 for t in TAXONOMIES),
                     *(f"{t}, best threshold" for t in TAXONOMIES)], rows)


def verdict_rows(systems, scores):
    margin = targets()["multilabel_margin"]
    rows = []
    for t in TAXONOMIES:
        ours, ref = scores[VERDICT_ROW][t][0], scores[REFERENCE_ROW][t][0]
        rows.append([f"{t}: skmtl defaults macro-F1 ≥ LR per label (C + threshold "
                     f"from dev) {margin:+g}",
                     f"{ours:.2f} vs {ref:.2f}: {ours - ref:+.2f}",
                     verdict(ours >= ref + margin)])
    ours, ref = systems[VERDICT_ROW]["fit_s"], systems[REFERENCE_ROW]["fit_s"]
    grid = systems[REFERENCE_ROW]["select_s"]
    n_labels = sum(len(v) for v in systems[REFERENCE_ROW]["C"].values())
    rows.append([f"fit: one skmtl fit (3 tasks) faster than the {n_labels} per-label "
                 "LR fits (chosen C only)",
                 f"{ours:.2f} s vs {ref:.2f} s = {ref / ours:.2f}× (with the C grid "
                 f"and dev selection: {grid:.2f} s)",
                 verdict(ours < ref)])
    return rows


def best_baseline_line(systems, scores):
    """skmtl defaults against the best per-label baseline of each taxonomy
    (C and threshold from dev), which the targets do not name."""
    cells = []
    for t in TAXONOMIES:
        name = max(BASELINES, key=lambda b: scores[tuned_row(b)][t][0])
        best = scores[tuned_row(name)][t][0]
        ours = scores[VERDICT_ROW][t][0]
        cells.append(f"{t} {ours:.2f} vs {best:.2f} ({name}): {ours - best:+.2f}")
    return ("Not a target: skmtl defaults against the best per-label baseline "
            "(C and threshold from dev) of each taxonomy: " + "; ".join(cells) + ".")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser, "toy sizes, under a minute")
    parser.add_argument("--no-fasttext", action="store_true",
                        help="leave the fastText rows out")
    args = parser.parse_args(argv)
    report = Report(output_path(args, "bench_multilabel", ".md"))
    report.add("# skmtl multi-label tasks on GoEmotions against per-label "
               "linear models" + (" (--quick)" if args.quick else ""), head=True)
    report.add(question(__doc__), head=True)
    report.add("\n".join(machine_lines(command_line(__file__, argv),
                                       extra_versions=("fasttext-numpy2",))),
               head=True)
    start = time.perf_counter()
    data = load(args.quick)
    tic = time.perf_counter()
    features = vectorizer(quick=args.quick)
    X = {"train": features.fit_transform(data["train_texts"])}
    for part in ("dev", "test"):
        X[part] = features.transform(data[f"{part}_texts"])
    vec_s = time.perf_counter() - tic

    systems = {}
    skipped = None
    with threadpool_limits(1):
        for label, params in SKMTL_SETTINGS:
            out = run_skmtl(data, X, params)
            systems[label], systems[label + TUNED] = out["plain"], out["tuned"]
            print(f"{label}: fit {out['plain']['fit_s']:.2f} s", flush=True)
        for name in BASELINES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                out = run_baseline(data, X, name, args.quick)
            systems[f"{name} per label, C from dev (threshold 0)"] = out["plain"]
            systems[tuned_row(name)] = out["tuned"]
            print(f"{name}: fits {out['tuned']['select_s']:.2f} s", flush=True)
        skipped = ("skipped: --no-fasttext" if args.no_fasttext
                   else fasttext_missing())
        if skipped is None:
            out = run_fasttext(data, args.quick)
            systems["fastText ova, lr from dev (threshold 0.5)"] = out["plain"]
            systems["fastText ova, lr + thresholds from dev"] = out["tuned"]
    scores = scored(data, systems)

    n = {part: X[part].shape[0] for part in X}
    setup = (
        f"Comments: {n['train']} train / {n['dev']} dev / {n['test']} test; "
        f"{X['train'].shape[1]} features "
        f"({X['train'].nnz / n['train']:.1f} non-zeros per train row), "
        f"`TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), "
        f"min_df={1 if args.quick else 2})` fitted on train in {vec_s:.1f} s (not in "
        "the fit times). Labels per taxonomy: "
        + ", ".join(f"{t} {len(data['labels'][t])}" for t in TAXONOMIES)
        + ". Scores: test split, F1 on indicator matrices over all of a taxonomy's "
        "labels (macro = mean of the labels' F1), in %. \"fit s\": skmtl's one fit "
        "for the three taxonomies; a baseline's fits of the chosen C (lr) of every "
        "label (taxonomy), summed; \"with selection s\": also every other fit of the "
        "grid, the dev and test predictions and the threshold search (skmtl: "
        "`tune_thresholds` on dev). One run: times are of this run only."
    )
    if args.quick:
        setup += (f"\n\n**--quick: {QUICK_TRAIN} train / {QUICK_TEST} dev / "
                  f"{QUICK_TEST} test random comments, LR max_iter="
                  f"{LR_MAX_ITER_QUICK}, fastText {QUICK_BUCKET} buckets; the numbers "
                  "only show that the script runs.**")
    report.add(setup)
    report.add("## Macro- and micro-F1 per taxonomy (%), fit times\n\n"
               + main_table(systems, scores))
    if skipped:
        report.add(f"fastText ova: {skipped}")
    else:
        retries = systems["fastText ova, lr + thresholds from dev"]["retries"]
        report.add(f"fastText ova: {retries} training run(s) ended in fastText's "
                   "\"Encountered NaN\"; each was retried with another seed, up "
                   "to the last seed.")
        diverged = systems["fastText ova, lr + thresholds from dev"]["diverged"]
        if diverged:
            report.add("fastText ova diverged on every seed, so left out of the "
                       "lr grid: " + ", ".join(diverged) + ".")
    report.add(
        "## Ranking, thresholds set aside\n\n"
        "How well each system's scores rank the comments for each label, "
        "apart from where its threshold falls: the dev and test comments "
        f"({n['dev'] + n['test']}) are split at random into two halves "
        f"{N_HALVINGS} times; each label's threshold is the one of best F1 on "
        "one half, scored on the other half (a dev split of the same size for "
        "every system), or the best threshold of that other half. Macro-F1 "
        "(%), means over the halvings; the models are those of the table "
        "above (a baseline's C chosen on dev, so the halves that hold dev "
        "comments favour it slightly).\n\n" + ranking_table(data, systems))
    report.add("## Parameters chosen on dev (number of labels, or lr per "
               "taxonomy)\n\n" + choices_table(systems))
    report.add("## F1 per label (%), test\n\n" + per_label_table(data, systems, scores))
    report.add(targets_section(verdict_rows(systems, scores), args.quick)
               + "\n\n" + best_baseline_line(systems, scores), head=True)
    report.add(runtime_line(time.perf_counter() - start))
    report.save()
    return report


if __name__ == "__main__":
    main()
