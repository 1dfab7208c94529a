"""skmtl defaults against per-task linear baselines on a panel of corpora.

The question: on every kind of multi-task corpus we have, is one
``MultiTaskTextClassifier`` at default settings at least as good as the best
per-task linear model (LogisticRegression or LinearSVC, C chosen on a dev split,
class weights balanced or not)?

Corpora (read from ``$SKMTL_DATA``, else ``../shared/data`` beside the repo):

- ``fdu_mtl``: 16 binary sentiment domains, one labelled task per review; accuracy.
- ``news20``: 20 Newsgroups, 20-way and 6-way tasks on every message; accuracy.
- ``trec``: TREC questions, 6 coarse and 50 fine types on every question; accuracy.
- ``goemotions``: GoEmotions' 7 Ekman labels, each a binary task on every
  comment; F1 of the positive class (their mean is the labels' macro-F1).
- ``mixed``: a long-format corpus built from the four, with tasks of very
  different sizes and unrelated label spaces: 4 FDU-MTL domains subsampled to
  50, 200, 600 and 1,400 reviews, TREC coarse and fine (1,500 questions), 20
  Newsgroups top6 (2,000 messages) and 3 Ekman labels as binary tasks (3,000
  comments); each document is labelled only for its source's tasks. Each task
  is scored with its source's metric.
- ``goemotions_nested``: GoEmotions' comments as three nested tasks, the way
  hierarchical schemes (offensive, then targeted, then at whom) label tweets:
  ``emotional`` (neutral or emotional, every comment that is clearly one),
  ``polarity`` (positive, negative or ambiguous, the emotional comments of one
  sentiment group) and ``negative_emotion`` (anger, disgust, fear or sadness,
  the negative comments with one Ekman emotion); the deeper tasks are smaller
  and more imbalanced (``negative_emotion``: 4,293 / 2,326 / 541 / 498
  training comments). Macro-F1 per task, the measure of such schemes.
- ``news20_topics``: 20 Newsgroups' messages with each newsgroup as a binary
  topic task on every message (about 5 % positive each), the shape of news
  corpora tagged with many topics (Reuters-21578's 90 categories); F1 of the
  positive class (their mean is the topics' macro-F1).
- ``goemotions_single``: GoEmotions' comments with exactly one emotion (the
  others unlabelled), as three multiclass tasks of 28, 7 and 4 classes, one
  per taxonomy, scored by macro-F1 (GoEmotions' own measure): imbalanced
  multiclass tasks judged on their rare classes, the shape of tweet emoji or
  emotion tasks (36,308 training comments; ``ekman``: 12,920 joy, 12,823
  neutral and 498 disgust).
- ``news20_rare_topics``: ``news20_topics`` with six topics made rare in
  training: their newsgroups cut to 3, 5, 10, 20, 40 and 80 training
  messages (8,056 in all), the test split whole. Most of a news corpus's
  topics are rare; their F1 decides its macro-F1.

skmtl's scores are means over ``--seeds`` fits (``random_state`` 0, 1 and 2
by default): one fit's score on TREC's 500 test questions moves by about a
point with the seed. Besides its defaults (the verdict's row), skmtl runs with
``prior_correction=0``, with ``class_weight='balanced'`` and with
``loss='log_loss'`` (the log loss for multiclass tasks too), and a second table per
corpus gives skmtl's macro-F1 over each task's classes.

Every system sees the same ``TfidfVectorizer(sublinear_tf=True,
ngram_range=(1, 2), min_df=2)`` fitted on the corpus's training texts. A
baseline's C is chosen per task on the dev split (FDU-MTL's and GoEmotions'
own; a held-out 20 % of train elsewhere, then refitted on all of train). skmtl
never sees the dev split's labels. Run from the repository root::

    python benchmarks/bench_panel.py               # all corpora (about 40 min)
    python benchmarks/bench_panel.py --corpora trec,mixed
    python benchmarks/bench_panel.py --quick       # toy sizes, about 2 min

BLAS/OpenMP are pinned to one thread (by ``_common``, before numpy is imported,
and ``threadpoolctl.threadpool_limits(1)`` around the work). Fit times are the
models' fits only (the vectorizer excluded), summed over a baseline's tasks.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    Report,
    add_common_options,
    command_line,
    machine_lines,
    output_path,
    question,
    runtime_line,
    targets,
    targets_section,
    vectorizer,
    verdict,
)
from _corpora import _rows as rows_of

# isort: split
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskTextClassifier

BASELINES = {
    "LR": (LogisticRegression, {"max_iter": 1000}, [1.0, 10.0, 100.0]),
    "LinearSVC": (LinearSVC, {}, [0.1, 1.0, 10.0]),
}


# --------------------------------------------------------------------------
# Corpora: each is a dict with train/test texts and object label matrices
# (None = missing), optional dev texts/labels, task names and task metrics.

def _split(rows, split):
    return [r for r in rows if r["split"] == split]


def _matrix(rows, tasks, cell):
    return np.array([[cell(r, t) for t in tasks] for r in rows], dtype=object)


def _wide(name, tasks, metric, cell=lambda r, t: r[t], dev_split=None):
    rows = rows_of(name)
    out = {"task_names": list(tasks), "metrics": [metric] * len(tasks)}
    for part in ("train", "test") + ((dev_split,) if dev_split else ()):
        picked = _split(rows, part)
        key = "dev" if part == dev_split else part
        out[f"{key}_texts"] = [r["text"] for r in picked]
        out[f"Y_{key}"] = _matrix(picked, tasks, cell)
    return out


def load_fdu_mtl():
    rows = rows_of("fdu_mtl")
    tasks = sorted({r["task"] for r in rows})
    out = {"task_names": tasks, "metrics": ["accuracy"] * len(tasks)}
    for part in ("train", "dev", "test"):
        picked = _split(rows, part)
        out[f"{part}_texts"] = [r["text"] for r in picked]
        out[f"Y_{part}"] = _matrix(
            picked, tasks, lambda r, t: int(r["label"]) if r["task"] == t else None
        )
    return out


EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]


def load_goemotions():
    tasks = [f"ekman:{e}" for e in EKMAN]
    return _wide("goemotions", tasks, "f1_positive",
                 cell=lambda r, t: int(t.split(":")[1] in r["ekman"]),
                 dev_split="dev")


NEGATIVE_EKMAN = ["anger", "disgust", "fear", "sadness"]


def _nested_cell(row, task):
    """A comment's label in one task of the nested corpus (None: not asked)."""
    group, ekman = row["group"], row["ekman"]
    if task == "emotional":
        if group == ["neutral"]:
            return "neutral"
        return None if "neutral" in group else "emotional"
    if group == ["neutral"] or len(group) != 1:
        return None
    if task == "polarity":
        return group[0]
    single_negative = len(ekman) == 1 and ekman[0] in NEGATIVE_EKMAN
    return ekman[0] if group == ["negative"] and single_negative else None


def load_goemotions_nested():
    """GoEmotions as a hierarchical annotation scheme with nested missing labels."""
    return _wide("goemotions", ["emotional", "polarity", "negative_emotion"],
                 "f1_macro", cell=_nested_cell, dev_split="dev")


def _single_emotion(row, task):
    """A comment's one emotion in a taxonomy (None: it has several)."""
    return row[task][0] if len(row["original"]) == 1 else None


def load_goemotions_single():
    """GoEmotions' single-emotion comments, one multiclass task a taxonomy."""
    return _wide("goemotions", ["original", "ekman", "group"], "f1_macro",
                 cell=_single_emotion, dev_split="dev")


def load_news20():
    return _wide("news20", ["newsgroup", "top6"], "accuracy")


def load_trec():
    return _wide("trec", ["coarse", "fine"], "accuracy")


def load_news20_topics():
    """20 Newsgroups as 20 binary topic tasks on every message (about 5 %
    positive each): a stand-in for news corpora tagged with many topics."""
    groups = sorted({r["newsgroup"] for r in rows_of("news20")})
    return _wide("news20", groups, "f1_positive",
                 cell=lambda r, group: int(r["newsgroup"] == group))


# Training messages kept of ``news20_rare_topics``' first six topics.
RARE_TOPIC_SIZES = (3, 5, 10, 20, 40, 80)


def load_news20_rare_topics(topics=None, seed=0):
    """``news20_topics`` (or ``topics``, a copy of it) with its first six
    topics cut to ``RARE_TOPIC_SIZES`` training messages: the other
    messages of those newsgroups leave the training split, the test split
    stays whole: topics as rare as many of Reuters-21578's 90 categories,
    which run from a few training documents to thousands."""
    out = dict(topics or load_news20_topics())
    rng = np.random.default_rng(seed)
    keep = np.ones(len(out["train_texts"]), dtype=bool)
    for t, n in enumerate(RARE_TOPIC_SIZES):
        keep[rng.permutation(np.flatnonzero(out["Y_train"][:, t] == 1))[n:]] = False
    out["train_texts"] = [text for text, k in zip(out["train_texts"], keep) if k]
    out["Y_train"] = out["Y_train"][keep]
    return out


def _long_part(rng, texts, Y, n, tasks, columns):
    """``n`` random rows of one source, as rows of the mixed corpus's matrix."""
    pick = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    block = np.full((len(pick), len(tasks)), None, dtype=object)
    for source_col, name in columns:
        block[:, tasks.index(name)] = Y[pick, source_col]
    return [texts[i] for i in pick], block


def load_mixed(seed=0, scale=1.0):
    """The mixed corpus: tasks of very different sizes, unrelated label spaces.

    ``scale`` multiplies every source's number of rows (for smoke runs).
    """
    rng = np.random.default_rng(seed)
    fdu, trec = load_fdu_mtl(), load_trec()
    news, emo = load_news20(), load_goemotions()
    sizes = {"books": 50, "dvd": 200, "electronics": 600, "kitchen_housewares": 1400}
    plan = [  # (source, train size, test size, [(source column, task name)])
        *[(fdu, n, 400, [(fdu["task_names"].index(d), d)]) for d, n in sizes.items()],
        (trec, 1500, 500, [(0, "trec_coarse"), (1, "trec_fine")]),
        (news, 2000, 1000, [(1, "news_top6")]),
        (emo, 3000, 1500, [(EKMAN.index(e), f"ekman:{e}")
                           for e in ("anger", "joy", "sadness")]),
    ]
    tasks = [name for _, _, _, cols in plan for _, name in cols]
    metrics = ["f1_positive" if t.startswith("ekman") else "accuracy" for t in tasks]
    out = {"task_names": tasks, "metrics": metrics}
    for part, size_at in (("train", 1), ("test", 2)):
        texts, blocks = [], []
        for source, *sizes_, cols in plan:
            labelled = source[f"Y_{part}"]
            source_cols = [c for c, _ in cols]
            rows = np.flatnonzero([any(v is not None for v in row[source_cols])
                                   for row in labelled])
            t, b = _long_part(rng, [source[f"{part}_texts"][i] for i in rows],
                              labelled[rows], max(20, int(scale * sizes_[size_at - 1])),
                              tasks, cols)
            texts += t
            blocks.append(b)
        out[f"{part}_texts"], out[f"Y_{part}"] = texts, np.vstack(blocks)
    return out


CORPORA = {
    "fdu_mtl": load_fdu_mtl,
    "news20": load_news20,
    "trec": load_trec,
    "goemotions": load_goemotions,
    "mixed": load_mixed,
    "goemotions_nested": load_goemotions_nested,
    "news20_topics": load_news20_topics,
    "goemotions_single": load_goemotions_single,
    "news20_rare_topics": load_news20_rare_topics,
}


def _quick(corpus, n_train=400, n_test=200, seed=0):
    """A toy-sized copy of a corpus (rows drawn at random), for smoke runs."""
    rng = np.random.default_rng(seed)
    out = dict(corpus)
    for part, n in (("train", n_train), ("dev", n_test), ("test", n_test)):
        if f"{part}_texts" not in corpus:
            continue
        pick = rng.choice(len(corpus[f"{part}_texts"]), size=n, replace=False)
        out[f"{part}_texts"] = [corpus[f"{part}_texts"][i] for i in pick]
        out[f"Y_{part}"] = corpus[f"Y_{part}"][pick]
    return out


# --------------------------------------------------------------------------
# Scoring

def task_score(metric, y_true, y_pred):
    """One task's score (%) on its labelled entries."""
    if metric == "f1_positive":
        return 100 * f1_score(y_true.astype(int), y_pred.astype(int), zero_division=0)
    if metric == "f1_macro":
        return 100 * f1_score(y_true.astype(str), y_pred.astype(str), average="macro",
                              zero_division=0)
    return 100 * accuracy_score(y_true.astype(str), y_pred.astype(str))


def _labelled(Y, t):
    return np.flatnonzero([v is not None for v in Y[:, t]])


# --------------------------------------------------------------------------
# Systems

def _dev_split(corpus, X_train, seed=0):
    """(X_fit, Y_fit, X_dev, Y_dev, refit): the split a baseline's C is chosen on."""
    if "dev_texts" in corpus:
        return X_train, corpus["Y_train"], corpus["X_dev"], corpus["Y_dev"], False
    n = X_train.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    dev, fit = np.sort(order[: n // 5]), np.sort(order[n // 5:])
    Y = corpus["Y_train"]
    return X_train[fit], Y[fit], X_train[dev], Y[dev], True


def run_baseline(corpus, name, balanced):
    """Per-task model with C chosen on dev; test scores and total fit time."""
    cls, params, grid = BASELINES[name]
    X_fit, Y_fit, X_dev, Y_dev, refit = _dev_split(corpus, corpus["X_train"])
    weight = "balanced" if balanced else None
    scores, fit_seconds, chosen = [], 0.0, []
    for t, metric in enumerate(corpus["metrics"]):
        rows, dev_rows = _labelled(Y_fit, t), _labelled(Y_dev, t)
        best = (-1.0, None, None)
        for C in grid:
            model = cls(C=C, class_weight=weight, **params)
            tic = time.perf_counter()
            model.fit(X_fit[rows], Y_fit[rows, t].astype(str))
            seconds = time.perf_counter() - tic
            dev_score = task_score(metric, Y_dev[dev_rows, t].astype(str),
                                   model.predict(X_dev[dev_rows]))
            if dev_score > best[0]:
                best = (dev_score, C, model, seconds)
        _, C, model, seconds = best
        if refit:
            rows = _labelled(corpus["Y_train"], t)
            model = cls(C=C, class_weight=weight, **params)
            tic = time.perf_counter()
            model.fit(corpus["X_train"][rows], corpus["Y_train"][rows, t].astype(str))
            seconds = time.perf_counter() - tic
        fit_seconds += seconds
        chosen.append(C)
        test_rows = _labelled(corpus["Y_test"], t)
        scores.append(task_score(metric, corpus["Y_test"][test_rows, t].astype(str),
                                 model.predict(corpus["X_test"][test_rows])))
    return {"scores": scores, "fit_s": fit_seconds, "C": chosen}


def run_skmtl(corpus, params=None, seeds=(0,)):
    """skmtl at default settings (plus ``params``), one model for all tasks.

    Scores are means over fits with ``random_state`` in ``seeds`` (a small
    test split moves with the seed: TREC's 500 questions by about a point);
    ``seed_means`` holds each fit's mean score, ``fit_s`` the median fit time.
    """
    runs = [_run_skmtl_seed(corpus, params, seed) for seed in seeds]
    return {
        "scores": np.mean([r["scores"] for r in runs], axis=0).tolist(),
        "macro_f1": np.mean([r["macro_f1"] for r in runs], axis=0).tolist(),
        "fit_s": float(np.median([r["fit_s"] for r in runs])),
        "seed_means": [mean(r["scores"]) for r in runs],
    }


def _run_skmtl_seed(corpus, params, seed):
    model = MultiTaskTextClassifier(**{"random_state": seed, **(params or {})})
    Y = np.where(corpus["Y_train"] == None, "", corpus["Y_train"]).astype(str)  # noqa: E711
    tic = time.perf_counter()
    model.set_params(missing_label="").fit(corpus["X_train"], Y)
    fit_seconds = time.perf_counter() - tic
    predicted = model.predict(corpus["X_test"])
    scores, macro_f1 = [], []
    for t, metric in enumerate(corpus["metrics"]):
        rows = _labelled(corpus["Y_test"], t)
        truth = corpus["Y_test"][rows, t].astype(str)
        scores.append(task_score(metric, truth, predicted[rows, t]))
        macro_f1.append(100 * f1_score(truth, predicted[rows, t].astype(str),
                                       average="macro", zero_division=0))
    return {"scores": scores, "macro_f1": macro_f1, "fit_s": fit_seconds}


def vectorize(corpus, quick=False):
    """The reference TF-IDF of ``_common``, fitted on the training texts."""
    features = vectorizer(quick=quick)
    corpus["X_train"] = features.fit_transform(corpus["train_texts"])
    for part in ("dev", "test"):
        if f"{part}_texts" in corpus:
            corpus[f"X_{part}"] = features.transform(corpus[f"{part}_texts"])
    return corpus


SYSTEMS = [(name, balanced) for name in BASELINES for balanced in (False, True)]
# skmtl's defaults (the verdict's row), the two ways it offers to favour a
# task's rare classes, and one loss for every head, changed one at a time.
SKMTL_SETTINGS = [
    ("skmtl defaults", {}),
    ("skmtl prior_correction=0", {"prior_correction": 0}),
    ("skmtl class_weight='balanced'", {"class_weight": "balanced"}),
    ("skmtl loss='log_loss'", {"loss": "log_loss"}),
]


def system_label(name, balanced):
    return f"{name} per task" + (" (balanced)" if balanced else "")


def run_corpus(name, quick, settings, cache, seeds):
    if quick and name == "mixed":
        corpus = load_mixed(scale=0.1)
    elif quick and name == "news20_rare_topics":
        corpus = load_news20_rare_topics(_quick(load_news20_topics()))
    elif quick:
        corpus = _quick(CORPORA[name]())
    else:
        corpus = CORPORA[name]()
    vectorize(corpus, quick)
    results = {}
    for system in SYSTEMS:
        key = f"{name}|{system_label(*system)}|quick={quick}"
        if key not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                cache[key] = run_baseline(corpus, *system)
        results[system_label(*system)] = cache[key]
    for label, params in settings:
        results[label] = run_skmtl(corpus, params, seeds)
    return corpus, results


def mean(xs):
    return float(np.mean(xs))


def report_section(name, corpus, results):
    lines = [f"## {name}", ""]
    lines.append("| system | " + " | ".join(corpus["task_names"]) + " | mean | fit s |")
    lines.append("| :--- |" + " ---: |" * (len(corpus["task_names"]) + 2))
    for label, r in results.items():
        cells = [f"{s:.2f}" for s in r["scores"]]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | **{mean(r['scores']):.2f}** | {r['fit_s']:.2f} |")
    ours, (best, best_label) = compare(results)
    per_seed = ", ".join(f"{m:.2f}" for m in results["skmtl defaults"]["seed_means"])
    lines += ["", f"skmtl defaults {ours:.2f} against the best per-task baseline "
              f"({best_label}) {best:.2f}: {ours - best:+.2f} points. skmtl's rows "
              f"are means over {len(results['skmtl defaults']['seed_means'])} "
              f"random states (fit s: their median); the defaults' mean per "
              f"random state: {per_seed}.", ""]
    lines += ["Macro-F1 over each task's classes (%), skmtl's rows: what "
              "`prior_correction` and `class_weight='balanced'` do for a "
              "task's rare classes.", ""]
    lines.append("| system | " + " | ".join(corpus["task_names"]) + " | mean |")
    lines.append("| :--- |" + " ---: |" * (len(corpus["task_names"]) + 1))
    for label, r in results.items():
        if "macro_f1" in r:
            cells = [f"{s:.2f}" for s in r["macro_f1"]]
            lines.append(f"| {label} | " + " | ".join(cells)
                         + f" | **{mean(r['macro_f1']):.2f}** |")
    lines.append("")
    return "\n".join(lines)


def compare(results):
    """skmtl defaults' mean score and the best per-task baseline's (mean, label)."""
    best = max((mean(r["scores"]), label) for label, r in results.items()
               if "per task" in label)
    return mean(results["skmtl defaults"]["scores"]), best


def verdict_rows(outcomes):
    """One PASS/MISS row per corpus: defaults against the best baseline."""
    margin = targets()["panel_margin"]
    rows = []
    for name, results in outcomes:
        ours, (best, label) = compare(results)
        rows.append([f"{name}: skmtl defaults ≥ best per-task baseline {margin:+g}",
                     f"{ours:.2f} vs {best:.2f} ({label}): {ours - best:+.2f}",
                     verdict(ours >= best + margin)])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser, "toy sizes, about 2 min")
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--settings", nargs="*", default=[],
                        help="extra skmtl settings as JSON objects")
    parser.add_argument("--seeds", type=int, default=3,
                        help="skmtl fits per setting, random_state 0 to SEEDS - 1; "
                             "its rows are their means (default 3)")
    parser.add_argument("--cache", type=Path,
                        help="JSON file caching the baselines' results between runs "
                             "(a report from a cache is not one run: leave it out)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    cache = {}
    if args.cache and args.cache.exists():
        cache = json.loads(args.cache.read_text())
    settings = SKMTL_SETTINGS + [
        (f"skmtl {s}", json.loads(s)) for s in args.settings
    ]
    report = Report(output_path(args, "bench_panel", ".md"))
    report.add("# skmtl defaults against per-task linear baselines", head=True)
    report.add(question(__doc__), head=True)
    report.add("\n".join(machine_lines(command_line(__file__, argv))), head=True)
    tic = time.perf_counter()
    outcomes = []
    with threadpool_limits(1):
        for name in args.corpora.split(","):
            corpus, results = run_corpus(name, args.quick, settings, cache,
                                         range(args.seeds))
            outcomes.append((name, results))
            report.add(report_section(name, corpus, results))
            if args.cache:
                args.cache.write_text(json.dumps(cache))
    report.add(targets_section(verdict_rows(outcomes), args.quick), head=True)
    report.add(runtime_line(time.perf_counter() - tic))
    report.save()
    return report


if __name__ == "__main__":
    main()
