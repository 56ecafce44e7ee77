#!/usr/bin/env bash
# Training throughput, latentlab vs plain PyTorch on the same libtorch (see BENCHMARKS.md).
#
#   bench/run_benchmarks.sh [-r REPEATS] [-s AE_STEPS] [-g GAN_STEPS] [-t "THREADS..."]
#                           [-m "MODELS..."] [-d full|embedded] [--no-tuned] [--no-rss]
#                           [--breakdown] [--malloc-tuned]
#
# Builds `examples/bench_train.rs` in release mode, then for each model (ae, gan) and thread
# count (1 and 2) runs latentlab, PyTorch with a DataLoader (the main reference) and PyTorch with
# in-memory index slicing ("tuned") REPEATS times (default 5), each run a fresh process, the
# order alternating between repeats (L P T, then T P L, ...) so that load drifts hit all three
# alike. Prints every run, then the medians and the ratios latentlab / PyTorch. Finally one
# full-profile autoencoder epoch with its peak RSS (`--no-rss` skips it) and, with
# `--breakdown`, the per-phase step times of both implementations. Defaults: 200 autoencoder
# steps (batch 256) and 100 GAN steps (batch 128), each after 10 warm-up steps.
#
# `--malloc-tuned` runs every process with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32 MiB
# and trim_threshold=256 MiB, so that neither implementation pays page faults for memory that
# glibc hands back to the kernel every step (see BENCHMARKS.md: without it, whether a process
# does depends on its allocation history).
#
# Python: the venv of scripts/setup.sh (`~/.cache/latentlab/env.sh`) if present, else `python3`
# (it needs torch and numpy; use the same torch version as the crate's libtorch).
# Raw lines are also appended to out/bench/train-<date>.log (out/ is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=5
STEPS=200
GAN_STEPS=100
THREADS="1 2"
MODELS="ae gan"
DATA=full
TUNED=1
RSS=1
BREAKDOWN=0
while [ $# -gt 0 ]; do
    case "$1" in
        -r) REPEATS=$2; shift 2 ;;
        -s) STEPS=$2; shift 2 ;;
        -g) GAN_STEPS=$2; shift 2 ;;
        -t) THREADS=$2; shift 2 ;;
        -m) MODELS=$2; shift 2 ;;
        -d) DATA=$2; shift 2 ;;
        --no-tuned) TUNED=0; shift ;;
        --no-rss) RSS=0; shift ;;
        --breakdown) BREAKDOWN=1; shift ;;
        --malloc-tuned)
            export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
            shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -f "$HOME/.cache/latentlab/env.sh" ]; then
    # shellcheck disable=SC1091
    source "$HOME/.cache/latentlab/env.sh"
fi
PY=${PYTHON:-python}
command -v "$PY" >/dev/null || PY=python3

nice cargo build --release --example bench_train
BIN=target/release/examples/bench_train

mkdir -p out/bench
LOG=out/bench/train-$(date +%Y%m%d-%H%M%S).log
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT

note() { echo "$*" | tee -a "$LOG" >&2; }
note "# $(date -Iseconds)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
note "# torch $("$PY" -c 'import torch; print(torch.__version__)')  load:$(uptime | sed 's/.*load average//')  GLIBC_TUNABLES=${GLIBC_TUNABLES:-}"

steps_for() { if [ "$1" = gan ]; then echo "$GAN_STEPS"; else echo "$STEPS"; fi; }

run_one() { # impl model threads
    local line steps
    steps=$(steps_for "$2")
    case "$1" in
        latentlab) line=$("$BIN" "$2" --steps "$steps" --threads "$3" --data "$DATA") ;;
        pytorch) line=$("$PY" bench/pytorch_reference.py "$2" --steps "$steps" --threads "$3" --data "$DATA") ;;
        pytorch-tuned) line=$("$PY" bench/pytorch_reference.py "$2" --steps "$steps" --threads "$3" --data "$DATA" --variant tuned) ;;
    esac
    echo "$line" | tee -a "$LOG" "$RESULTS"
}

IMPLS="latentlab pytorch"
[ "$TUNED" = 1 ] && IMPLS="$IMPLS pytorch-tuned"
REVERSED=$(echo "$IMPLS" | tr ' ' '\n' | tac | tr '\n' ' ')
for model in $MODELS; do
    for threads in $THREADS; do
        for r in $(seq 1 "$REPEATS"); do
            order=$IMPLS
            [ $((r % 2)) = 0 ] && order=$REVERSED
            for impl in $order; do
                run_one "$impl" "$model" "$threads"
            done
        done
    done
done
note "# load after the runs:$(uptime | sed 's/.*load average//')"

"$PY" - "$RESULTS" <<'EOF' | tee -a "$LOG"
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
batches = defaultdict(set)
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
    runs[(f[1], int(kv["threads"]), f[0])].append(float(kv["samples_per_s"]))
    batches[f[1]].add(kv["batch"])
for model, b in batches.items():
    if len(b) > 1:
        print(f"WARNING: {model} ran with different batch sizes {sorted(b)}: the ratios are void")
print()
print("| model | threads | implementation | runs | median samples/s | min–max | latentlab ÷ this |")
print("|---|---|---|---|---|---|---|")
for model in ("ae", "gan"):
    for threads in sorted({k[1] for k in runs if k[0] == model}):
        ours = runs.get((model, threads, "latentlab"))
        ref = statistics.median(ours) if ours else None
        for impl in ("latentlab", "pytorch", "pytorch-tuned"):
            v = runs.get((model, threads, impl))
            if not v:
                continue
            m = statistics.median(v)
            ratio = f"{ref / m:.3f}" if ref and impl != "latentlab" else "—"
            print(f"| {model} | {threads} | {impl} | {len(v)} | {m:.0f} | {min(v):.0f}–{max(v):.0f} | {ratio} |")
EOF

if [ "$RSS" = 1 ] && [[ " $MODELS " == *" ae "* ]]; then
    note "# peak RSS of one full-profile autoencoder epoch (train_autoencoder, then evaluation):"
    "$BIN" ae --measure-rss --threads "${THREADS%% *}" --data "$DATA" | tee -a "$LOG"
fi

if [ "$BREAKDOWN" = 1 ]; then
    for model in $MODELS; do
        for threads in $THREADS; do
            steps=$(steps_for "$model")
            "$BIN" "$model" --breakdown --steps "$steps" --threads "$threads" --data "$DATA" | tee -a "$LOG"
            "$PY" bench/pytorch_reference.py "$model" --breakdown --steps "$steps" --threads "$threads" --data "$DATA" --variant both | tee -a "$LOG"
        done
    done
fi
note "# raw lines: $LOG"
