#!/usr/bin/env python3
"""Print the scores of every recorded GAN variant as a Markdown table.

    scripts/gan_variants_table.py [--check] [FOLDER]      (default: data/gan-variants)

Reads each NAME.quality.json there (what `latentlab gan score --profile full` wrote) and its
NAME.config.json, and prints one row per variant: epochs, what differs from the base recipe
(`conv-acgan`, the conv AC-GAN as shipped before R1; the variant whose config is the shipped
checkpoint's, data/checkpoints/gan-conv-acgan/config.json, is marked "shipped"), then for the main scorer and the held-out one the Fréchet distance, the class
consistency, precision and recall, and once (they need no scorer) the ink and slant spread
(generated std / real std, averaged over digits as `spread_ratios` does). The last row is each scorer's floor (train digits
against test digits). data/gan-variants/README.md carries this table; with --check the script
prints nothing and fails when the README's table is not exactly this one (scripts/test.sh runs
it, so a variant recorded without its row, or a row typed by hand, is caught).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "conv-acgan"
# The raw generator of the g_ema_decay run was scored from a copy of that run whose config
# reads as the base recipe.
BY_HAND = {"conv-acgan-ema-raw": "the g_ema_decay run's own G (not its average)"}
SHIPPED_CONFIG = ROOT / "data" / "checkpoints" / "gan-conv-acgan" / "config.json"


def spread(strokes):
    usable = [
        s for s in strokes
        if s["real"]["images"] >= 2 and s["generated"]["images"] >= 2
        and s["real"]["ink_std"] > 0 and s["real"]["slant_std"] > 0
    ]
    if not usable:
        return None
    n = len(usable)
    ink = sum(s["generated"]["ink_std"] / s["real"]["ink_std"] for s in usable) / n
    slant = sum(s["generated"]["slant_std"] / s["real"]["slant_std"] for s in usable) / n
    return ink, slant


def diff(cfg, base, prefix=""):
    """Settings that differ from the base recipe, as key=value (epochs left out)."""
    out = []
    for key in sorted(set(cfg) | set(base)):
        if key in ("epochs", "profile"):
            continue
        a, b = cfg.get(key), base.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff(a, b, prefix + key + ".")
        elif a != b:
            out.append(f"{prefix}{key}={json.dumps(a)}")
    return out


def cells(main, heldout):
    """Both scorers side by side; the strokes do not depend on the scorer, so they come once."""
    sp = spread(main.get("strokes", []))
    return [
        f"{main['frechet_to_test']:.2f} / {heldout['frechet_to_test']:.2f}",
        f"{100 * main['class_consistency']:.1f} / {100 * heldout['class_consistency']:.1f} %",
        f"{main['precision']:.3f} / {main['recall']:.3f}",
        f"{heldout['precision']:.3f} / {heldout['recall']:.3f}",
        f"{sp[0]:.2f} / {sp[1]:.2f}" if sp else "–",
    ]


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    folder = Path(args[0]) if args else ROOT / "data" / "gan-variants"
    base_file = folder / f"{BASE}.config.json"
    if not base_file.exists():
        sys.exit(f"{base_file} is missing: the table compares every variant with the base recipe")
    base = json.loads(base_file.read_text())
    shipped = json.loads(SHIPPED_CONFIG.read_text()) if SHIPPED_CONFIG.exists() else None
    rows, floors = [], None
    for q in sorted(folder.glob("*.quality.json")):
        name = q.name[: -len(".quality.json")]
        quality = json.loads(q.read_text())
        cfg_file = folder / f"{name}.config.json"
        cfg = json.loads(cfg_file.read_text()) if cfg_file.exists() else {}
        gens = [k for k in quality if k not in ("samples", "floors")]
        if len(gens) != 1:
            sys.exit(f"{q}: expected the scores of one generator, found {gens}")
        run = quality[gens[0]]
        floors = floors or quality["floors"]
        scorers = run["scores"]
        changed = ", ".join(diff(cfg, base)) or "(the base recipe)"
        label = f"`{name}` (shipped)" if cfg == shipped else f"`{name}`"
        if name in BY_HAND:  # a row whose config cannot say what it is
            changed, label = BY_HAND[name], f"`{name}`"
        rows.append([label, str(run["epochs"]), changed] + cells(scorers["main"], scorers["heldout"]))
    head = [
        "variant", "epochs", "differs from `conv-acgan`", "FD scorer / held-out",
        "consistency scorer / held-out", "P / R scorer", "P / R held-out", "ink / slant spread",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if floors:
        lines.append("| floor (train vs test) | | | " + " | ".join(cells(floors["main"], floors["heldout"])) + " |")
    table = "\n".join(lines) + "\n"
    if not check:
        print(table, end="")
        return
    readme = folder / "README.md"
    if table not in readme.read_text():
        sys.exit(
            f"{readme}: its table of variants is not the one the recorded scores give; "
            f"replace it with the output of `python3 scripts/gan_variants_table.py`"
        )
    print(f"{readme}: the table matches the {len(rows)} recorded variants")


if __name__ == "__main__":
    main()
