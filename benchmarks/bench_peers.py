"""skmtl side by side with its peers, in the same run, on the real corpora.

The question: is one skmtl model for all tasks at least as accurate as the
usual per-task models, and faster to train than fastText?

For each corpus (FDU-MTL, 20 Newsgroups, TREC) and each system

* ``skmtl`` -- ``TfidfVectorizer`` (reference settings) + ``MultiTaskTextClassifier
  (random_state=0)``, one model for all tasks;
* ``skmtl tuned`` -- the same with vectorizer and model settings chosen on a dev
  split (FDU-MTL's dev split; for 20 Newsgroups and TREC a stratified 20 % of
  train held out), then refitted on all of train;
* ``LR per task`` -- one ``TfidfVectorizer`` + ``LogisticRegression`` per task
  (the reference baseline's protocol, see ``README.md``: C chosen on dev where
  a dev split exists, else C=10);
* ``SGD per task`` -- ``SGDClassifier(loss="log_loss", max_iter=10, tol=None)``
  per task on the shared vectorizer (``MultiOutputClassifier`` where every
  document has every label; on FDU-MTL one classifier per task on its labelled
  rows, since ``MultiOutputClassifier`` cannot take missing labels);
* ``LR pooled`` (FDU-MTL only) -- one ``LogisticRegression`` over all 16 domains
  (they share the label space), C chosen on dev;
* ``fastText`` -- ``fasttext.train_supervised`` per task at skmtl's dimension
  (32), epochs (10), word n-grams (2) and thread count (1), lr chosen on dev
  (left out, with the reason in the report, when ``fasttext`` is not installed:
  ``pip install -e ".[bench]"``),

every fit runs in a fresh subprocess (so that peak memory, C++ allocations
included, is that of one system) and is repeated; the report gives test accuracy
and macro-F1 per task, fit time and predict throughput end to end (vectorizer
included) and model only, peak RSS, ratios peer / skmtl, the kernel's floor
(one epoch / one ``X @ W``, as in ``bench_epoch.py``) and PASS/MISS against the
targets of ``results/README.md``.

Run from the repository root::

    python benchmarks/bench_peers.py            # full run, ~25 minutes on 2 cores
    python benchmarks/bench_peers.py --quick    # toy sizes, about a minute

BLAS/OpenMP are pinned to one thread (by ``_common``, before numpy is imported,
and ``threadpoolctl.threadpool_limits(1)`` around the work).
"""

import argparse
import gc
import json
import pickle
import tempfile
import time
import warnings
from pathlib import Path

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    EPOCHS,
    FASTTEXT_THREADS,
    N_COMPONENTS,
    QUICK_TEST,
    QUICK_TRAIN,
    WORD_NGRAMS,
    Report,
    add_common_options,
    command_line,
    fasttext_line,
    fasttext_missing,
    fit_fasttext,
    in_subprocess,
    labelled,
    machine_lines,
    md_table,
    output_path,
    pct,
    peak_mb,
    question,
    reset_peak,
    rss_mb,
    runtime_line,
    scores,
    subsample,
    targets,
    targets_section,
    vectorizer,
    verdict,
    worker_main,
)

# isort: split
import _corpora
import numpy as np
from _epoch import run_dtype
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.multioutput import MultiOutputClassifier
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskTextClassifier

NAME = "bench_peers"
HERE = Path(__file__).resolve()
CORPUS_TITLES = _corpora.TITLES
SYSTEMS = {
    "skmtl": "skmtl defaults",
    "skmtl_tuned": "skmtl tuned (dev)",
    "lr_per_task": "LR per task",
    "sgd_per_task": "SGD per task",
    "lr_pooled": "LR pooled (all domains)",
    "fasttext": "fastText per task",
}
PEERS = ["lr_per_task", "sgd_per_task", "lr_pooled", "fasttext"]
# Published results (mean test accuracy, %; sources in benchmarks/README.md).
PUBLISHED_FDU = [
    ("single-task LSTM (Liu, Qiu, Huang, ACL 2017, Table 2)", 81.8),
    ("single-task BiLSTM (same table)", 82.6),
    ("MT-DNN, bag-of-words MLP with a shared layer (same table)", 84.3),
    ("FS-MTL (same table)", 84.7),
    ("SP-MTL (same table)", 85.1),
    ("ASP-MTL, adversarial shared-private (same table)", 86.1),
    ("reference baseline, per-task TF-IDF + LR, C on dev", 84.73),
]
PUBLISHED_OTHER = {
    name: _corpora.REFERENCE_BASELINE[name]["acc"] for name in ("news20", "trec")
}
# Hyper-parameter grids, chosen on dev only (never on test).
C_GRID = [1.0, 10.0, 100.0]
FASTTEXT_LR_GRID = [0.25, 0.5, 1.0]
# skmtl grid: a vectorizer (overrides of REF_VECTORIZER) x model settings. Every
# point is fitted on train and scored (mean accuracy over tasks) on dev.
SKMTL_VECTORIZERS = [{"min_df": 1}, {"ngram_range": (1, 3)}]
SKMTL_GRID = [
    {},
    {"n_components": 64},
    {"n_components": 128},
    {"activation": "tanh"},
    {"max_iter": 20},
    {"private": True},
]
QUICK_SKMTL_GRID = [{}, {"n_components": 16}]
# 20 Newsgroups' per-task LR alone takes ~20 s on 300 toy messages: not in --quick.
QUICK_CORPORA = "fdu_mtl,trec"
HOLDOUT = 0.2


def pooled_target(Y):
    """One label per row (FDU-MTL: exactly one task labelled)."""
    out = np.empty(len(Y), dtype=object)
    for i, row in enumerate(Y):
        out[i] = next(v for v in row if v is not None)
    return out


class System:
    """fit(train_texts, Y) and predict(texts) -> Y_pred, with the time split.

    ``fit`` returns the model-only part of its time; ``predict_model`` predicts
    from the precomputed inputs (``prepare``), timing the model alone.
    """

    def __init__(self, name, corpus, params, quick, cache=None):
        self.name, self.corpus, self.params, self.quick = name, corpus, params, quick
        self.retries = 0
        # Selection on dev only: fitted vectorizers and matrices shared between
        # the grid's points (key: vectorizer settings and which texts).
        self.cache = cache

    def _vectorize(self, params, texts, key):
        """(fitted vectorizer, fit_transform(texts)), from the cache if any."""
        full = (json.dumps(params or {}, sort_keys=True), *key)
        if self.cache is not None and full in self.cache:
            return self.cache[full]
        vec = vectorizer(params, self.quick)
        out = vec, vec.fit_transform(texts)
        if self.cache is not None:
            self.cache[full] = out
        return out

    def _transform(self, vec, texts, key):
        full = ("transform", id(vec), *key)
        if self.cache is not None and full in self.cache:
            return self.cache[full]
        X = vec.transform(texts)
        if self.cache is not None:
            self.cache[full] = X
        return X

    # --- shared-vectorizer systems: skmtl, SGD, pooled LR
    def fit(self, texts, Y):
        name, p = self.name, self.params
        self.n_tasks = Y.shape[1]
        if name == "fasttext":
            return self._fit_fasttext(texts, Y)
        if name == "lr_per_task":
            return self._fit_lr_per_task(texts, Y)
        self.vec, X = self._vectorize(p.get("vectorizer"), texts, ("all",))
        tic = time.perf_counter()
        if name in ("skmtl", "skmtl_tuned"):
            self.model = MultiTaskTextClassifier(
                random_state=0, **p.get("model", {})
            ).fit(X, Y)
        elif name == "sgd_per_task":
            self.rows = [labelled(Y, t) for t in range(self.n_tasks)]
            if all(len(r) == len(Y) for r in self.rows):
                self.model = MultiOutputClassifier(self._sgd()).fit(
                    X, Y.astype(str)
                )
            else:
                self.model = [
                    self._sgd().fit(X[r], Y[r, t].astype(str))
                    for t, r in enumerate(self.rows)
                ]
        elif name == "lr_pooled":
            self.model = LogisticRegression(
                C=p["C"], max_iter=self._lr_max_iter()
            ).fit(X, pooled_target(Y).astype(str))
        else:
            raise ValueError(name)
        return time.perf_counter() - tic

    def _sgd(self):
        return SGDClassifier(
            loss="log_loss", max_iter=EPOCHS, tol=None, random_state=0
        )

    def _lr_max_iter(self):
        return 20 if self.quick else 1000

    def _fit_lr_per_task(self, texts, Y):
        Cs = self.params["C"]
        self.vecs, self.models, model_time = [], [], 0.0
        for t in range(self.n_tasks):
            rows = labelled(Y, t)
            vec, X = self._vectorize(None, [texts[i] for i in rows], ("task", t))
            tic = time.perf_counter()
            lr = LogisticRegression(C=Cs[t], max_iter=self._lr_max_iter())
            lr.fit(X, Y[rows, t].astype(str))
            model_time += time.perf_counter() - tic
            self.vecs.append(vec)
            self.models.append(lr)
        return model_time

    def _fit_fasttext(self, texts, Y):
        self.models, model_time, self.retries = fit_fasttext(
            texts, Y, self.params["lr"], self.quick
        )
        return model_time

    # --- prediction: rows[t] = the test rows predicted for task t
    def prepare(self, texts, rows):
        """The model's inputs for the test texts (vectorizer or tokenizer)."""
        if self.name == "fasttext":
            lines = [fasttext_line(t) for t in texts]
            return [[lines[i] for i in r] for r in rows]
        if self.name == "lr_per_task":
            return [
                self._transform(vec, [texts[i] for i in r], ("task", t))
                for t, (vec, r) in enumerate(zip(self.vecs, rows))
            ]
        return self._transform(self.vec, texts, ("all",))

    def predict_model(self, inputs, rows, n):
        Y_pred = np.full((n, self.n_tasks), None, dtype=object)
        if self.name == "fasttext":
            for t, (model, lines) in enumerate(zip(self.models, inputs)):
                labels, _ = model.predict(lines)
                Y_pred[rows[t], t] = [lab[0][len("__label__"):] for lab in labels]
        elif self.name == "lr_per_task":
            for t, (model, X) in enumerate(zip(self.models, inputs)):
                Y_pred[rows[t], t] = model.predict(X).tolist()
        elif self.name in ("skmtl", "skmtl_tuned"):
            Y_pred[:] = self.model.predict(inputs)
        elif self.name == "sgd_per_task":
            if isinstance(self.model, list):
                for t, model in enumerate(self.model):
                    Y_pred[rows[t], t] = model.predict(inputs[rows[t]]).tolist()
            else:
                Y_pred[:] = self.model.predict(inputs)
        elif self.name == "lr_pooled":
            pred = self.model.predict(inputs)
            for t in range(self.n_tasks):
                Y_pred[rows[t], t] = pred[rows[t]].tolist()
        return Y_pred


def as_str(Y):
    """Labels as str (fastText returns strings), None kept."""
    out = np.full(Y.shape, None, dtype=object)
    mask = Y != None  # noqa: E711
    out[mask] = [str(v) for v in Y[mask]]
    return out


def run_worker(job, cache=None):
    """One fit + predict of one system on one corpus, in this (fresh) process.

    ``cache`` (selection on dev only) shares vectorizers between calls.
    """
    with open(job["data"], "rb") as f:
        data = pickle.load(f)
    part = job.get("part", "test")
    texts, Y = data["train_texts"], data["Y_train"]
    if part == "dev" and "train_sub" in data:  # a held-out part of train
        keep, dev = data["train_sub"], data["dev_rows"]
        test_texts, Y_test = [texts[i] for i in dev], Y[dev]
        texts, Y = [texts[i] for i in keep], Y[keep]
    else:
        test_texts, Y_test = data[f"{part}_texts"], data[f"Y_{part}"]
    system = System(job["system"], job["corpus"], job["params"], job["quick"], cache)
    gc.collect()
    exact = reset_peak()
    base = rss_mb()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        model_fit = system.fit(texts, Y)
        fit = time.perf_counter() - tic
        fit_peak = peak_mb() - base
        # Per-task systems predict each task's labelled rows only; skmtl predicts
        # every task for every test document.
        rows = [labelled(Y_test, t) for t in range(Y_test.shape[1])]
        tic = time.perf_counter()
        inputs = system.prepare(test_texts, rows)
        Y_pred = system.predict_model(inputs, rows, len(Y_test))
        predict = time.perf_counter() - tic
        tic = time.perf_counter()
        system.predict_model(inputs, rows, len(Y_test))
        predict_model = time.perf_counter() - tic
    acc, f1 = scores(as_str(Y_test), as_str(Y_pred))
    return {
        "fit": fit,
        "fit_model": model_fit,
        "predict": predict,
        "predict_model": predict_model,
        "n_test": len(test_texts),
        "peak_mb": fit_peak,
        "peak_exact": exact,
        "retries": system.retries,
        "acc": acc.tolist(),
        "f1": f1.tolist(),
    }


# ----------------------------------------------------------------- data


def prepare_data(name, quick, tmp):
    """Load a corpus (and its dev part), pickle it for the workers."""
    data = _corpora.CORPORA[name]()
    if name == "fdu_mtl":
        dev = _corpora.load_fdu_mtl(dev=True)
        data["dev_texts"], data["Y_dev"] = dev["test_texts"], dev["Y_test"]
    if quick:
        small = data
        if name == "fdu_mtl":  # the same train rows, dev rows in place of test
            dev = {**data, "test_texts": data["dev_texts"], "Y_test": data["Y_dev"]}
            small = subsample(dev, QUICK_TRAIN, QUICK_TEST)
        data = subsample(data, QUICK_TRAIN, QUICK_TEST)
        if name == "fdu_mtl":
            data["dev_texts"], data["Y_dev"] = small["test_texts"], small["Y_test"]
    if name != "fdu_mtl":
        # A stratified part of train held out for choosing parameters.
        Y = data["Y_train"]
        index = np.arange(len(Y))
        strat = Y[:, 0].astype(str)
        counts = {v: (strat == v).sum() for v in set(strat)}
        if min(counts.values()) < 2:
            strat = None
        keep, dev = train_test_split(
            index, test_size=HOLDOUT, random_state=0, stratify=strat
        )
        data["train_sub"], data["dev_rows"] = np.sort(keep), np.sort(dev)
    path = Path(tmp) / f"{name}.pkl"
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    return data, path


# ----------------------------------------------------------------- selection


def dev_score(job, cache):
    """Fit on train (or its kept part), score on dev; in this process."""
    res = run_worker({**job, "part": "dev"}, cache)
    return float(np.mean(res["acc"])), res


def select(name, path, n_tasks, args, tmp, report):
    """Choose every system's parameters on the dev split (never on test)."""
    tic = time.perf_counter()
    job = {"corpus": name, "data": str(path), "quick": args.quick}
    chosen, lines, cache = {}, [], {}

    # skmtl: model settings on the reference features, then the best of them
    # with each alternative vectorizer.
    grid = QUICK_SKMTL_GRID if args.quick else SKMTL_GRID
    rows, scored = [], []

    def try_point(vec, setting):
        params = {"vectorizer": vec, "model": setting}
        acc, res = dev_score({**job, "system": "skmtl_tuned", "params": params}, cache)
        rows.append([label(vec, "vectorizer"), label(setting), pct(acc),
                     f"{res['fit_model']:.1f}"])
        scored.append((acc, params))
        print(f"  {name} dev skmtl {params}: {acc:.2f}", flush=True)

    for setting in grid:
        try_point({}, setting)
    best_model = max(scored, key=lambda p: p[0])[1]["model"]
    for vec in [] if args.quick else SKMTL_VECTORIZERS:
        try_point(vec, best_model)
    # The first of the best (ties keep the earlier, simpler point).
    best = max(scored, key=lambda p: p[0])
    chosen["skmtl_tuned"] = best[1]
    chosen["skmtl"] = {}
    rows[scored.index(best)][2] = f"**{rows[scored.index(best)][2]}**"

    if "fasttext" in args.systems:
        chosen["fasttext"] = select_fasttext(job, args.quick, cache, lines)

    # LR: C on dev where the corpus has a dev split (FDU-MTL), else C=10.
    if name == "fdu_mtl":
        per_task, pooled = {}, {}
        for C in [10.0] if args.quick else C_GRID:
            _, res = dev_score(
                {**job, "system": "lr_per_task", "params": {"C": [C] * n_tasks}},
                cache,
            )
            per_task[C] = res["acc"]
            acc, _ = dev_score(
                {**job, "system": "lr_pooled", "params": {"C": C}}, cache
            )
            pooled[C] = acc
        Cs = list(per_task)
        acc = np.array([per_task[C] for C in Cs])  # (n_C, n_tasks)
        chosen["lr_per_task"] = {"C": [Cs[i] for i in acc.argmax(axis=0)]}
        chosen["lr_pooled"] = {"C": max(pooled, key=pooled.get)}
        lines.append(
            "LR per task, C per task on dev from "
            f"{Cs}: mean dev accuracy of the chosen Cs "
            f"{pct(acc.max(axis=0).mean())}; chosen C per task "
            + ", ".join(f"{C:g}" for C in chosen["lr_per_task"]["C"])
        )
        lines.append(
            "LR pooled, C on dev: "
            + ", ".join(f"C={C:g}: {pct(a)}" for C, a in pooled.items())
            + f" → **C={chosen['lr_pooled']['C']:g}**"
        )
    else:
        chosen["lr_per_task"] = {"C": [10.0] * n_tasks}
        lines.append("LR per task: C=10 (the protocol; this corpus has no dev split)")
    chosen["sgd_per_task"] = {}
    where = (
        "FDU-MTL's dev split (200 documents per domain)"
        if name == "fdu_mtl"
        else f"a stratified {HOLDOUT:.0%} of train held out (fitted on the other "
        f"{1 - HOLDOUT:.0%})"
    )
    report.add(
        f"### Parameters chosen on dev, {name}\n\n"
        f"Dev = {where}; mean dev accuracy over tasks (%). The chosen setting is "
        "then refitted on all of train and scored once on test. "
        f"Selection took {time.perf_counter() - tic:.0f} s.\n\n"
        + md_table(["vectorizer", "skmtl setting", "dev acc %", "model fit s (1 run)"],
                   rows, "llrr")
        + "\n\n"
        + "\n".join(f"- {ln}" for ln in lines)
    )
    return chosen


def select_fasttext(job, quick, cache, lines):
    """fastText's learning rate on dev; appends the scores to ``lines``."""
    # --quick: fastText's own default lr. At 0.5, one local run of the smoke test
    # had fastText raise "Encountered NaN" on toy TREC with all four seeds.
    lr_grid = [0.1] if quick else FASTTEXT_LR_GRID
    ft = {}
    for lr in lr_grid:
        acc, _ = dev_score({**job, "system": "fasttext", "params": {"lr": lr}}, cache)
        ft[lr] = acc
    best = max(ft, key=ft.get)
    lines.append(
        "fastText lr on dev: "
        + ", ".join(f"lr={lr}: {pct(a)}" for lr, a in ft.items())
        + f" → **lr={best}**"
    )
    return {"lr": best}


def label(setting, what="setting"):
    if not setting:
        return "reference" if what == "vectorizer" else "defaults"
    return ", ".join(f"{k}={v!r}" for k, v in setting.items())


# ----------------------------------------------------------------- report


def med(results, key):
    return float(np.median([r[key] for r in results]))


def fmt_s(results, key):
    vals = np.array([r[key] for r in results])
    if vals.size == 1:
        return f"{vals[0]:.2f}"
    return f"{np.median(vals):.2f} ({vals.min():.2f}–{vals.max():.2f})"


def corpus_tables(name, data, systems, results, chosen, report):
    tasks = list(data["task_names"])
    first = {s: results[s][0] for s in systems}
    n_train, n_test = len(data["train_texts"]), len(data["test_texts"])

    headers = ["task"] + [SYSTEMS[s] for s in systems]
    if name in PUBLISHED_OTHER:
        headers.insert(1, "published LR")
    for metric, key in [("Accuracy", "acc"), ("Macro-F1", "f1")]:
        rows = []
        for t, task in enumerate(tasks):
            vals = [first[s][key][t] for s in systems]
            best = max(vals)
            row = [task] + [
                f"**{pct(v)}**" if v == best else pct(v) for v in vals
            ]
            if name in PUBLISHED_OTHER:
                row.insert(1, pct(PUBLISHED_OTHER[name].get(task, np.nan))
                           if key == "acc" else "—")
            rows.append(row)
        means = [float(np.mean(first[s][key])) for s in systems]
        row = ["**mean**"] + [
            f"**{pct(v)}**" if v == max(means) else pct(v) for v in means
        ]
        if name in PUBLISHED_OTHER:
            pub = PUBLISHED_OTHER[name]
            row.insert(1, pct(np.mean(list(pub.values()))) if key == "acc" else "—")
        rows.append(row)
        report.add(f"### {metric} (%) per task, {name}\n\n" + md_table(headers, rows))

    base = results["skmtl"]
    rows = []
    for s in systems:
        res = results[s]
        rows.append(
            [
                SYSTEMS[s],
                pct(np.mean(first[s]["acc"])),
                pct(np.mean(first[s]["f1"])),
                fmt_s(res, "fit"),
                fmt_s(res, "fit_model"),
                f"{med(res, 'fit') / med(base, 'fit'):.2f}",
                f"{med(res, 'n_test') / med(res, 'predict'):,.0f}",
                f"{med(res, 'n_test') / med(res, 'predict_model'):,.0f}",
                f"{med(base, 'predict') / med(res, 'predict'):.2f}",
                f"{med(res, 'peak_mb'):,.0f}",
                f"{med(res, 'peak_mb') / max(med(base, 'peak_mb'), 1e-9):.2f}",
            ]
        )
    report.add(
        f"### Summary, {name}\n\n"
        f"{n_train} train / {n_test} test documents; {len(results['skmtl'])} run(s) "
        "per system, each in a fresh process; times are medians (min–max).\n\n"
        + md_table(
            [
                "system",
                "mean acc %",
                "mean macro-F1 %",
                "fit s, end to end",
                "fit s, model only",
                "fit time / skmtl's",
                "predict docs/s, end to end",
                "predict docs/s, model only",
                "predict time / skmtl's",
                "peak RSS MB (fit)",
                "peak / skmtl's",
            ],
            rows,
        )
    )
    params = []
    for s in systems:
        p = chosen.get(s, {})
        if s == "lr_per_task":
            Cs = sorted(set(p["C"]))
            text = f"C={Cs[0]:g}" if len(Cs) == 1 else (
                "C per task (dev): " + ", ".join(
                    f"{t} {c:g}" for t, c in zip(tasks, p["C"])))
        elif s in ("skmtl", "skmtl_tuned"):
            text = (f"vectorizer {label(p.get('vectorizer'), 'vectorizer')}; "
                    f"model {label(p.get('model'))}")
        else:
            text = label(p) if p else "as described above"
        params.append(f"- {SYSTEMS[s]}: {text}")
    retries = sum(r.get("retries", 0) for res in results.values() for r in res)
    if retries:
        params.append(
            f"- fastText raised \"Encountered NaN\" {retries} time(s) in these runs; "
            "each time the task's model was trained again with the next seed "
            "(the time of the failed attempt is included)."
        )
    report.add("Parameters used on test:\n\n" + "\n".join(params))


def plot_points(measured):
    """{corpus: [(system, median end-to-end fit s, mean test accuracy %)]}."""
    return {
        name: [
            (s, med(m["results"][s], "fit"), float(np.mean(m["results"][s][0]["acc"])))
            for s in m["systems"]
        ]
        for name, m in measured.items()
    }


def plot_accuracy_time(points, path):
    """One panel per corpus: mean test accuracy against end-to-end fit time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    names = list(points)
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.6),
                             squeeze=False)
    style = {s: (f"C{i}", m) for i, (s, m) in enumerate(zip(SYSTEMS, "o*sD^v"))}
    for ax, name in zip(axes[0], names):
        pts = points[name]
        for s, x, y in pts:
            color, marker = style[s]
            ax.scatter(x, y, marker=marker, color=color,
                       s=120 if s.startswith("skmtl") else 70, zorder=3)
        if name == "fdu_mtl":
            ax.axhline(86.1, ls=":", c="gray")
            ax.annotate("ASP-MTL 86.1 (published)", (0.02, 86.1),
                        xycoords=("axes fraction", "data"), fontsize=8,
                        color="gray", va="bottom")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        lo, hi = min(p[1] for p in pts), max(p[1] for p in pts)
        ax.set_xlim(lo / 2.5, hi * 2.5)
        ax.set_xlabel("fit time, end to end (s, log scale; median)")
        ax.set_ylabel("mean test accuracy over tasks (%)")
        ax.set_title(CORPUS_TITLES[name].split(" (")[0])
        ax.grid(alpha=0.3)
    handles = [
        plt.Line2D([], [], ls="", marker=style[s][1], color=style[s][0],
                   markersize=9, label=SYSTEMS[s])
        for s in SYSTEMS if any(s == p[0] for pts in points.values() for p in pts)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles),
               frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- kernel floor


def kernel_floor(quick, repeats, report):
    """bench_epoch.py's measurements on the FDU-MTL training matrix."""
    data = _corpora.load_fdu_mtl()
    if quick:
        data = subsample(data, QUICK_TRAIN, QUICK_TEST)
    X = vectorizer(None, quick).fit_transform(data["train_texts"])
    rows, verdict = [], None
    for dtype in (np.float64, np.float32):
        res = run_dtype(X, data["Y_train"], dtype, repeats)
        floor = np.median(res["product"])
        r_epoch = np.median(res["epoch"]) / floor
        r_kernel = np.median(res["kernel"]) / floor
        rows.append([
            res["dtype"],
            f"{1e3 * np.median(res['epoch']):.1f}",
            f"{1e3 * np.median(res['kernel']):.1f}",
            f"{1e3 * floor:.1f}",
            f"{r_epoch:.2f}",
            f"{np.median(res['epoch'] / res['product']):.2f}",
            f"{r_kernel:.2f}",
        ])
        if verdict is None:  # float64, the first dtype
            verdict = (r_kernel, r_epoch)
    report.add(
        "## The kernel's floor: one epoch / one X @ W\n\n"
        "Measured as in `bench_epoch.py` (see `bench_epoch.md` for the "
        "definitions) on the FDU-MTL training matrix "
        f"({X.shape[0]} × {X.shape[1]}, {X.nnz / X.shape[0]:.1f} non-zeros per row), "
        f"default model (k = {N_COMPONENTS}); medians of {repeats} round-robin "
        "run(s), ms. One epoch = one `partial_fit` (validation included); kernel = "
        "the Cython `sgd_epoch` alone.\n\n"
        + md_table(
            ["dtype", "epoch ms", "kernel ms", "X @ W ms", "epoch / (X@W)",
             "median paired ratio", "kernel / (X@W)"],
            rows,
        )
    )
    return verdict


# ----------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=None,
                        help="comma-separated subset of fdu_mtl,news20,trec "
                        "(default all three; with --quick fdu_mtl,trec)")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated subset of " + ",".join(SYSTEMS))
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits per (system, corpus), each in a fresh process")
    parser.add_argument("--kernel-repeats", type=int, default=7,
                        help="timed rounds of the kernel-floor measurement")
    parser.add_argument("--no-kernel", action="store_true",
                        help="skip the kernel-floor measurement")
    add_common_options(parser, f"toy sizes ({QUICK_TRAIN} train / {QUICK_TEST} test "
                       "docs per corpus, min_df=1, tiny grids, one repeat)")
    args = parser.parse_args(argv)
    if args.worker:
        return args
    if args.corpora is None:
        args.corpora = QUICK_CORPORA if args.quick else "fdu_mtl,news20,trec"
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if set(args.corpora) - set(_corpora.CORPORA) or not args.corpora:
        parser.error(f"--corpora: choose from {sorted(_corpora.CORPORA)}")
    if set(args.systems) - set(SYSTEMS) or "skmtl" not in args.systems:
        parser.error(f"--systems: choose from {list(SYSTEMS)}, skmtl included")
    # A peer whose package is absent is left out, and the report says why.
    args.skipped = {}
    if "fasttext" in args.systems and fasttext_missing():
        args.systems.remove("fasttext")
        args.skipped["fasttext"] = fasttext_missing()
    if args.quick:
        args.repeats, args.kernel_repeats = 1, 1
    if args.repeats < 1 or args.kernel_repeats < 1:
        parser.error("--repeats and --kernel-repeats must be at least 1")
    return args


def verdicts(measured, kernel_ratio, quick):
    """The PASS/MISS section, against the targets of results/README.md."""
    target, rows = targets(), []
    for name, m in measured.items():
        if "skmtl_tuned" not in m["results"]:
            continue
        first = {s: np.mean(m["results"][s][0]["acc"]) for s in m["systems"]}
        peers = {s: a for s, a in first.items() if s in PEERS}
        if peers:
            best = max(peers, key=peers.get)
            ok = first["skmtl_tuned"] >= peers[best]
            rows.append([
                f"{name}: tuned skmtl at least as accurate as the best peer "
                "(mean test accuracy)",
                f"{pct(first['skmtl_tuned'])} vs {SYSTEMS[best]} {pct(peers[best])}"
                f" ({first['skmtl_tuned'] - peers[best]:+.2f})",
                verdict(ok),
            ])
    if "fdu_mtl" in measured and "skmtl_tuned" in measured["fdu_mtl"]["results"]:
        acc = np.mean(measured["fdu_mtl"]["results"]["skmtl_tuned"][0]["acc"])
        rows.append([
            f"FDU-MTL: tuned skmtl ≥ {target['fdu_tuned_accuracy']:.1f} % mean test "
            "accuracy",
            f"{pct(acc)} % (defaults "
            f"{pct(np.mean(measured['fdu_mtl']['results']['skmtl'][0]['acc']))} %)",
            verdict(acc >= target["fdu_tuned_accuracy"]),
        ])
    for name, m in measured.items():
        if "fasttext" not in m["results"]:
            continue
        sk, ft = med(m["results"]["skmtl"], "fit"), med(m["results"]["fasttext"], "fit")
        rows.append([
            f"{name}: skmtl end-to-end fit (all tasks) faster than one fastText "
            f"model per task (dim {N_COMPONENTS}, {EPOCHS} epochs, {FASTTEXT_THREADS} "
            "thread)",
            f"skmtl {sk:.2f} s vs fastText {ft:.2f} s ({ft / sk:.2f}×)",
            verdict(sk < ft),
        ])
    if kernel_ratio is not None:
        r_kernel, r_epoch = kernel_ratio
        rows.append([
            f"Kernel floor: the kernel's epoch (`sgd_epoch` alone) / one X @ W ≤ "
            f"{target['kernel_over_product']} (FDU-MTL, float64)",
            f"{r_kernel:.2f} (a whole `partial_fit` epoch, validation and target "
            f"encoding included: {r_epoch:.2f})",
            verdict(r_kernel <= target["kernel_over_product"]),
        ])
    return targets_section(rows, quick)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(run_worker, args.worker)
    start = time.perf_counter()
    command = command_line(__file__, argv)
    report = Report(output_path(args, NAME, ".md"))
    report.add("# skmtl side by side with its peers" + (" (--quick)" if args.quick
                                                        else ""), head=True)
    report.add(question(__doc__), head=True)
    report.add("\n".join(machine_lines(command, ("fasttext-numpy2", "psutil"))),
               head=True)
    report.add(description(args), head=True)
    for system, reason in args.skipped.items():
        report.add(f"**{SYSTEMS[system]}: {reason}.**", head=True)
    if args.quick:
        report.add(f"**--quick: {QUICK_TRAIN} train / {QUICK_TEST} test random "
                   "documents per corpus, min_df=1, one run, tiny grids; numbers "
                   "are toy-size smoke tests.**", head=True)
    measured = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        prepared = {}
        for name in args.corpora:
            prepared[name] = prepare_data(name, args.quick, tmp)
            systems = [s for s in args.systems
                       if s != "lr_pooled" or name == "fdu_mtl"]
            n_tasks = prepared[name][0]["Y_train"].shape[1]
            report.add(f"## {CORPUS_TITLES[name]}")
            chosen = select(name, prepared[name][1], n_tasks, args, tmp, report)
            measured[name] = {"systems": systems, "chosen": chosen,
                              "results": {s: [] for s in systems}}
            report.save()
        # Timed runs: round-robin over corpora and systems, so that a change of
        # the machine's load hits every system alike.
        for r in range(args.repeats):
            for name in args.corpora:
                m = measured[name]
                for s in m["systems"]:
                    job = {"corpus": name, "system": s, "data": str(prepared[name][1]),
                           "params": m["chosen"].get(s, {}), "quick": args.quick}
                    res = in_subprocess(HERE, job)
                    m["results"][s].append(res)
                    print(f"run {r + 1}/{args.repeats} {name} {s}: acc "
                          f"{np.mean(res['acc']):.2f} fit {res['fit']:.2f} s "
                          f"peak {res['peak_mb']:.0f} MB", flush=True)
        for name in args.corpora:
            m = measured[name]
            report.add(f"## Results, {CORPUS_TITLES[name]}")
            if name == "fdu_mtl":
                report.add(published_fdu(m))
            corpus_tables(name, prepared[name][0], m["systems"], m["results"],
                          m["chosen"], report)
        kernel_ratio = None
        if not args.no_kernel:
            kernel_ratio = kernel_floor(args.quick, args.kernel_repeats, report)
    plot = output_path(args, f"{NAME}_accuracy_time", ".png")
    plot.parent.mkdir(parents=True, exist_ok=True)
    plot_accuracy_time(plot_points(measured), plot)
    raw = output_path(args, NAME, ".json")
    raw.write_text(json.dumps(measured, indent=1, default=float))
    report.add(f"![Accuracy against fit time]({plot.name})")
    report.add(f"Every run's measurements: `{raw.name}`.")
    report.add(verdicts(measured, kernel_ratio, args.quick), head=True)
    report.add(runtime_line(time.perf_counter() - start))
    report.save()
    print(f"Written to {report.path}")


def published_fdu(m):
    rows = [[name, f"{acc:.2f}"] for name, acc in PUBLISHED_FDU]
    rows += [
        [f"**{SYSTEMS[s]} (this run)**",
         f"**{pct(np.mean(m['results'][s][0]['acc']))}**"]
        for s in m["systems"]
    ]
    rows.sort(key=lambda r: float(r[1].strip("*")))
    return ("### FDU-MTL against the published table\n\n"
            "Mean test accuracy over the 16 domains (%), published numbers (their "
            "sources: `benchmarks/README.md`), this run's systems in bold.\n\n"
            + md_table(["system", "mean acc %"], rows))


def description(args):
    return (
        "Every (system, corpus) fit runs in a fresh Python process: the process "
        "loads the corpus, resets its peak-RSS counter (`/proc/self/clear_refs`), "
        "records its RSS, fits (end to end: vectorizer or fastText's file writing "
        "and training included), and reports the peak RSS during the fit minus the "
        "RSS before it (so C++ allocations of fastText count), then predicts the "
        "test documents end to end (vectorizer / tokenizer included) and again "
        "from the prepared inputs (model only). "
        f"Runs: {args.repeats} per (system, corpus), round-robin over systems; "
        "times are medians, accuracy and macro-F1 are those of the first run "
        "(every system is seeded). Per-task systems predict each task on its "
        "labelled test rows; skmtl predicts every task for every test document.\n\n"
        f"- **skmtl defaults**: `TfidfVectorizer(sublinear_tf=True, ngram_range="
        f"(1, 2), min_df=2)` on all training texts + `MultiTaskTextClassifier("
        f"random_state=0)` (n_components={N_COMPONENTS}, max_iter='auto': 20 "
        "epochs on FDU-MTL's domains of about 1,400 reviews, 10 on the others).\n"
        "- **skmtl tuned (dev)**: vectorizer and model settings chosen on dev from "
        "the grid in the tables below (never on test), refitted on all of train.\n"
        "- **LR per task**: one `TfidfVectorizer` (same settings) + "
        "`LogisticRegression(max_iter=1000)` per task on that task's labelled "
        "training texts; C chosen per task on dev for FDU-MTL, C=10 elsewhere "
        "(the reference baseline's protocol, see `benchmarks/README.md`).\n"
        "- **SGD per task**: the shared vectorizer + `SGDClassifier(loss="
        f"\"log_loss\", max_iter={EPOCHS}, tol=None, random_state=0)` per task: "
        "`MultiOutputClassifier` on 20 Newsgroups and TREC (every document has "
        "every label); on FDU-MTL, where `MultiOutputClassifier` cannot take the "
        "missing labels, one `SGDClassifier` per task fitted on that task's "
        "labelled rows.\n"
        "- **LR pooled** (FDU-MTL only): the shared vectorizer + one "
        "`LogisticRegression` over all 16 domains' training rows (they share the "
        "label space), C chosen on dev.\n"
        f"- **fastText per task**: `fasttext.train_supervised(dim={N_COMPONENTS}, "
        f"epoch={EPOCHS}, wordNgrams={WORD_NGRAMS}, thread={FASTTEXT_THREADS}, "
        "seed=0)` "
        "(other parameters at fastText's defaults: bucket=2,000,000, minCount=1, "
        "softmax loss) per task, lr chosen on dev; the texts are lower-cased and "
        "split with TfidfVectorizer's token pattern, then written, in a seeded "
        "random order (fastText does not shuffle its input; 20 Newsgroups is sorted "
        "by class), to one training file per task in a temporary folder (timed in "
        "the end-to-end fit; "
        "\"model only\" = the `train_supervised` calls, which read the file and "
        "build the dictionary themselves). Prediction: `model.predict(list)`."
    )


if __name__ == "__main__":
    main()
