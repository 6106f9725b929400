#!/usr/bin/env bash
# A model in PyTorch (Debian's python3-torch, installed here if absent: a tool dependency, never
# the engine's) and in `clgan bench`, alternating on this machine for a few
# rounds; prints every measurement, then the ratio of the medians over the rounds of clgan's
# samples per second and of PyTorch's in its best thread setting (the setting whose median is
# best). Rounds even out a shared machine's swings, which move either side by 10% or more.
# PyTorch runs without the machine's OpenBLAS pins (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE), which
# cost it a quarter (measured on the 2-core development machine); libopenblas0-pthread must be
# installed, or its dense layers run on the reference BLAS.
# usage: tools/bench_vs_torch.sh [--model mnist_paper|dcgan_fashion|sngan_fashion] [--device SEL] [--iters N]
#                                [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
iters=30
rounds=3
model=mnist_paper
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --iters) iters=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --model) model=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch
fi
[ -x build/clgan ] || { cmake -B build -S . >/dev/null && cmake --build build -j2 >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
    echo "== round $r of $rounds: PyTorch (torch threads x OpenBLAS threads, each in its own process)"
    for t in 1 2; do
        for b in 1 2; do
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$t \
                OPENBLAS_NUM_THREADS=$b "$py" tools/bench_torch.py --model "$model" \
                --iters "$iters" --threads "$t" |
                sed "s/}$/, \"openblas_threads\": $b, \"round\": $r}/" |
                tee -a "$out/torch.jsonl"
        done
    done
    echo "== round $r of $rounds: clgan bench"
    build/clgan bench "models/$model.yaml" --iters "$iters" --json "$out/clgan$r.json" \
        ${args[@]+"${args[@]}"} | if [ "$r" = 1 ]; then cat; else grep -E "iteration:|samples/s"; fi
done
"$py" - "$out" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
torch = [json.loads(l) for l in open(f"{d}/torch.jsonl")]
settings = {}
for t in torch:
    settings.setdefault((t["threads"], t["openblas_threads"]), []).append(t)
(best_t, best_b), best = max(settings.items(),
                             key=lambda kv: statistics.median(x["samples_per_s"] for x in kv[1]))
clgan = [json.load(open(f"{d}/clgan{r}.json"))["results"][0] for r in range(1, rounds + 1)]
t_med = statistics.median(x["samples_per_s"] for x in best)
c_med = statistics.median(c["samples_per_s"] for c in clgan)
print(f"\nPyTorch ({torch[0]['framework']}, {torch[0]['model']}, best setting: {best_t} torch "
      f"threads, {best_b} OpenBLAS threads): " +
      ", ".join(f"{x['samples_per_s']:.0f}" for x in best) + f" samples/s; median {t_med:.0f} "
      f"({statistics.median(x['median_ms'] for x in best):.1f} ms/iteration)")
print(f"clgan ({clgan[0]['device']}): " + ", ".join(f"{c['samples_per_s']:.0f}" for c in clgan) +
      f" samples/s; median {c_med:.0f} "
      f"({statistics.median(c['median_ms'] for c in clgan):.1f} ms/iteration)")
print("per round, clgan / PyTorch's best setting: " +
      ", ".join(f"{c['samples_per_s'] / x['samples_per_s']:.2f}x" for c, x in zip(clgan, best)))
print(f"clgan / PyTorch (medians over {rounds} rounds): {c_med / t_med:.2f}x")
PY
