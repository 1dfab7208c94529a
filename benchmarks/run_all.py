"""Run the benchmark suite, one script after the other, and time the whole.

By default: ``bench_peers.py`` (skmtl against its peers on FDU-MTL, 20
Newsgroups and TREC, tuning on dev, the kernel's floor, the targets) then
``bench_scaling.py`` (growth in documents and n_components), then
``bench_threads_memory.py`` (threads in the kernel; fit memory and time up to
1 M hashed documents). ``--all`` adds
``bench_defaults.py`` and ``bench_epoch.py``. Each script writes its own
Markdown (and PNG) into ``--out``.

Run from the repository root::

    python benchmarks/run_all.py            # about 40 minutes on a 2-core machine
    python benchmarks/run_all.py --quick    # toy sizes, a few minutes
    python benchmarks/run_all.py --all      # also bench_defaults and bench_epoch

Run it on a machine as quiet as possible: every script pins BLAS/OpenMP to one
thread, and its timings are medians of repeated runs, but a busy machine still
slows every number down.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = ["bench_peers.py", "bench_scaling.py", "bench_threads_memory.py"]
EXTRA = ["bench_defaults.py", "bench_epoch.py"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick on")
    parser.add_argument("--all", action="store_true",
                        help="also run bench_defaults.py and bench_epoch.py")
    parser.add_argument("--out", default=str(HERE / "results"),
                        help="output folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    scripts = SUITE + (EXTRA if args.all else [])
    start = time.perf_counter()
    times = []
    for script in scripts:
        cmd = [sys.executable, str(HERE / script), "--out", args.out]
        if args.quick:
            cmd.append("--quick")
        print(f"== {' '.join(cmd)}", flush=True)
        tic = time.perf_counter()
        subprocess.run(cmd, check=True)
        times.append((script, time.perf_counter() - tic))
    total = time.perf_counter() - start
    for script, seconds in times:
        print(f"{script}: {seconds / 60:.1f} min")
    print(f"total wall time: {total / 60:.1f} min")


if __name__ == "__main__":
    main()
