"""Scaling up: threads in the kernel, and fit memory and time up to 1 M documents.

The question: what does a second thread (``n_jobs=2``) buy, and do the memory
and time of a fit stay linear in the number of documents up to a million?

(1) Threads. On the FDU-MTL and 20 Newsgroups training matrices (reference
    TF-IDF, float64), fit a default ``MultiTaskTextClassifier(random_state=0)``
    with ``n_jobs=1``, with ``n_jobs=2`` and twice at once in two processes
    (the ceiling), in each of ``--repeats`` rounds. Report the median fit
    times, the speed-up and the test accuracy (mean over runs: with two
    threads the result depends on their timing), against the targets of
    ``results/README.md`` (speed-up, accuracy change).

(2) Memory and time. The FDU-MTL training texts, hashed once
    (``HashingVectorizer(n_features=2**20, alternate_sign=False)`` counts,
    idf-weighted by ``TfidfTransformer(sublinear_tf=True)``, float32),
    have their rows replicated to 125 k, 250 k, 500 k and 1 M documents. In
    each of ``--time-repeats`` rounds over the sizes, every size is fitted
    (``--epochs`` epochs) once, in a fresh process, which reports its peak
    resident memory during ``fit`` (Linux: the high-water mark, reset just
    before ``fit``) and its time; a size's row gives the largest memory of the
    rounds and the median and the fastest time. Targets: the memory that the
    data and the fit take (peak minus the process's memory before the data
    was built) is at most a small multiple of input + parameters, and time
    per document stays flat (linear growth) from 125 k to 1 M documents. The
    time verdict
    is taken on each size's fastest fit: this machine has slow spells of
    seconds to minutes in which one thread runs up to 1.4 x slower, and they
    only ever add time; the medians' line is reported beside it.

Run from the repository root::

    python benchmarks/bench_threads_memory.py            # full run, about 7 minutes
    python benchmarks/bench_threads_memory.py --quick    # toy sizes, about 20 s

BLAS/OpenMP pools are pinned to one thread (by ``_common``, before numpy is
imported, and ``threadpool_limits(1)``); the kernel's own threads are set by
``n_jobs`` and are not affected.
"""

import argparse
import gc
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    Report,
    add_common_options,
    command_line,
    in_subprocess,
    machine_lines,
    md_table,
    output_path,
    pct,
    peak_mb,
    question,
    reset_peak,
    rss_mb,
    seconds,
    subsample,
    targets,
    vectorizer,
    verdict,
    worker_main,
)

# isort: split
import numpy as np
import scipy.sparse as sp
from _corpora import load_fdu_mtl, load_news20
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskTextClassifier

NAME = "bench_threads_memory"
HERE = Path(__file__).resolve()
SIZES = [125_000, 250_000, 500_000, 1_000_000]
QUICK_SIZES = [5_000, 10_000, 20_000, 40_000]
# A round trip between the two CPUs below this is taken as "near" cores.
NEAR_CORES_NS = 200


# ------------------------------------------------------------------ threads


def core_latency_probe(folder):
    """A function returning the CPU 0 <-> 1 cache-line round trip in ns, or None.

    Compiles ``core_latency.c`` with the C compiler once (Linux with 2+ CPUs
    only; elsewhere, or without a compiler, every probe gives None).
    """
    source = Path(__file__).resolve().parent / "core_latency.c"
    binary = Path(folder) / "core_latency"
    if not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2:
        return lambda: None
    compiler = os.environ.get("CC", "cc")
    try:
        built = subprocess.run(
            [compiler, "-O2", "-pthread", str(source), "-o", str(binary)],
            capture_output=True,
        )
    except OSError:  # no such compiler
        return lambda: None
    if built.returncode != 0:
        return lambda: None

    def probe():
        run = subprocess.run([str(binary)], capture_output=True, text=True,
                             timeout=60)
        return float(run.stdout) if run.returncode == 0 else None

    return probe


def _timed_fit(X, Y, barrier, results):
    barrier.wait()  # both processes start their fit together
    tic = time.perf_counter()
    MultiTaskTextClassifier(random_state=0).fit(X, Y)
    results.put(time.perf_counter() - tic)


def two_processes(X, Y):
    """Times of two single-thread fits run at once in two processes.

    The same work as a 2-thread fit, without any sharing between the two: the
    throughput the machine gives two busy cores, hence the ceiling of any
    2-thread speed-up (hardware threads, a shared host or memory bandwidth
    can keep it below 2).
    """
    context = multiprocessing.get_context("fork")  # the children inherit X
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_timed_fit, args=(X, Y, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    times = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return times


def time_threads(name, data, args, probe):
    """Fit times and accuracies with 1 and 2 threads on one corpus.

    ``probe`` (see ``core_latency_probe``) is called before each round's
    2-thread fit; the last return value lists each round's latency and speed-up.
    """
    features = vectorizer()
    X_train = features.fit_transform(data["train_texts"])
    X_test = features.transform(data["test_texts"])
    times, accuracy, pair, latency = {1: [], 2: []}, {1: [], 2: []}, [], []
    # Each round times all three, so that the machine's slow minutes (which
    # slow one thread by up to a third, see doc/scaling.rst) fall alike on the
    # speed-up and on the ceiling.
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            if n_jobs == 2:
                latency.append(probe())
            model = MultiTaskTextClassifier(random_state=0, n_jobs=n_jobs)
            tic = time.perf_counter()
            model.fit(X_train, data["Y_train"])
            times[n_jobs].append(time.perf_counter() - tic)
            accuracy[n_jobs].append(100 * model.score(X_test, data["Y_test"]))
        pair += two_processes(X_train, data["Y_train"])
    speedup = np.median(times[1]) / np.median(times[2])
    ceiling = 2 * np.median(times[1]) / np.median(pair)
    change = np.mean(accuracy[2]) - np.mean(accuracy[1])
    row = [
        name, f"{X_train.shape[0]:,} × {X_train.shape[1]:,}, nnz {X_train.nnz:,}",
        seconds(times[1]), seconds(times[2]), f"{speedup:.2f}", seconds(pair),
        f"{ceiling:.2f}",
        pct(np.mean(accuracy[1])),
        f"{pct(np.mean(accuracy[2]))} ({min(accuracy[2]):.2f}–{max(accuracy[2]):.2f})",
        f"{change:+.2f}",
    ]
    rounds = [(ns, one / two) for ns, one, two in zip(latency, times[1], times[2])]
    return row, speedup, change, ceiling, rounds


def latency_line(name, rounds):
    """The rounds' speed-ups grouped by how near the two cores were."""
    if any(ns is None for ns, _ in rounds):
        return (f"- {name}: the cores' round trip was not measured (it needs Linux, "
                "two CPUs and a C compiler).")
    parts = []
    for label, picked in [
        (f"near (round trip < {NEAR_CORES_NS} ns)",
         [r for r in rounds if r[0] < NEAR_CORES_NS]),
        (f"far (≥ {NEAR_CORES_NS} ns)", [r for r in rounds if r[0] >= NEAR_CORES_NS]),
    ]:
        if picked:
            ns = [r[0] for r in picked]
            ratio = [r[1] for r in picked]
            parts.append(
                f"{len(picked)} round(s) with the cores {label}, "
                f"{min(ns):.0f}–{max(ns):.0f} ns: speed-up {np.median(ratio):.2f} "
                f"({min(ratio):.2f}–{max(ratio):.2f})"
            )
    return f"- {name}, by the cores' round trip before each 2-thread fit: " + (
        "; ".join(parts) + "."
    )


# ------------------------------------------------------------ memory, time


def hash_corpus(folder, n_features):
    """Hash the FDU-MTL training texts once, for every child process to load.

    Term counts are hashed, then idf-weighted with sublinear tf and
    L2-normalised (``TfidfTransformer``, its idf from these texts, as a stream
    would take it from a sample). On raw hashed term frequencies, where the
    common words weigh most, a fit with the default ``eta0=0.5`` diverged at
    60 k replicated documents and more (3 epochs); ``eta0=0.1`` trained.
    """
    data = load_fdu_mtl()
    hasher = HashingVectorizer(n_features=n_features, alternate_sign=False,
                               norm=None, dtype=np.float32)
    counts = hasher.transform(data["train_texts"])
    X = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    sp.save_npz(folder / "X.npz", X.astype(np.float32))
    # Integer labels with -1 for missing: 1 byte a label, not an object array.
    Y = np.where(data["Y_train"] == None, -1, data["Y_train"])  # noqa: E711
    np.save(folder / "Y.npy", Y.astype(np.int8))


def child(job):
    """One size, in this fresh process: its measurements (bytes, seconds)."""
    folder = Path(job["data"])
    X_base = sp.load_npz(folder / "X.npz").tocsr()
    Y_base = np.load(folder / "Y.npy")
    gc.collect()
    rss_start = rss_mb()
    # The corpus is sorted by task: a seeded permutation, repeated, gives every
    # size all tasks (fit shuffles anyway).
    order = np.random.default_rng(0).permutation(X_base.shape[0])
    rows = order[np.arange(job["size"]) % X_base.shape[0]]
    X, Y = X_base[rows], Y_base[rows]
    del rows
    gc.collect()
    rss_before_fit = rss_mb()
    model = MultiTaskTextClassifier(
        random_state=0, max_iter=job["epochs"], missing_label=-1,
        n_jobs=job["n_jobs"],
    )
    reset_peak()  # the peak (VmHWM) starts again from the current resident size
    tic = time.perf_counter()
    with threadpool_limits(1):
        model.fit(X, Y)
    fit_seconds = time.perf_counter() - tic
    peak = peak_mb()
    parameter_bytes = int(sum(
        p.nbytes for p in (model.shared_coef_, model.shared_intercept_,
                           model.head_coef_, model.head_intercept_)
    ))
    return {
        "n_documents": X.shape[0], "nnz": int(X.nnz),
        "input_bytes": int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
                           + Y.nbytes),
        "parameter_bytes": parameter_bytes,
        "rss_start": round(rss_start * 2**20),
        "rss_before_fit": round(rss_before_fit * 2**20),
        "peak": round(peak * 2**20), "fit_seconds": fit_seconds,
    }


def run_size(n_documents, n_jobs, args, folder):
    return in_subprocess(HERE, {"size": n_documents, "n_jobs": n_jobs,
                                "epochs": args.epochs, "data": str(folder)})


def memory_rows(args):
    sizes = QUICK_SIZES if args.quick else SIZES
    thread_counts = (1,) if args.quick else (1, 2)
    rows, measured = [], []
    runs = {(n_documents, n_jobs): [] for n_documents in sizes
            for n_jobs in thread_counts}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        hash_corpus(folder, 2**16 if args.quick else 2**20)
        # Rounds over all sizes, rather than all of one size's fits in a row:
        # this machine runs slower for minutes at a time, and a slow spell
        # then costs every size a fit instead of all of one size's.
        for _ in range(args.time_repeats):
            for size in runs:
                runs[size].append(run_size(*size, args, folder))
    for (n_documents, n_jobs), size_runs in runs.items():
        # Memory: the fit of the round that took the most.
        m = dict(max(size_runs, key=lambda run: run["peak"] - run["rss_start"]))
        times = [run["fit_seconds"] for run in size_runs]
        m["fit_seconds"] = float(np.median(times))
        m["fastest_seconds"] = float(np.min(times))
        data_and_fit = m["peak"] - m["rss_start"]
        m.update(n_jobs=n_jobs, data_and_fit=data_and_fit)
        measured.append(m)
        mib = 2**20
        rows.append([
            f"{n_documents:,}", n_jobs, f"{m['nnz']:,}",
            f"{m['input_bytes'] / mib:,.0f}",
            f"{m['parameter_bytes'] / mib:,.0f}",
            f"{(m['peak'] - m['rss_before_fit']) / mib:,.0f}",
            f"{data_and_fit / mib:,.0f}",
            f"{data_and_fit / (m['input_bytes'] + m['parameter_bytes']):.3f}",
            seconds(times),
            f"{1e6 * m['fit_seconds'] / n_documents:.2f}",
        ])
    return rows, measured


def time_verdicts(measured):
    """Whether fit time grows linearly (affine: a fixed cost plus a cost a row).

    Judged on each size's fastest fit (slow spells of the machine only add
    time); the line through the median times is reported beside it.
    """
    lines, deviation = [], targets()["linear_time_deviation"]
    for n_jobs in sorted({m["n_jobs"] for m in measured}):
        picked = [m for m in measured if m["n_jobs"] == n_jobs]
        n_docs = np.array([m["n_documents"] for m in picked], dtype=float)
        fits = {}
        for key in ("fastest_seconds", "fit_seconds"):
            times = np.array([m[key] for m in picked])
            per_row, fixed = np.polyfit(n_docs, times, 1)
            residual = np.max(np.abs(times - (fixed + per_row * n_docs)) / times)
            fits[key] = per_row, fixed, residual
        per_row, fixed, residual = fits["fastest_seconds"]
        median_per_row, median_fixed, median_residual = fits["fit_seconds"]
        lines.append(
            f"- Time, n_jobs={n_jobs}: a straight line fits each size's fastest "
            f"fit with {1e6 * per_row:.2f} µs a document plus {fixed:.2f} s "
            f"fixed (the initialisation of W and its end-of-epoch rescaling); "
            f"largest deviation {100 * residual:.1f} % of a time (target ≤ "
            f"{100 * deviation:.0f} %): " + verdict(residual <= deviation)
            + f". Through the median times: {1e6 * median_per_row:.2f} µs a "
            f"document plus {median_fixed:.2f} s, largest deviation "
            f"{100 * median_residual:.1f} %."
        )
    return lines


# ------------------------------------------------------------------- report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "toy sizes: a smoke test of the script (~20 s)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds in (1), each a 1-thread fit, a 2-thread fit and "
                             "a pair of processes (default 9; 1 if --quick)")
    parser.add_argument("--time-repeats", type=int, default=None,
                        help="rounds over the sizes in (2), each fitting every "
                             "size once in a fresh process (default 4; 1 if "
                             "--quick)")
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of each fit in (2) (default 3)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 9
    if args.time_repeats is None:
        args.time_repeats = 1 if args.quick else 4
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(child, args.worker)
    report = Report(output_path(args, NAME, ".md"))
    report.add("# Scaling up: threads, memory and time", head=True)
    report.add(question(__doc__), head=True)
    report.add("\n".join(machine_lines(command_line(__file__, argv))), head=True)
    tic = time.perf_counter()

    thread_rows, verdicts, by_latency = [], [], []
    target = targets()
    speedup_target = target["thread_speedup"]
    tolerance = target["thread_accuracy_tolerance"]
    with threadpool_limits(1), tempfile.TemporaryDirectory() as probe_folder:
        probe = core_latency_probe(probe_folder)
        for name, loader in [("FDU-MTL", load_fdu_mtl), ("20 Newsgroups", load_news20)]:
            data = loader()
            if args.quick:
                data = subsample(data, 600, 300)
            row, speedup, change, ceiling, rounds = time_threads(
                name, data, args, probe
            )
            thread_rows.append(row)
            by_latency.append(latency_line(name, rounds))
            verdicts.append(
                f"- {name}: speed-up with 2 threads {speedup:.2f} (target ≥ "
                f"{speedup_target}) and accuracy change {change:+.2f} points (target "
                f"within ±{tolerance}): "
                + verdict(speedup >= speedup_target and abs(change) <= tolerance)
                + f". The machine's ceiling (two processes at once) was "
                f"{ceiling:.2f}; the threads' speed-up is {speedup / ceiling:.2f} "
                "of it."
            )
    report.add(
        "## (1) Threads in the kernel (`n_jobs`)\n\n"
        f"Default model, reference TF-IDF (float64), {args.repeats} rounds of a "
        "1-thread fit, a 2-thread fit and a pair of processes; times are median "
        "(min–max). *2 processes*: two "
        "single-thread fits started together in two processes (the same work as "
        "a 2-thread fit, nothing shared); *ceiling* = 2 × (1-thread time) / (their "
        "time), the speed-up this machine allows two busy cores. Accuracy: mean "
        "over tasks on test, averaged over the runs (min–max for 2 threads).\n\n"
        + md_table(
            ["corpus", "X train", "fit s, 1 thread", "fit s, 2 threads", "speed-up",
             "fit s, 2 processes at once", "ceiling", "acc %, 1 thread",
             "acc %, 2 threads", "Δ acc"],
            thread_rows, "llrrrrrrrr",
        )
        + "\n\n" + "\n".join(verdicts)
        + "\n\n20 Newsgroups' fit trains a second model on 90 % of the rows to "
        "choose its two multiclass tasks' temperatures (half the epochs): with "
        "`n_jobs=2` the two models train side by side, one thread each, sharing "
        "nothing, and once the held-out model is done the fit's own takes both "
        "threads (Hogwild) for its remaining epochs. FDU-MTL's "
        "balanced binary tasks need no such model: its two threads train the "
        "one model (Hogwild), and pass the shared layer's cache lines between "
        "the cores at every step, so their speed-up depends on how far apart "
        "the cores are. `benchmarks/core_latency.c` times a cache line's round "
        "trip between CPUs 0 and 1 just before each round's 2-thread fit; the "
        "speed-up of a round is its 1-thread time over its 2-thread time:\n\n"
        + "\n".join(by_latency)
    )

    rows, measured = memory_rows(args)
    report.add(
        "## (2) Fit memory and time as the corpus grows\n\n"
        f"FDU-MTL training texts hashed to 2^{16 if args.quick else 20} features "
        "(counts, then `TfidfTransformer(sublinear_tf=True)`; float32), rows "
        f"replicated; {args.epochs} epochs per fit, each in a fresh process; "
        f"{args.time_repeats} round(s) over all rows, one fit per row a round "
        "(so that a slow spell of the machine costs every row a fit, not one "
        "row all of its fits): memory is the largest of the rounds', time the "
        "median (min–max); the time verdict below is taken on the fastest. "
        "*Input* = X's three arrays + the int8 label array; *fit extra* = peak "
        "during fit − resident size just before it; *data + fit* = peak − "
        "resident size before the rows were replicated (Python, the libraries "
        "and the small hashed base corpus excluded).\n\n"
        + md_table(
            ["documents", "n_jobs", "nnz", "input MiB", "parameters MiB",
             "fit extra MiB", "data + fit MiB", "(data + fit) / (input + parameters)",
             "fit s", "µs / document (median)"],
            rows,
        )
    )
    worst = max(m["data_and_fit"] / (m["input_bytes"] + m["parameter_bytes"])
                for m in measured)
    largest = max(m["n_documents"] for m in measured)
    lines = [
        f"- Memory: the largest ratio over all rows is {worst:.3f} (target ≤ "
        f"{target['memory_ratio']}) at up to {largest:,} documents: "
        + verdict(worst <= target["memory_ratio"])
    ] + time_verdicts(measured)
    report.add("\n".join(lines))
    report.add(f"Total run time: {time.perf_counter() - tic:.0f} s.")
    report.save()
    print(f"wrote {report.path}")


if __name__ == "__main__":
    main()
