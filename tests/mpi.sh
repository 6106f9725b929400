#!/usr/bin/env bash
# mpirun -n R clgan train (issue 16): R ranks compute the one-device run, a repeat is
# bit-identical, checkpoints resume with any R, and faults end the job with a message instead
# of a hang. Two cores: PoCL devices of one thread each, --oversubscribe.
# Usage: mpi.sh CLGAN SOURCE_DIR MPIEXEC   (POCL_DEVICES="pthread basic"; numpy from Debian)
set -uo pipefail
clgan=$1
src=$2
mpiexec=$3
dir=$(mktemp -d /tmp/clgan-mpi-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "mpi: FAILED: $*" >&2; exit 1; }
ok() { echo "mpi: ok: $*"; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # CI runs as root
export OMPI_MCA_rmaps_base_oversubscribe=1 POCL_MAX_PTHREAD_COUNT=1
mpi() { local n=$1; shift; "$mpiexec" --oversubscribe -n "$n" "$clgan" "$@"; }
# run N MODEL ARGS...: mpirun -n N (N = 1: one process, no mpirun) clgan train, quiet
run() {
    local n=$1 model=$2; shift 2
    if [ "$n" = 1 ]; then
        "$clgan" train "$model" --quiet --force --device pthread "$@" 2>"$dir/err" >/dev/null
    else
        mpi "$n" train "$model" --quiet --force "$@" 2>"$dir/err" >/dev/null
    fi || fail "$n rank(s): clgan train $model $*: $(cat "$dir/err")"
}
# $py, close and same_stats
source "$(dirname "$0")/replica_checks.sh"

# tiny_gan12: dropout in both networks, SGD with momentum; tiny_bn12: batch norm in both;
# tiny_ra_sgd: the relativistic loss, whose means are over every rank's rows
for name in tiny_gan12 tiny_bn12 tiny_ra_sgd; do
    model=$src/tests/data/$name.yaml
    run 1 "$model" --iters 12 --out "$dir/$name-1"
    for n in 2 3; do
        run "$n" "$model" --iters 12 --out "$dir/$name-$n"
        close "$dir/$name-1/checkpoint.safetensors" "$dir/$name-$n/checkpoint.safetensors" 1e-4 1e-5
        same_stats "$dir/$name-1/log.csv" "$dir/$name-$n/log.csv"
        run "$n" "$model" --iters 12 --out "$dir/$name-$n-again"
        close "$dir/$name-$n/checkpoint.safetensors" "$dir/$name-$n-again/checkpoint.safetensors" 0 0
    done
    ok "$name: mpirun -n 2 and -n 3 against 1 device: every tensor within 1e-4 relative, 1e-5 absolute, the logged statistics equal; each repeated bit for bit"
done

# a graph (issue 23): a ResNet with class-conditional batch norm, self-attention, spectral norm
# gradient penalties (WGAN-GP's interpolation weights by global row), and adaptive augmentation
# (ADA's sums of signs added up over the ranks: p moves alike; checkpoints keep it)
for name in tiny_penalty tiny_ada; do
    model=$src/tests/data/$name.yaml
    run 1 "$model" --iters 9 --out "$dir/$name-1"
    run 2 "$model" --iters 9 --out "$dir/$name-2"
    close "$dir/$name-1/checkpoint.safetensors" "$dir/$name-2/checkpoint.safetensors" 1e-4 1e-5
    same_stats "$dir/$name-1/log.csv" "$dir/$name-2/log.csv"
    a=$(grep -ao '"augment_adaptive":"[^"]*"' "$dir/$name-1/checkpoint.safetensors")
    b=$(grep -ao '"augment_adaptive":"[^"]*"' "$dir/$name-2/checkpoint.safetensors")
    [ "$a" = "$b" ] || fail "$name: ADA's state on 1 rank ($a) and on 2 ($b)"
done
ok "tiny_penalty, tiny_ada: mpirun -n 2 against 1 device: every tensor within 1e-4 relative, 1e-5 absolute, the logged statistics and ADA's p equal"

graph=$src/tests/data/tiny_graph.yaml
run 1 "$graph" --iters 12 --out "$dir/graph-1"
run 2 "$graph" --iters 12 --out "$dir/graph-2"
close "$dir/graph-1/checkpoint.safetensors" "$dir/graph-2/checkpoint.safetensors" 1e-4 1e-5
same_stats "$dir/graph-1/log.csv" "$dir/graph-2/log.csv" 1e-5
ok "tiny_graph: mpirun -n 2 against 1 device: every tensor within 1e-4 relative, 1e-5 absolute, the logged statistics within 1e-5"

# rank 0 alone writes: the run directory holds one run's files
model=$src/tests/data/tiny_gan12.yaml
for f in config.yaml log.csv checkpoint.safetensors curves.png samples/iter_000010.png; do
    [ -s "$dir/tiny_gan12-3/$f" ] || fail "the 3-rank run wrote no $f"
done
rows=$(grep -c '^[0-9]' "$dir/tiny_gan12-3/log.csv")
[ "$rows" = "$(grep -c '^[0-9]' "$dir/tiny_gan12-1/log.csv")" ] || fail "the 3-rank log has $rows rows"
ok "the 3-rank run directory holds one log, config, checkpoint and sample grids"

# a checkpoint of 2 ranks resumes on 1 device and on 3 ranks, as the run that did not stop
run 2 "$model" --iters 6 --out "$dir/half"
for n in 1 3; do
    cp -r "$dir/half" "$dir/half$n"
    run "$n" "$model" --resume "$dir/half$n/checkpoint.safetensors" --iters 12
    close "$dir/tiny_gan12-1/checkpoint.safetensors" "$dir/half$n/checkpoint.safetensors" 1e-4 1e-5
done
ok "a checkpoint of 2 ranks resumed on 1 device and on 3 ranks ends within 1e-4 of the straight run"

# waits for the job's first checkpoint: both ranks are in the loop (a bound no healthy run
# reaches, however loaded the machine)
wait_checkpoint() {
    for _ in $(seq 3000); do [ -s "$dir/killed/checkpoint.safetensors" ] && return; sleep 0.2; done
    fail "no checkpoint after 600 s: $(cat "$dir/out")"
}

# a killed rank ends the job, named, within seconds; the last checkpoint stays loadable
sed 's/^  iters: 20$/  iters: 1000000\n  checkpoint_every: 50/' "$model" >"$dir/every.yaml"
long=(train "$dir/every.yaml" --out "$dir/killed" --force --quiet)
mpi 2 "${long[@]}" >"$dir/out" 2>&1 &
job=$!
wait_checkpoint
[ -s "$dir/killed/checkpoint.safetensors" ] || fail "no checkpoint before the kill: $(cat "$dir/out")"
rank1=""
for p in $(pgrep -f "clgan train $dir/every.yaml"); do
    grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && rank1=$p
done
[ -n "$rank1" ] || fail "rank 1 not found"
t0=$(date +%s)
kill -KILL "$rank1"
timeout 300 tail --pid="$job" -f /dev/null || fail "the job still runs 300 s after rank 1 was killed"
wait "$job"
status=$?
[ "$status" != 0 ] || fail "mpirun exited 0 after a killed rank"
grep -q "rank 1 .*exited on signal 9" "$dir/out" || fail "no message naming rank 1: $(cat "$dir/out")"
"$clgan" sample "$dir/killed/checkpoint.safetensors" -n 8 -o "$dir/s.png" >/dev/null \
    2>"$dir/err" || fail "the last checkpoint does not load: $(cat "$dir/err")"
ok "rank 1 killed: the job ended in $(($(date +%s) - t0)) s with mpirun naming rank 1, status $status; the last checkpoint loads"

# a rank that stops answering: the others end the job after --comm-timeout
# (10 s: no wait of a healthy run comes near it, even on a loaded machine)
mpi 2 "${long[@]}" --comm-timeout 10 >"$dir/out" 2>&1 &
job=$!
rm -f "$dir/killed/checkpoint.safetensors"
wait_checkpoint
rank1=""
for p in $(pgrep -f "clgan train $dir/every.yaml"); do
    grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && rank1=$p
done
[ -n "$rank1" ] || fail "rank 1 not found"
kill -STOP "$rank1"
timeout 300 tail --pid="$job" -f /dev/null || { kill -KILL "$rank1"; fail "the job still runs 300 s after rank 1 stopped"; }
wait "$job"
status=$?
[ "$status" != 0 ] || fail "mpirun exited 0 after a stopped rank"
grep -q "(rank 0 of 2): waited 10 s for the other ranks'" "$dir/out" || fail "no message of the wait: $(cat "$dir/out")"
ok "rank 1 stopped: rank 0 ended the job after --comm-timeout 10, status $status"

# refused at start: ranks on other models, a --devices list that is not one per rank
sed 's/^  seed: 5$/  seed: 6/' "$model" >"$dir/other.yaml"
"$mpiexec" --oversubscribe -n 1 "$clgan" train "$model" --out "$dir/bad" : \
    -n 1 "$clgan" train "$dir/other.yaml" --out "$dir/bad" >"$dir/out" 2>&1
[ $? != 0 ] && grep -q "rank 1's model file (.*) differs from rank 0's" "$dir/out" || fail "other models: $(cat "$dir/out")"
# ranks started with different lengths: refused at start, before any iteration (they died in a
# sum, with no checkpoint, before)
"$mpiexec" --oversubscribe -n 1 "$clgan" train "$model" --iters 4 --out "$dir/len" : \
    -n 1 "$clgan" train "$model" --iters 8 --out "$dir/len" >"$dir/out" 2>&1
[ $? != 0 ] && grep -q "rank 1's length (iterations, epochs) differs from rank 0's" "$dir/out" ||
    fail "other lengths: $(cat "$dir/out")"
[ ! -e "$dir/len" ] || fail "a refused start left $(ls -A "$dir/len")"
mpi 2 train "$model" --devices pthread --out "$dir/bad" >"$dir/out" 2>&1
[ $? != 0 ] && grep -q -- "--devices under mpirun: one selector per rank, 1 given for 2 ranks" "$dir/out" || fail "--devices: $(cat "$dir/out")"
mpi 3 train "$src/tests/data/tiny_gan.yaml" --out "$dir/bad" >"$dir/out" 2>&1
[ $? != 0 ] && grep -q "mpirun: 3 ranks: train.batch 8 does not split into 3 replicas" "$dir/out" || fail "batch 8 on 3: $(cat "$dir/out")"
[ "$(grep -c "does not split" "$dir/out")" = 1 ] || fail "the refusal is not said once: $(cat "$dir/out")"
mpi 2 train "$model" --on-nan rollback --out "$dir/bad" >"$dir/out" 2>&1
[ $? != 0 ] && [ "$(grep -c -- "--on-nan rollback under mpirun is not built" "$dir/out")" = 1 ] || fail "rollback: $(cat "$dir/out")"
ok "other models and lengths on two ranks, a --devices list of the wrong length, a batch that does not split and --on-nan rollback are refused at start, said once"

# the benchmark under mpirun: rank 0 alone, then both ranks, and the reductions
mpi 2 bench "$model" --iters 3 --warmup 1 >"$dir/bench" 2>"$dir/err" || fail "bench under mpirun: $(cat "$dir/err")"
grep -q "2 ranks (rank 0 on .*): median" "$dir/bench" && grep -qE "gradient reductions: .* kB of gradients an iteration, in flight .* hidden behind" "$dir/bench" || fail "bench under mpirun printed: $(cat "$dir/bench")"
[ "$(grep -c "clgan bench:" "$dir/bench")" = 1 ] || fail "bench printed on every rank: $(cat "$dir/bench")"
ok "bench under mpirun reports rank 0 alone, both ranks, and the reductions, once"
