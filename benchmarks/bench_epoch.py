"""The kernel's floor: one SGD epoch against one sparse product ``X @ W``.

The question: how close does a training epoch come to the least work any model
with a shared layer must do, one product of the documents with that layer?

On the FDU-MTL training matrix (reference TF-IDF, in float64 and in float32),
fit a default ``MultiTaskTextClassifier(random_state=0)``, then time (median of
``--repeats``):

(a) one training epoch: one ``clf.partial_fit(X, Y)`` call on (a copy of) the
    fitted model; one pass over all labelled rows with ``partial_fit``'s
    'optimal' step (it has no schedule horizon), validation and target
    encoding included;
(b) the kernel alone: ``skmtl._sgd_fast.sgd_epoch`` called directly with the
    arrays the estimator passes (captured from a ``partial_fit`` call; the
    parameter arrays it updates in place are fresh copies on every run);
(c) one ``X @ clf.shared_coef_`` (scipy sparse times dense), the cost of the
    shared layer's forward pass alone,

and report epoch / (X @ W) and kernel / (X @ W), with PASS/MISS against the
target of ``results/README.md``.

Run from the repository root::

    python benchmarks/bench_epoch.py             # full run, about a minute
    python benchmarks/bench_epoch.py --quick     # toy sizes, a few seconds

BLAS/OpenMP are pinned to one thread (by ``_common``, before numpy is imported,
and ``threadpoolctl.threadpool_limits(1)`` around the work).
"""

import argparse
import time

from _common import (  # first: pins BLAS/OpenMP to one thread before numpy loads
    QUICK_TEST,
    QUICK_TRAIN,
    Report,
    add_common_options,
    command_line,
    machine_lines,
    md_table,
    output_path,
    question,
    runtime_line,
    subsample,
    targets,
    targets_section,
    vectorizer,
    verdict,
)

# isort: split
import _corpora
import numpy as np
from _epoch import run_dtype
from threadpoolctl import threadpool_limits

NAME = "bench_epoch"
# The measurements set against X @ W; the target is on each.
KEYS = {
    "epoch": "(a) one epoch (the target)",
    "epoch_float": "(a′) one epoch, float Y (diagnostic)",
    "kernel": "(b) kernel alone (reference)",
}


def fmt(times):
    if times.size == 1:
        return f"{1e3 * times[0]:.1f}"
    low, high = 1e3 * times.min(), 1e3 * times.max()
    return f"{1e3 * np.median(times):.1f} ({low:.1f}–{high:.1f})"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=7,
        help="timed runs of each measurement (median reported)",
    )
    add_common_options(parser, f"toy size ({QUICK_TRAIN} FDU-MTL train documents, "
                       "min_df=1, one repeat)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    command = command_line(__file__, argv)
    report = Report(output_path(args, NAME, ".md"))
    report.add(
        "# The kernel's floor: one epoch vs one X @ W"
        + (" (--quick)" if args.quick else "")
    )
    report.add(question(__doc__))
    report.add("\n".join(machine_lines(command)))

    with threadpool_limits(1):
        data = _corpora.load_fdu_mtl()
        if args.quick:
            data = subsample(data, QUICK_TRAIN, QUICK_TEST)
        X = vectorizer(quick=args.quick).fit_transform(data["train_texts"])
        Y = data["Y_train"]
        results = [
            run_dtype(X, Y, dtype, args.repeats) for dtype in (np.float64, np.float32)
        ]

    clf = results[0]["clf"]
    report.add(
        "FDU-MTL training matrix, reference features `TfidfVectorizer("
        f"sublinear_tf=True, ngram_range=(1, 2), min_df={1 if args.quick else 2})`"
        " fitted on all tasks' training texts; float32 via `X.astype(np.float32)`. "
        "Model: `MultiTaskTextClassifier(random_state=0)` (defaults), fitted first. "
        f"Times in ms, median (min–max) of {args.repeats} run(s) after one "
        "warm-up round; the four measurements run round-robin, so that a change "
        "of the machine's load hits them alike.\n\n"
        "- (a) one epoch = one `clf.partial_fit(X, Y)` on a copy of the fitted "
        "model: one pass over every labelled row with the "
        f"'{results[0]['schedule']}' step (eta0 = {results[0]['eta0']:.4g}; "
        "partial_fit has no schedule horizon; "
        "fit's default 'linear' schedule does the same work per step), including "
        "input validation, target encoding and the step-size scan;\n"
        "- (b) kernel = `skmtl._sgd_fast.sgd_epoch` alone, with the arrays the "
        "estimator passes (captured from a partial_fit call; fresh copies of W, b, "
        "V, c, U and task_loss each run);\n"
        "- (c) X @ W = `X @ clf.shared_coef_` (scipy CSR times dense, one thread);\n"
        "- (a′) diagnostic: (a) with `Y.astype(np.float64)` (NaN = missing) instead "
        "of the loaders' object array with None (missing labels in an object "
        "array are detected element by element on every call).\n\n"
        "Ratios: median time / median X @ W time (the target's verdict), and, as "
        "a check on a noisy machine, the median over rounds of the ratio within "
        "each round (the measurements of one round run back to back)."
    )
    shape = md_table(
        [
            "n_samples",
            "n_features",
            "nnz per row (mean)",
            "k (n_components)",
            "n_tasks",
            "classes (all heads)",
            "SGD steps per epoch",
        ],
        [
            [
                X.shape[0],
                X.shape[1],
                f"{X.nnz / X.shape[0]:.1f}",
                clf.n_components,
                clf.n_tasks_,
                int(clf.class_offsets_[-1]),
                results[0]["steps"],
            ]
        ],
        "rrrrrrr",
    )
    report.add("## Problem\n\n" + shape)

    rows, verdicts, target = [], [], targets()["epoch_over_product"]
    for res in results:
        floor = np.median(res["product"])
        ratio = {key: np.median(res[key]) / floor for key in KEYS}
        paired = {key: np.median(res[key] / res["product"]) for key in KEYS}
        rows.append(
            [
                res["dtype"],
                fmt(res["epoch"]),
                fmt(res["epoch_float"]),
                fmt(res["kernel"]),
                fmt(res["product"]),
                *(f"{ratio[key]:.2f}" for key in KEYS),
                f"{1e3 * (np.median(res['epoch']) - np.median(res['kernel'])):.1f}",
                f"{res['fit']:.2f}",
                "yes" if res["same"] else "**NO**",
            ]
        )
        for key in KEYS:
            verdicts.append(
                [
                    f"{res['dtype']}: {KEYS[key]} / (X @ W) ≤ {target}",
                    f"{ratio[key]:.2f}",
                    f"{paired[key]:.2f}",
                    verdict(ratio[key] <= target),
                ]
            )
    report.add(
        "## Timings\n\n"
        + md_table(
            [
                "dtype",
                "(a) epoch ms",
                "(a′) epoch, float Y ms",
                "(b) kernel ms",
                "(c) X @ W ms",
                "epoch / (X@W)",
                "(a′) / (X@W)",
                "kernel / (X@W)",
                "epoch − kernel ms",
                f"full fit s ({clf.n_iter_} epochs, 1 run)",
                "kernel replay = partial_fit",
            ],
            rows,
        )
    )
    report.add(targets_section(
        verdicts, args.quick,
        ["ratio", "measured (ratio of medians)", "median of paired ratios", "status"],
        "lrrc",
    ))
    report.add(runtime_line(time.perf_counter() - start))
    report.save()
    print(f"Written to {report.path}")


if __name__ == "__main__":
    main()
