#!/usr/bin/env python3
"""Fails when a markdown cell of a notebook states a measured number.

Measured numbers drift when a run is redone, so notebooks print them from the runs' JSON in code
cells. This check flags, in markdown text outside `code spans`:

- percentages (`91.0 %`, `7%`),
- numbers with three or more decimals (`0.0309`),
- durations (`75 minutes`, `40 s`, `2 h`),
- epoch counts (`10 epochs`), which differ between profiles,

except the homework report's own numbers (they never change), listed in HOMEWORK below.
Usage: check_notebook_prose.py [NOTEBOOK ...] (default: notebooks/*.ipynb and notebooks/solutions/).
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Numbers quoted from the homework report (../shared/homework-report.txt): fixed, so allowed.
HOMEWORK = {"150 epochs", "0.0309", "0.0310", "87.7 %", "87.7%", "32.6 %", "32.6%", "33.1%", "91.0%"}

PATTERNS = [
    ("a percentage", re.compile(r"\d+(?:[.,]\d+)?\s?%")),
    ("a number with 3+ decimals", re.compile(r"\b\d+\.\d{3,}\b")),
    ("a duration", re.compile(r"\b\d[\d,.]*\s?(?:s|sec|seconds?|min|minutes?|h|hours?)\b")),
    ("an epoch count", re.compile(r"\b\d[\d,]*\s+(?:\w+\s+)?epochs?\b")),
]


def problems(text: str):
    text = re.sub(r"`[^`]*`", "", text)  # code spans name settings and fields, not measurements
    for what, pat in PATTERNS:
        for m in pat.finditer(text):
            found = m.group(0)
            if found.strip() in HOMEWORK:
                continue
            line = text[: m.start()].count("\n") + 1
            yield what, found, line


def main() -> int:
    paths = [pathlib.Path(p) for p in sys.argv[1:]] or sorted(
        list((ROOT / "notebooks").glob("*.ipynb")) + list((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    )
    bad = 0
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            for what, found, line in problems(src):
                bad += 1
                print(f"{path.relative_to(ROOT)}: markdown cell {i}, line {line}: {what} '{found}' "
                      "(print measured numbers from the run's JSON in a code cell)")
    if bad:
        print(f"{bad} measured number(s) typed into markdown; edit scripts/make_notebooks.py")
        return 1
    print(f"notebook prose: no measured numbers in markdown ({len(paths)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
