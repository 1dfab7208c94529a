"""Growth: skmtl's fit time and peak memory as the data and the model grow.

The question: how do skmtl's fit time and memory grow with the number of
documents and with the width of the shared layer?

(1) Documents: the FDU-MTL training documents (with their labels) are
replicated, in order, to 25k, 50k, 100k and 200k documents (``--sizes``); for
each size, in a fresh process: the reference ``TfidfVectorizer``, fitted on the
original documents (same features at every size), transforms the replicated
texts (1 run), then
``MultiTaskTextClassifier(random_state=0)`` is fitted ``--repeats`` times on
that matrix (median), and fastText (one model per task, as in
``bench_peers.py``) once per repeat too, for comparison.
(2) Width: ``n_components`` = 8, 16, 32, 64, 128 on the FDU-MTL training
matrix, each in a fresh process, ``--repeats`` fits.

Peak memory is the peak RSS during the fit minus the RSS just before it (the
input matrix, already built, is not counted; its size is shown). A log-log
least-squares slope of time against size says how it grows (1 = linear).

Run from the repository root::

    python benchmarks/bench_scaling.py           # full run, ~8.5 minutes
    python benchmarks/bench_scaling.py --quick   # toy sizes, ~20 s

BLAS/OpenMP are pinned to one thread (by ``_common``, before numpy is imported,
and ``threadpoolctl.threadpool_limits(1)`` around the work). ``--fasttext``
needs the ``fasttext`` module (``pip install -e ".[bench]"``).
"""

import argparse
import json
import time
import tracemalloc
import warnings
from pathlib import Path

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    EPOCHS,
    N_COMPONENTS,
    QUICK_TEST,
    QUICK_TRAIN,
    Report,
    add_common_options,
    command_line,
    fasttext_missing,
    fit_fasttext,
    in_subprocess,
    machine_lines,
    md_table,
    measured,
    output_path,
    question,
    runtime_line,
    subsample,
    trim_heap,
    vectorizer,
    worker_main,
)

# isort: split
import _corpora
import numpy as np
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskTextClassifier

NAME = "bench_scaling"
HERE = Path(__file__).resolve()
SIZES = [25_000, 50_000, 100_000, 200_000]
QUICK_SIZES = [500, 1_000, 2_000, 4_000]
WIDTHS = [8, 16, 32, 64, 128]
QUICK_WIDTHS = [8, 32]
# fastText's learning rate in the growth runs: the one bench_peers.py chose on
# FDU-MTL's dev split in the committed run.
FASTTEXT_LR = 1.0


def replicate(texts, Y, n):
    idx = np.arange(n) % len(texts)
    return [texts[i] for i in idx], Y[idx]


def matrix_mb(X):
    return (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20


def run_worker(job):
    data = _corpora.load_fdu_mtl()
    if job["quick"]:
        data = subsample(data, QUICK_TRAIN, QUICK_TEST)
    texts, Y = data["train_texts"], data["Y_train"]
    # The vocabulary is that of the real corpus at every size (fitted on the
    # original documents: with min_df=2, replicated documents would otherwise
    # let every n-gram in and the feature space would grow with the copies).
    vec = vectorizer(None, job["quick"]).fit(texts)
    if job["kind"] == "docs":
        texts, Y = replicate(texts, Y, job["n"])
    out = {"n": len(texts)}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with measured() as m:
            X = vec.transform(texts)
        out["vectorizer"], out["vectorizer_peak_mb"] = m["seconds"], m["peak_mb"]
        out["X_mb"] = matrix_mb(X)
        out["nnz"] = int(X.nnz)
        out["n_features"] = X.shape[1]
        out["fit"], out["peak_mb"] = [], []
        for _ in range(job["repeats"]):
            with measured() as m:
                clf = MultiTaskTextClassifier(
                    random_state=0, n_components=job["k"], max_iter=EPOCHS
                ).fit(X, Y)
            out["fit"].append(m["seconds"])
            out["peak_mb"].append(m["peak_mb"])
            del clf
        # One more fit, untimed, under tracemalloc: the peak of the arrays that
        # numpy / Python allocate during the fit (W, heads, temporaries).
        trim_heap()
        tracemalloc.start()
        clf = MultiTaskTextClassifier(random_state=0, n_components=job["k"],
                                      max_iter=EPOCHS).fit(X, Y)
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del clf
        if job["fasttext"]:
            out["ft_fit"], out["ft_peak_mb"] = [], []
            for _ in range(job["repeats"]):
                with measured() as m:
                    models = fit_fasttext(texts, Y, FASTTEXT_LR, job["quick"])
                out["ft_fit"].append(m["seconds"])
                out["ft_peak_mb"].append(m["peak_mb"])
                del models
    return out


def slope(x, y):
    """Least-squares slope of log(y) on log(x)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def plot(docs, widths, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    n = [r["n"] for r in docs]
    ax = axes[0]
    ax.loglog(n, [np.median(r["fit"]) for r in docs], "o-", label="skmtl fit (model)")
    ax.loglog(n, [r["vectorizer"] for r in docs], "s--",
              label="TfidfVectorizer transform")
    if "ft_fit" in docs[0]:
        ax.loglog(n, [np.median(r["ft_fit"]) for r in docs], "^-",
                  label="fastText per task (end to end)")
    ref = np.median(docs[0]["fit"])
    ax.loglog(n, [ref * x / n[0] for x in n], ":", c="gray", label="linear")
    ax.set(xlabel="training documents", ylabel="time (s, median)",
           title="Fit time vs documents")
    ax = axes[1]
    ax.loglog(n, [max(np.median(r["peak_mb"]), 0.1) for r in docs], "o-",
              label="skmtl fit: peak RSS − RSS before")
    ax.loglog(n, [r["X_mb"] for r in docs], "s--", label="input matrix X")
    ax.loglog(n, [max(r["traced_peak_mb"], 0.1) for r in docs], "x-",
              label="skmtl fit: numpy peak (tracemalloc)")
    ax.loglog(n, [max(r["vectorizer_peak_mb"], 0.1) for r in docs], "d--",
              label="TfidfVectorizer transform peak")
    if "ft_fit" in docs[0]:
        ax.loglog(n, [np.median(r["ft_peak_mb"]) for r in docs], "^-",
                  label="fastText per task peak")
    ax.set(xlabel="training documents", ylabel="MB", title="Memory vs documents")
    ax = axes[2]
    k = [r["k"] for r in widths]
    ax.loglog(k, [np.median(r["fit"]) for r in widths], "o-", base=2,
              label="skmtl fit (model)")
    ref = np.median(widths[0]["fit"])
    ax.loglog(k, [ref * x / k[0] for x in k], ":", c="gray", base=2, label="linear")
    ax.set(xlabel="n_components", ylabel="fit time (s, median)",
           title="Fit time vs n_components (FDU-MTL)")
    for ax, xs in zip(axes, (n, n, k)):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=None,
                        help="comma-separated document counts (default "
                        + ",".join(map(str, SIZES)) + ")")
    parser.add_argument("--widths", default=None,
                        help="comma-separated n_components (default "
                        + ",".join(map(str, WIDTHS)) + ")")
    parser.add_argument("--repeats", type=int, default=3,
                        help="model fits per point (median reported)")
    parser.add_argument("--fasttext", action="store_true",
                        help="also fit fastText per task at each size (slow: "
                        "~3 min per run at 200k documents)")
    add_common_options(parser, "toy sizes (" + ",".join(map(str, QUICK_SIZES))
                       + " documents, min_df=1, one repeat)")
    args = parser.parse_args(argv)
    if args.worker:
        return args
    default_sizes = QUICK_SIZES if args.quick else SIZES
    args.sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
                  else default_sizes)
    default_widths = QUICK_WIDTHS if args.quick else WIDTHS
    args.widths = ([int(s) for s in args.widths.split(",")] if args.widths
                   else default_widths)
    if args.quick:
        args.repeats = 1
    if args.repeats < 1 or len(args.sizes) < 2 or len(args.widths) < 2:
        parser.error("need --repeats ≥ 1 and at least two sizes and widths")
    if args.fasttext and fasttext_missing():
        parser.error(f"--fasttext: {fasttext_missing()}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(run_worker, args.worker)
    start = time.perf_counter()
    command = command_line(__file__, argv)
    report = Report(output_path(args, NAME, ".md"))
    report.add("# Growth: fit time and memory against documents and n_components"
               + (" (--quick)" if args.quick else ""))
    report.add(question(__doc__))
    report.add("\n".join(machine_lines(command, ("fasttext-numpy2", "psutil"))))
    report.add(
        "FDU-MTL training documents (16 tasks, one label each), replicated in order "
        "to each size: the vocabulary stays that of the corpus, the work grows with "
        "the number of documents. Each point runs in a fresh process: "
        "`TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df="
        f"{1 if args.quick else 2})` is fitted on the original documents (so the "
        "feature space is the same at every size; with min_df=2 the copies would "
        "otherwise admit every n-gram) and transforms the replicated texts (1 run), "
        "then "
        f"`MultiTaskTextClassifier(random_state=0, max_iter={EPOCHS})` (k = "
        f"{N_COMPONENTS}; a fixed number of epochs, where the default 'auto' "
        "would run more on the smaller sizes) "
        f"fitted {args.repeats} time(s) on that matrix, "
        + ("" if not args.fasttext else
           f"then fastText per task (as in `bench_peers.py`, lr={FASTTEXT_LR}, end "
           f"to end: tokenizing, files, training) {args.repeats} time(s), ")
        + "medians reported. Peak RSS = peak RSS during the fit "
        "(`/proc/self/status` VmHWM after resetting it, freed heap given back "
        "with `malloc_trim` first) minus the RSS just before it; the input "
        "matrix, built before, is not in it (its size is shown). numpy peak = "
        "the `tracemalloc` peak of one more (untimed) fit: the arrays allocated "
        "during the fit."
        + (" **--quick: toy sizes, smoke test only.**" if args.quick else "")
    )
    docs = []
    for n in args.sizes:
        res = in_subprocess(HERE, {"kind": "docs", "n": n, "k": N_COMPONENTS,
                             "repeats": args.repeats, "quick": args.quick,
                             "fasttext": args.fasttext})
        res["k"] = N_COMPONENTS
        docs.append(res)
        print(f"docs {n}: fit {np.median(res['fit']):.2f} s, peak "
              f"{np.median(res['peak_mb']):.0f} MB", flush=True)
    widths = []
    for k in args.widths:
        res = in_subprocess(HERE, {"kind": "width", "n": None, "k": k,
                             "repeats": args.repeats, "quick": args.quick,
                             "fasttext": False})
        res["k"] = k
        widths.append(res)
        print(f"k {k}: fit {np.median(res['fit']):.2f} s", flush=True)

    has_ft = args.fasttext
    rows = []
    for r in docs:
        fit = np.median(r["fit"])
        row = [
            f"{r['n']:,}", f"{r['nnz']:,}", f"{r['X_mb']:.0f}",
            f"{r['vectorizer']:.2f}", f"{1e6 * r['vectorizer'] / r['n']:.0f}",
            f"{r['vectorizer_peak_mb']:.0f}",
            f"{fit:.2f} ({min(r['fit']):.2f}–{max(r['fit']):.2f})",
            f"{1e6 * fit / r['n']:.1f}",
            f"{np.median(r['peak_mb']):.0f}",
            f"{r['traced_peak_mb']:.0f}",
        ]
        if has_ft:
            ft = np.median(r["ft_fit"])
            row += [f"{ft:.2f}", f"{1e6 * ft / r['n']:.1f}",
                    f"{np.median(r['ft_peak_mb']):.0f}"]
        rows.append(row)
    n = np.array([r["n"] for r in docs], dtype=float)
    fit = np.array([np.median(r["fit"]) for r in docs])
    vec = np.array([r["vectorizer"] for r in docs])
    peak = np.array([max(np.median(r["peak_mb"]), 1e-3) for r in docs])
    traced = np.array([r["traced_peak_mb"] for r in docs])
    a, b = np.polyfit(n, fit, 1)
    headers = ["documents", "nnz", "X MB", "transform s", "transform µs/doc",
               "transform peak MB", "skmtl fit s", "skmtl µs/doc",
               "skmtl peak RSS MB", "skmtl numpy peak MB"]
    if has_ft:
        headers += ["fastText fit s", "fastText µs/doc", "fastText peak MB"]
    lines = [
        f"- skmtl fit time: log-log slope {slope(n, fit):.2f} (1 = linear); "
        f"least squares time = {a * 1e6:.2f} µs × documents + {b:.2f} s; time per "
        f"document from {1e6 * fit[0] / n[0]:.1f} to {1e6 * fit[-1] / n[-1]:.1f} µs.",
        f"- TfidfVectorizer transform: log-log slope {slope(n, vec):.2f}.",
        f"- skmtl fit peak memory (beyond X): {peak[0]:.0f} → {peak[-1]:.0f} MB, "
        f"log-log slope {slope(n, peak):.2f} (0 = independent of the number of "
        f"documents); numpy peak (tracemalloc) {traced[0]:.0f} → {traced[-1]:.0f} MB, "
        f"slope {slope(n, traced):.2f}; X itself grows from "
        f"{docs[0]['X_mb']:.0f} to {docs[-1]['X_mb']:.0f} MB.",
    ]
    if has_ft:
        ft = np.array([np.median(r["ft_fit"]) for r in docs])
        lines.append(f"- fastText per task, end to end: log-log slope "
                     f"{slope(n, ft):.2f}; fastText / skmtl fit time from "
                     f"{ft[0] / fit[0]:.2f}× to {ft[-1] / fit[-1]:.2f}× (fastText "
                     "end to end vs skmtl model only; add the vectorizer column for "
                     "skmtl end to end).")
    report.add(
        f"## Documents ({docs[0]['n_features']:,} features at every size)\n\n"
        + md_table(headers, rows) + "\n\n" + "\n".join(lines)
    )

    rows = []
    for r in widths:
        f = np.median(r["fit"])
        rows.append([r["k"], f"{f:.2f} ({min(r['fit']):.2f}–{max(r['fit']):.2f})",
                     f"{1e6 * f / r['n']:.1f}", f"{np.median(r['peak_mb']):.0f}",
                     f"{r['traced_peak_mb']:.0f}"])
    k = np.array([r["k"] for r in widths], dtype=float)
    wf = np.array([np.median(r["fit"]) for r in widths])
    wp = np.array([max(r["traced_peak_mb"], 1e-3) for r in widths])
    report.add(
        f"## n_components (FDU-MTL, {widths[0]['n']:,} documents, "
        f"{widths[0]['n_features']:,} features)\n\n"
        + md_table(["n_components", "fit s", "µs/doc", "peak RSS MB",
                    "numpy peak MB"], rows)
        + f"\n\n- Fit time: log-log slope {slope(k, wf):.2f} in n_components "
        f"(1 = linear); numpy peak memory log-log slope {slope(k, wp):.2f} "
        "(the shared layer W is n_features × n_components float64: "
        f"{widths[0]['n_features'] * 8 * k[0] / 2**20:.0f} MB at k = {k[0]:.0f}, "
        f"{widths[0]['n_features'] * 8 * k[-1] / 2**20:.0f} MB at k = {k[-1]:.0f})."
    )
    png = output_path(args, NAME, ".png")
    png.parent.mkdir(parents=True, exist_ok=True)
    plot(docs, widths, png)
    raw = output_path(args, NAME, ".json")
    raw.write_text(json.dumps({"docs": docs, "widths": widths}, indent=1))
    report.add(f"![Growth curves]({png.name})")
    report.add(f"Every run's measurements: `{raw.name}`.")
    report.add(runtime_line(time.perf_counter() - start))
    report.save()
    print(f"Written to {report.path}")


if __name__ == "__main__":
    main()
