"""Helpers shared by the benchmark scripts: reporting, machine description, data.

Not a benchmark itself. The scripts pin BLAS/OpenMP threads before importing
numpy; importing this module does not import anything that starts a pool.
"""

import datetime
import os
import platform
import subprocess
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import scipy
import sklearn
import threadpoolctl
from sklearn.exceptions import UndefinedMetricWarning

import skmtl
from skmtl.metrics import per_task_score

QUICK_TRAIN, QUICK_TEST = 300, 200
RESULTS = Path(__file__).resolve().parent / "results"


def md_table(headers, rows, align=None):
    """A Markdown table; ``align`` is a string of 'l'/'r' per column."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source_revision():
    """Commit of the repository, and whether skmtl/ has uncommitted changes."""
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "skmtl"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
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
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Command: `{command}`",
        f"- Machine: `platform.processor()` = {processor}; CPU model: {model or '?'};"
        f" `os.cpu_count()` = {os.cpu_count()}; {platform.platform()}",
        f"- Versions: Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"skmtl {skmtl.__version__}, threadpoolctl {threadpoolctl.__version__}"
        + "".join(f", {name} {package_version(name)}" for name in extra_versions),
        f"- skmtl source: {source_revision()}",
        "- Threads: OMP/OPENBLAS/MKL_NUM_THREADS=1 and "
        f"`threadpool_limits(1)`; pools seen: {pools or 'none loaded'}",
        f"- Load average (1/5/15 min) at start: {load}",
    ]


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        acc = per_task_score(Y_true, Y_pred) * 100
        f1 = per_task_score(Y_true, Y_pred, "f1_macro") * 100
    return acc, f1


