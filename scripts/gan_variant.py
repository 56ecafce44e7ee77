#!/usr/bin/env python3
"""Train and score one GAN variant: the shipped conv AC-GAN recipe with some settings changed.

    scripts/gan_variant.py NAME [--set KEY=JSON ...] [--base FILE]

- The recipe changed is the shipped checkpoint's (data/checkpoints/gan-conv-acgan/config.json)
  unless --base names another config (data/gan-variants/conv-acgan.config.json: the recipe
  before R1).
- KEY is a dotted path into the run config (`arch.projection`, `g_class_weight`, `epochs`),
  JSON the new value (`true`, `0.3`, `"hinge"`).
- The run goes to runs/variants/NAME (resumed if it is there with the same config), and
  then `latentlab gan score --profile full` scores it.
- It records data/gan-variants/NAME.config.json and NAME.quality.json (what issue 14 asks:
  every variant with its scores).
- With --snapshots-from N, the generator (and its weight average, if any) is copied after each
  epoch from N on into runs/variants/NAME-snaps/eEPOCH, a run folder that `latentlab gan sample`
  and `cargo run --example gan_shares` read (how the digit mix of the FC GAN variants was
  followed over epochs).
- With --continue-from RUN (a run folder, e.g. runs/variants/e40-c64-tac10), the variant trains
  that run on from its saved state instead of from scratch (`latentlab gan train
  --continue-from`): the base is RUN's config, and only `epochs` and `lr_schedule` may be set.
  RUN must have kept its state: runs finished before 2026-12-07 did not.
- LATENTLAB_BIN names the latentlab binary (default: `latentlab` on the PATH).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "data" / "gan-variants"


def set_path(cfg, key, value):
    node = cfg
    parts = key.split(".")
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            sys.exit(f"--set {key}: '{p}' is not a section of the config")
        node = node[p]
    node[parts[-1]] = value


def epochs_done(run):
    try:
        return len(json.loads((run / "history.json").read_text())["epochs"])
    except (OSError, ValueError, KeyError):
        return 0  # not written yet, or being replaced


def train_with_snapshots(cmd, run, snaps, first):
    """Runs the training `cmd`, copying each epoch's generator from epoch `first` on into
    `snaps`/eEPOCH. The run saves the weights before the history, so a history that lists
    epoch n comes after that epoch's weights; the next epoch takes far longer than the copy."""
    proc = subprocess.Popen(cmd)
    seen = epochs_done(run)
    while True:
        finished = proc.poll() is not None
        n = epochs_done(run)
        if n != seen and n >= first:
            dest = snaps / f"e{n}"
            tmp = snaps / f".tmp-e{n}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for f in ["config.json", "history.json", "generator.safetensors", "generator_ema.safetensors"]:
                if (run / f).exists():
                    shutil.copyfile(run / f, tmp / f)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.replace(dest)
        seen = n
        if finished:
            if proc.returncode:
                sys.exit(f"training failed (exit status {proc.returncode}); run the command again to resume")
            return
        time.sleep(5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    ap.add_argument("--snapshots-from", type=int, metavar="EPOCH",
                    help="copy the generator after each epoch from EPOCH on into runs/variants/NAME-snaps/")
    ap.add_argument("--base", help="the config to change (default: the shipped checkpoint's, the "
                    "current recipe; with --continue-from, that run's)")
    ap.add_argument("--continue-from", metavar="RUN",
                    help="train this run folder on (more epochs) instead of starting from scratch")
    args = ap.parse_args()
    if args.base is None:
        args.base = str(Path(args.continue_from) / "config.json" if args.continue_from
                        else ROOT / "data" / "checkpoints" / "gan-conv-acgan" / "config.json")
    if not args.name.replace("-", "").replace("_", "").isalnum():
        sys.exit(f"NAME '{args.name}': use letters, digits, - and _ only")
    cfg = json.loads(Path(args.base).read_text())
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            sys.exit(f"--set {item}: expected KEY=JSON, e.g. g_class_weight=0.3")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            sys.exit(f"--set {item}: the value is not JSON ({e}); quote strings as '\"hinge\"'")
        set_path(cfg, key, value)
    exe = os.environ.get("LATENTLAB_BIN", "latentlab")
    run = ROOT / "runs" / "variants" / args.name
    run.mkdir(parents=True, exist_ok=True)
    cfg_file = run.parent / f"{args.name}.config.json"
    tmp = cfg_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(cfg, indent=2) + "\n")
    tmp.replace(cfg_file)
    train = [exe, "gan", "train", "--config", str(cfg_file), "--out", str(run)]
    if args.continue_from:
        train += ["--continue-from", args.continue_from]
    if args.snapshots_from is None:
        subprocess.run(train, check=True)
    else:
        if args.snapshots_from < 1:
            sys.exit(f"--snapshots-from {args.snapshots_from}: give an epoch from 1 on")
        train_with_snapshots(train, run, run.parent / f"{args.name}-snaps", args.snapshots_from)
    quality = run.parent / f"{args.name}.quality.json"
    subprocess.run([exe, "gan", "score", "--profile", "full", "--from", str(run), "--out", str(quality)], check=True)
    VARIANTS.mkdir(exist_ok=True)
    shutil.copyfile(run / "config.json", VARIANTS / f"{args.name}.config.json")
    shutil.copyfile(quality, VARIANTS / f"{args.name}.quality.json")
    print(f"recorded {args.name} in {VARIANTS}; put the output of "
          f"`python3 scripts/gan_variants_table.py` in its README (scripts/test.sh checks it)")


if __name__ == "__main__":
    main()
