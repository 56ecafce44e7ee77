#!/usr/bin/env python3
"""How long each notebook takes to retrain in the full profile, from the shipped runs' own clocks.

Each notebook trains (with `retrain = true`) the runs listed in NOTEBOOK_RUNS; a run's time is
what its JSON recorded when it was trained for `data/checkpoints/` on this project's 2-core CPU
machine: the epochs' seconds in `history.json`, a fine-tuning's `seconds` in `metrics.json`
(both phases), a search's fold seconds in `results.json`. Runs that are not shipped are listed as
missing. Prints a Markdown table. Usage: retrain_times.py
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CKPT = ROOT / "data" / "checkpoints"

NOTEBOOK_RUNS = {
    "01_autoencoder": ["ae-homework"],
    "02_grid_search": ["search", "search-random", "ae-loss-mse", "ae-loss-l1", "ae-loss-huber",
                       "ae-opt-sgd", "ae-opt-rmsprop", "ae-homework", "ae-improved"],
    "03_finetuning": ["ae-homework", "finetuned-homework", "ae-improved", "finetuned-improved",
                      "softmax-latent", "finetuned-plane2d", "ae-loss-l1", "finetuned-loss-l1"],
    "04_latent_space": ["ae-improved", "finetuned-improved", "ae-homework", "finetuned-homework"],
    "05_gan": ["gan-gan", "gan-acgan", "mnist-classifier"],
    "06_conv_acgan": ["gan-conv-acgan", "gan-acgan", "gan-gan", "mnist-classifier", "mnist-classifier-heldout"],
}


def seconds(name):
    d = CKPT / name
    if not d.exists():
        return None
    if (d / "results.json").exists():  # a search
        return sum(f["seconds"] for f in json.loads((d / "results.json").read_text())["folds"])
    if (d / "finetune_config.json").exists() or (d / "softmax_config.json").exists():
        m = json.loads((d / "metrics.json").read_text())
        extra = 0.0
        if (d / "autoencoder" / "history.json").exists() and name == "finetuned-plane2d":
            # the 2-d autoencoder is trained by this section only
            extra = sum(e["seconds"] for e in json.loads((d / "autoencoder" / "history.json").read_text())["epochs"])
        return m["seconds"] + extra
    h = d / "history.json"
    return sum(e["seconds"] for e in json.loads(h.read_text())["epochs"]) if h.exists() else None


def fmt(s):
    return f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def main():
    print("| notebook | runs it retrains | measured training time | not shipped |")
    print("|---|---|---|---|")
    for nb, runs in NOTEBOOK_RUNS.items():
        times = {r: seconds(r) for r in runs}
        total = sum(t for t in times.values() if t is not None)
        missing = [r for r, t in times.items() if t is None]
        print(f"| `{nb}` | {len(runs)} | {fmt(total)} | {', '.join(missing) or '—'} |")


if __name__ == "__main__":
    main()
