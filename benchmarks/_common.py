"""What the benchmark scripts share: thread pinning, the reference features,
fresh-process workers, memory measurement, reports and the targets.

Not a benchmark itself. Importing it pins BLAS/OpenMP to one thread, so each
script imports it before numpy (an ``# isort: split`` comment keeps that order).
"""

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

# Before numpy, scipy or the kernel load a pool: one thread each, so that the
# timings measure one core (two OpenBLAS pools on a 2-core machine made lbfgs
# ~30x slower) and the worker processes inherit the same setting.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
import threadpoolctl  # noqa: E402
from sklearn.exceptions import UndefinedMetricWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

import skmtl  # noqa: E402
from skmtl.metrics import per_task_score  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
QUICK_TRAIN, QUICK_TEST = 300, 200
# The reference features of the data's baseline protocol, and the model's
# defaults that the peers are matched to (dimension, epochs).
REF_VECTORIZER = {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 2}
N_COMPONENTS, EPOCHS = 32, 10


# ----------------------------------------------------------------- targets


def targets():
    """The pass/miss targets, ``{key: value}``, from ``results/README.md``.

    They are the rows ``| `key` | value | ...`` of that file's targets table,
    so that the numbers live where they are explained.
    """
    text = (RESULTS / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"^\| `(\w+)` \| ([-+\d.]+) \|", text, re.MULTILINE)
    return {key: float(value) for key, value in found}


def verdict(ok):
    return "PASS" if ok else "MISS"


def targets_section(rows, quick, headers=("target", "measured", "status"),
                    align="llc"):
    """The Markdown section of PASS/MISS rows (by default ``[target, measured,
    status]``)."""
    text = ("## Targets\n\nThe targets and why they were chosen: "
            "`benchmarks/results/README.md`.\n\n")
    if quick:
        text += "**--quick run on toy sizes: these verdicts are not meaningful.**\n\n"
    return text + md_table(list(headers), rows, align)


def question(doc):
    """The paragraph of a script's docstring that starts "The question:"."""
    return next(p for p in doc.split("\n\n") if p.startswith("The question:")
                ).replace("\n", " ")


# ----------------------------------------------------------------- reports


def add_common_options(parser, quick_help):
    """``--quick`` (toy sizes: ``quick_help``), ``--out`` and the hidden
    ``--worker`` (see ``in_subprocess``) of every script."""
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="output folder (default benchmarks/results)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def md_table(headers, rows, align=None):
    """A Markdown table; ``align`` is a string of 'l'/'r' per column."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line(script, argv=None, hidden=("--out",)):
    """The command that reproduces a run, from the repository root.

    The script's path is made relative to the repository, and the options of
    ``hidden`` (where the files go, which does not change a figure) are left
    out, so that no path of the machine that ran it is printed.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    shown, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in hidden:
            skip = True
        elif not arg.startswith(tuple(f"{h}=" for h in hidden)):
            shown.append(arg)
    path = Path(script).resolve()
    try:
        path = path.relative_to(REPO)
    except ValueError:
        path = Path(path.name)
    return "python " + shlex.join([path.as_posix(), *shown])


def source_revision():
    """Commit of the repository, and whether skmtl/ has uncommitted changes."""
    try:
        head, dirty = (
            subprocess.run(["git", "-C", str(REPO), *cmd], capture_output=True,
                           text=True, check=True).stdout.strip()
            for cmd in (["rev-parse", "--short", "HEAD"],
                        ["status", "--porcelain", "--", "skmtl"])
        )
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" + uncommitted changes in skmtl/" if dirty else "")


def package_version(name):
    """Installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(command, extra_versions=()):
    """Date, command, machine, versions and thread settings, as Markdown bullets.

    ``extra_versions`` names further distributions whose versions are listed
    (e.g. ``("fasttext-numpy2", "psutil")``).
    """
    processor = platform.processor() or "(empty)"
    model, key = "", "model name"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith(key)),
                "",
            )
    except OSError:
        pass
    pools = ", ".join(
        f"{p['internal_api']} {p.get('version') or ''} ({p['num_threads']} thr)"
        for p in threadpoolctl.threadpool_info()
    )
    return [
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Command (from the repository root): `{command}`",
        f"- Machine: `platform.processor()` = {processor}; CPU model: {model or '?'};"
        f" `os.cpu_count()` = {os.cpu_count()}; {platform.platform()}",
        f"- Versions: Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"skmtl {skmtl.__version__}, threadpoolctl {threadpoolctl.__version__}"
        + "".join(f", {name} {package_version(name)}" for name in extra_versions),
        f"- skmtl source: {source_revision()}",
        "- Threads: OMP/OPENBLAS/MKL_NUM_THREADS=1 and "
        f"`threadpool_limits(1)`; pools seen: {pools or 'none loaded'}",
        f"- Load average (1/5/15 min) at start: {load_average()}",
    ]


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def runtime_line(seconds_taken):
    """The closing line of a report: its run time and the load at its end."""
    return (f"Total runtime: {seconds_taken:.0f} s; load average at end: "
            + load_average())


def pct(x):
    return "—" if x is None or np.isnan(x) else f"{x:.2f}"


def delta(x):
    return "—" if x is None or np.isnan(x) else f"{x:+.2f}"


def seconds(times):
    times = np.asarray(times, dtype=float)
    if times.size == 1:
        return f"{times[0]:.2f} (1 run)"
    return (
        f"{np.median(times):.2f} ({times.min():.2f}–{times.max():.2f}, "
        f"{times.size} runs)"
    )


def output_path(args, name, suffix):
    """``--out``/``name`` + ``suffix``, marked ``_quick`` on a ``--quick`` run so
    that a smoke run never overwrites the saved results."""
    return Path(args.out) / f"{name}{'_quick' if args.quick else ''}{suffix}"


class Report:
    """Sections printed as they come and written together to one Markdown file."""

    def __init__(self, path):
        self.path = path
        self.head, self.body = [], []

    def add(self, text, head=False):
        print(text + "\n", flush=True)
        (self.head if head else self.body).append(text)

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n\n".join(self.head + self.body) + "\n")


# ----------------------------------------------------------------- data, scores


def vectorizer(params=None, quick=False):
    """The reference ``TfidfVectorizer`` with ``params`` overriding its settings
    (``min_df=1`` on the toy sizes of ``--quick``)."""
    kw = {**REF_VECTORIZER, **(params or {})}
    kw["ngram_range"] = tuple(kw["ngram_range"])
    if quick:
        kw["min_df"] = 1
    return TfidfVectorizer(**kw)


def subsample(data, n_train, n_test):
    """Random rows of train and test (seeded); every task keeps two train classes."""
    out = dict(data)
    for seed in range(100):
        rng = np.random.RandomState(seed)
        rows = {}
        for part, n in [("train", n_train), ("test", n_test)]:
            total = len(data[f"{part}_texts"])
            rows[part] = np.sort(rng.choice(total, size=min(n, total), replace=False))
        Y = data["Y_train"][rows["train"]]
        if all(
            len({v for v in Y[:, t] if v is not None}) >= 2 for t in range(Y.shape[1])
        ):
            break
    for part in ("train", "test"):
        out[f"{part}_texts"] = [data[f"{part}_texts"][i] for i in rows[part]]
        out[f"Y_{part}"] = data[f"Y_{part}"][rows[part]]
    return out


def scores(Y_true, Y_pred):
    """Per-task accuracy and macro-F1 (%), each on the task's labelled rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        acc = per_task_score(Y_true, Y_pred) * 100
        f1 = per_task_score(Y_true, Y_pred, "f1_macro") * 100
    return acc, f1


# ----------------------------------------------------------------- memory


def _status_kib(field):
    """A field of ``/proc/self/status`` in KiB (Linux only: OSError elsewhere)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def reset_peak():
    """Reset the kernel's peak-RSS counter (VmHWM); False where not supported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb():
    """Resident memory of this process, MiB."""
    try:
        return _status_kib("VmRSS") / 1024
    except OSError:
        import psutil

        return psutil.Process().memory_info().rss / 2**20


def peak_mb():
    """Peak RSS since the last reset_peak() (or since the start of the process)."""
    try:
        return _status_kib("VmHWM") / 1024
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def trim_heap():
    """Give freed heap memory back to the system (glibc), so RSS means use."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def measured():
    """Time and peak memory of the block, in the dict it yields: ``seconds``
    and ``peak_mb``, the peak RSS during the block minus the RSS before it
    (freed heap handed back first)."""
    trim_heap()
    reset_peak()
    base = rss_mb()
    out = {}
    tic = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - tic
    out["peak_mb"] = peak_mb() - base


# ----------------------------------------------------------------- workers


def in_subprocess(script, job):
    """Run ``script --worker JOB`` in a fresh interpreter; its result dict.

    The script's ``worker_main`` (see below) runs the job and writes the JSON
    result to the file named by ``job["out"]``. A fresh process per fit makes
    its peak memory that of the one fit, C++ allocations included.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(script), "--worker",
                   json.dumps({**job, "out": str(out)})]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(
                f"worker {job} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        return json.loads(out.read_text())


def worker_main(run, job_text):
    """In the worker process: ``run(job)`` and write its result for the parent."""
    job = json.loads(job_text)
    Path(job["out"]).write_text(json.dumps(run(job), default=float))


# ----------------------------------------------------------------- fastText


def fasttext_missing():
    """Why the fastText peer cannot run here (a sentence), or None if it can."""
    try:
        import fasttext  # noqa: F401
    except ImportError as exc:
        return (f"skipped: the `fasttext` module is not importable ({exc}); "
                "`pip install -e \".[bench]\"` installs it")
    return None


# fastText's "Encountered NaN" is not a function of the seed alone: a --quick
# run of bench_multilabel.py retried 7 of its models, and a smoke test failed
# twice in one day after 3 retries of one model. Each retry is counted and
# reported.
FASTTEXT_RETRIES = 8
# --quick only: fastText's default 2,000,000 hash buckets cost ~1 s per model to
# allocate and initialise, too slow for a smoke test of 16 toy models.
QUICK_BUCKET = 100_000
WORD_NGRAMS, FASTTEXT_THREADS = 2, 1
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern


def fasttext_line(text):
    """Lower-cased tokens of TfidfVectorizer's token pattern, space separated."""
    return " ".join(TOKEN.findall(text.lower()))


def labelled(Y, t):
    """Rows of ``Y`` labelled for task ``t`` (``None`` = missing)."""
    return np.flatnonzero(Y[:, t] != None)  # noqa: E711


def train_fasttext(path, quick, **params):
    """One ``fasttext.train_supervised`` model of a training file at skmtl's
    dimension, epochs and thread count, or None if it diverged on every seed.

    fastText raises "Encountered NaN" now and then on small files or at a high
    ``lr`` (also at lr=0.1): another seed is tried, up to ``FASTTEXT_RETRIES``
    times; the callers report the retries.

    Returns
    -------
    model : fasttext model or None
    retries : int
        Seeds that diverged.
    """
    import fasttext

    for seed in range(FASTTEXT_RETRIES + 1):
        try:
            return fasttext.train_supervised(
                path, dim=N_COMPONENTS, epoch=EPOCHS, wordNgrams=WORD_NGRAMS,
                thread=FASTTEXT_THREADS, seed=seed, verbose=0,
                **({"bucket": QUICK_BUCKET} if quick else {}), **params,
            ), seed
        except RuntimeError as exc:
            if "NaN" not in str(exc):
                raise
    return None, FASTTEXT_RETRIES + 1


def fit_fasttext(texts, Y, lr, quick):
    """One ``fasttext.train_supervised`` model per task at skmtl's dimension,
    epochs and thread count; returns (models, seconds in training, retries)."""
    models, model_time, retries = [], 0.0, 0
    lines = [fasttext_line(t) for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(Y.shape[1]):
            path = os.path.join(tmp, f"task{t}.txt")
            # fastText reads its file in order and does not shuffle: on a
            # corpus sorted by class (20 Newsgroups) it ends up predicting
            # the last classes only. Shuffle, as fastText's own scripts do.
            rows = np.random.RandomState(t).permutation(labelled(Y, t))
            with open(path, "w", encoding="utf-8") as f:
                for i in rows:
                    f.write(f"__label__{Y[i, t]} {lines[i]}\n")
            tic = time.perf_counter()
            model, n_retries = train_fasttext(path, quick, lr=lr)
            retries += n_retries
            if model is None:
                raise RuntimeError(f"fastText diverged on task {t} at lr={lr} "
                                   f"with all {n_retries} seeds.")
            model_time += time.perf_counter() - tic
            models.append(model)
    return models, model_time, retries
