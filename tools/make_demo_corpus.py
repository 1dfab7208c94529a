"""Build the bundled demo corpus ``skmtl/datasets/data/demo_corpus.jsonl.gz``.

The demo corpus is a small subset of FDU-MTL (Liu, Qiu & Huang, ACL 2017): the four
classic Amazon domains of Blitzer et al. (2007), with the ``train`` and ``test``
splits only (``dev`` and ``unlabeled`` rows are dropped).  Every row of those splits
is kept: the result is about 2.0 MB compressed, under the 2.5 MB budget, so no train
rows are cut.  Labels 0/1 become the strings ``"negative"``/``"positive"``.  Rows
keep the source file order (grouped by task, train before test).

The output is byte-reproducible: fixed row order, fixed JSON layout, and a gzip
header with no file name and ``mtime=0``.  Run from the repository root::

    python tools/make_demo_corpus.py
"""

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TASKS = ("books", "dvd", "electronics", "kitchen_housewares")
SPLITS = ("train", "test")
LABELS = {0: "negative", 1: "positive"}


def iter_rows(source):
    """Yield the kept rows of the FDU-MTL file, in file order."""
    with gzip.open(source, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            task, split = row["task"], row["split"]
            if task not in TASKS or split not in SPLITS:
                continue
            yield {
                "task": task,
                "split": split,
                "label": LABELS[row["label"]],
                "text": row["text"],
            }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO_ROOT / ".." / "shared" / "data" / "fdu_mtl" / "fdu_mtl.jsonl.gz",
        help="FDU-MTL long-format file (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "skmtl" / "datasets" / "data" / "demo_corpus.jsonl.gz",
        help="output file (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    counts = Counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            for row in iter_rows(args.source):
                line = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
                gz.write((line + "\n").encode("utf-8"))
                counts[row["task"], row["split"], row["label"]] += 1

    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    print(f"{'task':<20}{'split':<7}{'negative':>9}{'positive':>9}{'total':>7}")
    for task in TASKS:
        for split in SPLITS:
            neg = counts[task, split, "negative"]
            pos = counts[task, split, "positive"]
            print(f"{task:<20}{split:<7}{neg:>9}{pos:>9}{neg + pos:>7}")
    print(f"total rows: {sum(counts.values())}")


if __name__ == "__main__":
    main()
