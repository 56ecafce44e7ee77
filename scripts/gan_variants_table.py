#!/usr/bin/env python3
"""Print the scores of every recorded GAN variant as a Markdown table.

    scripts/gan_variants_table.py [--check] [FOLDER]      (default: data/gan-variants)

Reads each NAME.quality.json there (what `latentlab gan score --profile full` wrote) and its
NAME.config.json, and prints two tables, one per family, by the config's `arch.kind`:

- the conv AC-GAN variants, each with what differs from `conv-acgan` (the conv AC-GAN as
  shipped before R1), and
- the FC GAN variants, each with what differs from `fc-base` (the homework's FC GAN recipe, the
  shipped data/checkpoints/gan-gan).

A variant whose config is its family's shipped checkpoint's is marked "shipped", unless its
name ends in -rerun (the same recipe trained again, on another machine). Each row: the
epochs, what differs, then for the main scorer and the held-out one the Fréchet distance, the
class consistency (conv AC-GAN) or the smallest and largest digit share (FC GAN, which draws no
labels), precision and recall, and once (they need no scorer) the ink and slant spread
(generated std / real std, averaged over digits as `spread_ratios` does). The last row is each
scorer's floor (train digits against test digits). data/gan-variants/README.md carries both
tables; with --check the script prints nothing and fails when the README's tables are not
exactly these (scripts/test.sh runs it, so a variant recorded without its row, or a row typed by
hand, is caught).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "data" / "checkpoints"
# (title, arch.kind, base variant, shipped checkpoint, the column between FD and P / R, fields
# that the family's older config files predate, with the value such a file reads as)
FAMILIES = [
    ("conv AC-GAN", "conv-ac-gan", "conv-acgan", CHECKPOINTS / "gan-conv-acgan" / "config.json",
     "consistency", {}),
    ("FC GAN", "gan", "fc-base", CHECKPOINTS / "gan-gan" / "config.json", "shares",
     {"arch.init": "tch", "d_fake_class_weight": 1.0}),
]
# The raw generator of a g_ema_decay run was scored from a copy of that run whose config
# reads as the base recipe.
BY_HAND = {
    "conv-acgan-ema-raw": "the g_ema_decay run's own G (not its average)",
    "fc-ema-raw": "the g_ema_decay run's own G (not its average)",
}


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


def completed(cfg, implied):
    """`cfg` with each implied dotted key that it lacks set to the value it reads as."""
    cfg = json.loads(json.dumps(cfg))
    for key, value in implied.items():
        node = cfg
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node.setdefault(last, value)
    return cfg


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


def shares(scores):
    hist = scores["class_histogram"]
    return f"{100 * min(hist):.1f}–{100 * max(hist):.1f}"


def cells(main, heldout, middle):
    """Both scorers side by side; the strokes do not depend on the scorer, so they come once."""
    sp = spread(main.get("strokes", []))
    if middle == "consistency":
        mid = f"{100 * main['class_consistency']:.1f} / {100 * heldout['class_consistency']:.1f} %"
    else:
        mid = f"{shares(main)} / {shares(heldout)} %"
    return [
        f"{main['frechet_to_test']:.2f} / {heldout['frechet_to_test']:.2f}",
        mid,
        f"{main['precision']:.3f} / {main['recall']:.3f}",
        f"{heldout['precision']:.3f} / {heldout['recall']:.3f}",
        f"{sp[0]:.2f} / {sp[1]:.2f}" if sp else "–",
    ]


def family_table(folder, title, kind, base_name, shipped_config, middle, implied):
    """One family's Markdown table and its number of rows."""
    base_file = folder / f"{base_name}.config.json"
    if not base_file.exists():
        sys.exit(f"{base_file} is missing: the {title} table compares every variant with it")
    base = completed(json.loads(base_file.read_text()), implied)
    shipped = completed(json.loads(shipped_config.read_text()), implied) if shipped_config.exists() else None
    rows, floors = [], None
    for q in sorted(folder.glob("*.quality.json")):
        name = q.name[: -len(".quality.json")]
        cfg_file = folder / f"{name}.config.json"
        if not cfg_file.exists():
            sys.exit(f"{q}: {cfg_file.name} is missing beside it (scripts/gan_variant.py writes both)")
        cfg = json.loads(cfg_file.read_text())
        if cfg.get("arch", {}).get("kind") != kind:
            continue
        cfg = completed(cfg, implied)
        quality = json.loads(q.read_text())
        gens = [k for k in quality if k not in ("samples", "floors")]
        if len(gens) != 1:
            sys.exit(f"{q}: expected the scores of one generator, found {gens}")
        run = quality[gens[0]]
        floors = floors or quality["floors"]
        scorers = run["scores"]
        changed = ", ".join(diff(cfg, base)) or "(the base recipe)"
        # A rerun has the shipped config but is another training (on another machine).
        is_shipped = cfg == shipped and not name.endswith("-rerun")
        label = f"`{name}` (shipped)" if is_shipped else f"`{name}`"
        if name in BY_HAND:  # a row whose config cannot say what it is
            changed, label = BY_HAND[name], f"`{name}`"
        rows.append([label, str(run["epochs"]), changed] + cells(scorers["main"], scorers["heldout"], middle))
    mid_head = "consistency scorer / held-out" if middle == "consistency" else "digit shares scorer / held-out"
    head = [
        "variant", "epochs", f"differs from `{base_name}`", "FD scorer / held-out",
        mid_head, "P / R scorer", "P / R held-out", "ink / slant spread",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if floors:
        lines.append("| floor (train vs test) | | | " + " | ".join(cells(floors["main"], floors["heldout"], middle)) + " |")
    return "\n".join(lines) + "\n", len(rows)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    folder = Path(args[0]) if args else ROOT / "data" / "gan-variants"
    tables = [(family[0], *family_table(folder, *family)) for family in FAMILIES]
    if not check:
        print("\n".join(f"{title}:\n\n{table}" for title, table, _ in tables), end="")
        return
    readme = folder / "README.md"
    text = readme.read_text()
    for title, table, n in tables:
        if table not in text:
            sys.exit(
                f"{readme}: its table of {title} variants is not the one the recorded scores give; "
                f"replace it with the output of `python3 scripts/gan_variants_table.py`"
            )
    print(f"{readme}: the tables match the {sum(n for _, _, n in tables)} recorded variants")


if __name__ == "__main__":
    main()
