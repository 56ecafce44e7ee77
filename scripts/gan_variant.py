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
- LATENTLAB_BIN names the latentlab binary (default: `latentlab` on the PATH).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    ap.add_argument("--base", default=str(ROOT / "data" / "checkpoints" / "gan-conv-acgan" / "config.json"),
                    help="the config to change (default: the shipped checkpoint's, the current recipe)")
    args = ap.parse_args()
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
    subprocess.run([exe, "gan", "train", "--config", str(cfg_file), "--out", str(run)], check=True)
    quality = run.parent / f"{args.name}.quality.json"
    subprocess.run([exe, "gan", "score", "--profile", "full", "--from", str(run), "--out", str(quality)], check=True)
    VARIANTS.mkdir(exist_ok=True)
    shutil.copyfile(run / "config.json", VARIANTS / f"{args.name}.config.json")
    shutil.copyfile(quality, VARIANTS / f"{args.name}.quality.json")
    print(f"recorded {args.name} in {VARIANTS}; put the output of "
          f"`python3 scripts/gan_variants_table.py` in its README (scripts/test.sh checks it)")


if __name__ == "__main__":
    main()
