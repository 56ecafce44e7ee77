#!/usr/bin/env python3
"""Execute every notebook in notebooks/ headlessly with the `latentlab` kernel.

Writes the executed .ipynb and an HTML copy of each into OUT (default: out/notebooks), fails on
the first cell error (printing the cell and its error), and prints one line per notebook with its
time, then a closing 'N passed, M failed' line.

With --require-checks (the solution notebooks), a notebook also fails unless its exercise
checks printed at least one "✓" line and no "✗" line.

Usage: run_notebooks.py [--out DIR] [--timeout SECONDS] [--require-checks] [NOTEBOOK ...]
"""
import argparse
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = pathlib.Path(__file__).resolve().parent.parent


def write_atomic(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cell_errors(nb) -> list:
    """evcxr reports an error returned by `?` on stderr without failing the cell; treat any
    stderr output of a cell as a failure so that CI catches it."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", "")).strip()
                if text:
                    found.append((cell.source.strip().splitlines()[0][:80], text[-600:]))
    return found


def check_lines(nb) -> tuple:
    """Counts the exercise checks' "✓" and "✗" lines in a notebook's outputs."""
    ok = bad = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                for line in "".join(out.get("text", "")).splitlines():
                    ok += line.startswith("✓ ")
                    bad += line.startswith("✗ ")
    return ok, bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "out" / "notebooks"))
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    ap.add_argument("--kernel", default="latentlab")
    ap.add_argument("--require-checks", action="store_true",
                    help="fail unless every exercise check printed a ✓ (for the solution notebooks)")
    ap.add_argument("--no-html", action="store_true", help="write only the executed .ipynb files")
    ap.add_argument("notebooks", nargs="*")
    args = ap.parse_args()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [pathlib.Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks found in notebooks/", file=sys.stderr)
        return 1
    profile = os.environ.get("LATENTLAB_PROFILE", "quick")
    print(f"executing {len(paths)} notebook(s), profile {profile}, kernel {args.kernel}, output {out}")
    passed, failed = 0, 0
    for path in paths:
        if not path.exists():
            print(f"FAIL {path}: no such notebook")
            failed += 1
            continue
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name=args.kernel,
            resources={"metadata": {"path": str(path.parent.resolve())}},
            startup_timeout=120,
        )
        t0 = time.time()
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = e
        except Exception as e:  # kernel died, timeout, missing kernel spec...
            error = e
        dt = time.time() - t0
        if error is None:
            errs = cell_errors(nb)
            if errs:
                first, text = errs[0]
                error = f"a cell wrote to stderr (cell starting `{first}`):\n{text}"
        if error is None and args.require_checks:
            ok, bad = check_lines(nb)
            if bad or not ok:
                error = f"exercise checks: {ok} held, {bad} did not"
        write_atomic(out / path.name, nbformat.writes(nb))
        if not args.no_html:
            html, _ = HTMLExporter().from_notebook_node(nb)
            write_atomic(out / (path.stem + ".html"), html)
        if error is None:
            print(f"ok   {path.name} ({dt:.0f}s)", flush=True)
            passed += 1
        else:
            print(f"FAIL {path.name} ({dt:.0f}s): {error}", flush=True)
            failed += 1
    print(f"notebooks: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
