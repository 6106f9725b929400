#!/usr/bin/env bash
# The run directory of `clgan train` under everything a user or a second process does to it:
# resuming into another run's folder, resuming a periodic checkpoint, two runs on one folder,
# a closed pipe, a closed terminal, rollbacks after a --force, a long --out, --seed, and a log
# that is appended to, not rewritten. Each case is a regression test of issue #12.
# Usage: train_runs.sh CLGAN SOURCE_DIR
set -uo pipefail
clgan=$1
src=$2
dir=$(mktemp -d /tmp/clgan-runs-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "train_runs: FAILED: $*" >&2; exit 1; }
ok() { echo "train_runs: $*"; }
tiny=$src/tests/data/tiny_gan.yaml
# tiny_gan with a periodic checkpoint every 5 iterations
sed 's/  log_every: 5/  log_every: 5\n  checkpoint_every: 5/' "$tiny" >"$dir/periodic.yaml"
# a long run that checkpoints every iteration (for the processes killed or signalled below)
sed -e 's/  iters: 20/  iters: 100000000/' -e 's/  log_every: 5/  log_every: 1\n  checkpoint_every: 1/' \
    -e 's/{type: dense, units: 8}/{type: dense, units: 512}/' "$tiny" >"$dir/long.yaml"
# diverges after a few iterations: momentum 0.99 on unit-variance weights and steps of 1
cat >"$dir/nan.yaml" <<'EOF'
name: nan_gan
noise: {dim: 3, distribution: gaussian}
data: {format: ring_2d, modes: 4, count: 64}
generator:
  layers:
    - {type: dense, units: 8, init: {normal: 1}}
    - {type: dense, units: 2, init: {normal: 1}}
discriminator:
  layers:
    - {type: dense, units: 8, init: {normal: 1}}
    - {type: dense, units: 1, init: {normal: 1}}
    - sigmoid
train:
  batch: 8
  iters: 200
  seed: 5
  log_every: 2
  sample_every: 1000
  generator: {type: sgd, learning_rate: 1, momentum: 0.99}
  discriminator: {type: sgd, learning_rate: 1, momentum: 0.99}
EOF
sums() { (cd "$1" && find . -type f ! -name .lock | sort | xargs md5sum); }
started() { # waits until run directory $1 has a checkpoint (a bound no healthy run reaches)
    for _ in $(seq 1 6000); do
        [ -f "$1/checkpoint.safetensors" ] && return 0
        sleep 0.1
    done
    fail "no checkpoint in $1 after 600 s"
}
iters_of() { tail -n +2 "$1/log.csv" | cut -d, -f1 | tr '\n' ' '; }
increasing() { # log.csv's iterations strictly increase
    tail -n +2 "$1/log.csv" | cut -d, -f1 | awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' ||
        fail "$1/log.csv: iterations do not increase: $(iters_of "$1")"
}

# --- a resume never writes into another run's folder without --force
"$clgan" train "$tiny" --out "$dir/a" --quiet || fail "run a"
"$clgan" train "$src/tests/data/tiny.yaml" --out "$dir/b" --iters 6 --quiet || fail "run b"
before=$(sums "$dir/b")
"$clgan" train "$tiny" --resume "$dir/a/checkpoint.safetensors" --out "$dir/b" --iters 30 \
    --quiet 2>"$dir/err"
rc=$?
[ "$rc" = 1 ] || fail "resume into another run's folder: exit $rc, want 1"
grep -q "holds another run" "$dir/err" || fail "resume into another run's folder: $(cat "$dir/err")"
# a checkpoint copied into another run's folder does not make that folder its own
cp "$dir/a/checkpoint.safetensors" "$dir/b/copied.safetensors"
before=$(sums "$dir/b")
"$clgan" train "$tiny" --resume "$dir/b/copied.safetensors" --iters 30 --quiet 2>"$dir/err"
rc=$?
[ "$rc" = 1 ] && grep -q "holds another run" "$dir/err" || fail "resume of a copied checkpoint: exit $rc: $(cat "$dir/err")"
[ "$(sums "$dir/b")" = "$before" ] || fail "the other run's folder changed"
ok "a resume into another run's folder is refused and leaves it as it was"

# --- a periodic checkpoint resumes into its own run, whose log keeps rows up to it
"$clgan" train "$dir/periodic.yaml" --out "$dir/p" --quiet || fail "run p"
[ -f "$dir/p/checkpoints/iter_000010.safetensors" ] || fail "no periodic checkpoint"
"$clgan" train "$dir/periodic.yaml" --resume "$dir/p/checkpoints/iter_000010.safetensors" \
    --iters 25 --quiet 2>"$dir/err" || fail "resume of a periodic checkpoint: $(cat "$dir/err")"
[ ! -e "$dir/p/checkpoints/log.csv" ] && [ ! -e "$dir/p/checkpoints/samples" ] &&
    [ ! -e "$dir/p/checkpoints/checkpoint.safetensors" ] || fail "checkpoints/ became a run directory"
[ "$(iters_of "$dir/p")" = "5 10 15 20 25 " ] || fail "the resumed log: $(iters_of "$dir/p")"
ok "a periodic checkpoint resumes into its run (log: $(iters_of "$dir/p"))"

# --- two runs on one folder: the second is refused, naming the holder
"$clgan" train "$dir/long.yaml" --out "$dir/locked" --quiet 2>/dev/null &
pid=$!
started "$dir/locked"
"$clgan" train "$dir/long.yaml" --out "$dir/locked" --force --quiet 2>"$dir/err"
rc=$?
# (while it runs: log.csv is appended to, the same file growing, not rewritten and renamed;
# waited for by its size, however slow the machine, up to 10 minutes)
inode=$(stat -c %i "$dir/locked/log.csv") size=$(stat -c %s "$dir/locked/log.csv")
for _ in $(seq 1 6000); do
    [ "$(stat -c %s "$dir/locked/log.csv")" -gt "$size" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ "$(stat -c %i "$dir/locked/log.csv")" = "$inode" ] && [ "$(stat -c %s "$dir/locked/log.csv")" -gt "$size" ] ||
    fail "log.csv was replaced, or did not grow, while the run went on"
kill -TERM "$pid"
wait "$pid"
[ "$rc" = 1 ] || fail "a second run on a locked folder: exit $rc, want 1"
grep -q "is in use by another run (clgan train, pid $pid on " "$dir/err" || fail "the holder: $(cat "$dir/err")"
"$clgan" train "$dir/long.yaml" --resume "$dir/locked/checkpoint.safetensors" --iters 1 \
    --quiet 2>"$dir/err" || fail "the lock outlived its run: $(cat "$dir/err")"
ok "a second run on a folder in use is refused, naming pid $pid; the lock goes with its run"

# --- a closed pipe or terminal never loses the run
"$clgan" train "$tiny" --out "$dir/pipe" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || fail "train | head: exit $rc, want 0"
grep -q '^20,' "$dir/pipe/log.csv" || fail "train | head did not finish: $(iters_of "$dir/pipe")"
"$clgan" train "$tiny" --out "$dir/closed" >&- 2>&- || fail "train with stdout and stderr closed"
grep -q '^20,' "$dir/closed/log.csv" || fail "closed stdout: $(iters_of "$dir/closed")"
"$clgan" train "$dir/long.yaml" --out "$dir/hup" --quiet 2>"$dir/err" &
pid=$!
started "$dir/hup"
kill -HUP "$pid"
wait "$pid"
rc=$?
[ "$rc" = 129 ] || fail "SIGHUP: exit $rc, want 129"
grep -q "hung up at iteration .*checkpoint written" "$dir/err" || fail "SIGHUP: $(cat "$dir/err")"
"$clgan" sample "$dir/hup/checkpoint.safetensors" -n 4 -o "$dir/s.png" >/dev/null || fail "SIGHUP's checkpoint"
ok "train | head, closed stdout and stderr: runs finish; SIGHUP saves and exits 129"

# --- rollback only to this run's own checkpoints, and the log cut back with it
"$clgan" train "$tiny" --out "$dir/nan" --quiet || fail "run before the --force"
"$clgan" train "$dir/nan.yaml" --out "$dir/nan" --force --on-nan rollback --quiet 2>"$dir/err"
back=$(grep -o "rolled back to iteration [0-9]*" "$dir/err" | sort -u | tr '\n' ' ')
[ -n "$back" ] || fail "no rollback: $(cat "$dir/err")"
grep -q "rolled back to iteration 20 " "$dir/err" && fail "rolled back to the previous run's checkpoint"
increasing "$dir/nan"
# the guard names the tensors that hold a NaN by their checkpoint names
grep -qE "NaN/Inf by iteration [0-9]+ in (optimizer\.)?(generator|discriminator)\.[0-9]+\.[a-z_.]+ \((dense|relu)\)" "$dir/err" ||
    fail "the guard's message: $(head -n 1 "$dir/err")"
# the halved rates: in the log's rows after a rollback, and in the checkpoint, which a resume
# goes on with (and whose config.yaml says so)
scale=$(grep -ao '"lr_scale":"[^"]*"' "$dir/nan/checkpoint.safetensors" | cut -d'"' -f4)
[ -n "$scale" ] && awk -v s="$scale" 'BEGIN { exit !(s > 0 && s < 1) }' ||
    fail "the checkpoint does not record the halved rates: '$scale'"
tail -n +2 "$dir/nan/log.csv" | cut -d, -f4 | grep -qv '^1$' || fail "the log shows no halved rate: $(cat "$dir/nan/log.csv")"
at=$(grep -ao '"iter":"[0-9]*"' "$dir/nan/checkpoint.safetensors" | cut -d'"' -f4)
"$clgan" train "$dir/nan.yaml" --resume "$dir/nan/checkpoint.safetensors" --iters $((at + 1)) \
    --quiet 2>"$dir/err" || fail "resume after rollbacks: $(cat "$dir/err")"
grep -q "^# learning rates: $scale of the model's" "$dir/nan/config.yaml" || fail "config.yaml: $(head -5 "$dir/nan/config.yaml")"
[ "$(tail -n 1 "$dir/nan/log.csv" | cut -d, -f4)" = "$scale" ] || fail "the resumed rates: $(tail -n 1 "$dir/nan/log.csv")"
ok "rollbacks return to this run's own checkpoints ($back), never the previous run's 20 (log: $(iters_of "$dir/nan")); the rates ($scale of the model's) are recorded and resumed"

# --- a resume goes on with its loss: another one in the model file is refused
sed 's/^  k: 1$/  k: 1\n  loss: minimax/' "$tiny" >"$dir/minimax.yaml"
before=$(sums "$dir/a")
"$clgan" train "$dir/minimax.yaml" --resume "$dir/a/checkpoint.safetensors" --iters 30 --quiet 2>"$dir/err"
rc=$?
[ "$rc" = 1 ] && grep -q "was trained with 'loss: non_saturating'; .*minimax.yaml says 'minimax'" "$dir/err" ||
    fail "a resume with another loss: exit $rc: $(cat "$dir/err")"
[ "$(sums "$dir/a")" = "$before" ] || fail "the refused resume changed its run"
ok "a resume with another loss is refused and leaves the run as it was"

# --- a start that fails at train.eval (its classifier is missing) leaves no folder
"$clgan" train "$src/tests/data/eval_missing_classifier.yaml" --out "$dir/evalfail" --quiet 2>"$dir/err"
rc=$?
[ "$rc" = 1 ] && grep -q "'classifier' in 'train.eval'" "$dir/err" || fail "train.eval: exit $rc: $(cat "$dir/err")"
[ ! -e "$dir/evalfail" ] || fail "a failed train.eval start left $(ls -A "$dir/evalfail")"

# --- a failure after a whole iteration keeps it: its sample grid cannot be written (samples/
# became a file), and the run, which had no checkpoint yet, stops with that iteration's
sed -e 's/  iters: 20/  iters: 100000000/' -e 's/  log_every: 5/  log_every: 1/' \
    -e 's/  sample_every: 10/  sample_every: 1/' "$tiny" >"$dir/samples.yaml"
"$clgan" train "$dir/samples.yaml" --out "$dir/lost" --quiet 2>"$dir/err" &
pid=$!
for _ in $(seq 1 6000); do # until it logs (an event; bounded far beyond a healthy start)
    [ -f "$dir/lost/log.csv" ] && [ "$(wc -l <"$dir/lost/log.csv")" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
# a rename, not rm -rf: the run writes a grid a step while rm walks the folder ("Directory not
# empty", samples/ stayed, and the run went on for 1e8 iterations)
mv "$dir/lost/samples" "$dir/lost/samples.moved" && touch "$dir/lost/samples" ||
    { kill -9 "$pid"; fail "could not put a file in place of samples/"; }
for _ in $(seq 1 6000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "the run went on with samples/ a file"; }
wait "$pid"
rc=$?
[ "$rc" = 1 ] || fail "a failed sample grid: exit $rc: $(cat "$dir/err")"
grep -q "the checkpoint of iteration [0-9]* was written before stopping" "$dir/err" || fail "no checkpoint of the last iteration: $(cat "$dir/err")"
at=$(grep -ao '"iter":"[0-9]*"' "$dir/lost/checkpoint.safetensors" | cut -d'"' -f4)
[ "$(tail -n 1 "$dir/lost/log.csv" | cut -d, -f1)" = "$at" ] || fail "the checkpoint ($at) is not the last logged iteration: $(tail -n 2 "$dir/lost/log.csv")"
ok "a run that fails after a whole iteration writes its checkpoint (iteration $at) before it stops"

# --- a run that fails before it writes anything leaves no folder behind
"$clgan" train "$tiny" --out "$dir/failed" --device no-such-device --quiet 2>/dev/null
[ ! -e "$dir/failed" ] || fail "a failed start left $(ls -A "$dir/failed")"
ok "a failed start leaves no run folder"

# --- a checkpoint finds its data from any working directory (the path it keeps is absolute)
(cd "$src" && "$clgan" train tests/data/tiny_mnist.yaml --out "$dir/rel" --quiet) || fail "tiny_mnist"
(cd / && "$clgan" eval "$dir/rel/checkpoint.safetensors" --parzen --samples 50 >/dev/null 2>"$dir/err") ||
    fail "eval from another folder: $(cat "$dir/err")"
ok "a checkpoint of a model given by a relative path evaluates from /"

# --- --out of any length is used as given
long=$dir
while [ ${#long} -lt 1100 ]; do long=$long/a-folder-name-of-some-thirty-bytes; done
"$clgan" train "$tiny" --out "$long" --quiet || fail "--out of ${#long} bytes"
[ -f "$long/checkpoint.safetensors" ] || fail "--out of ${#long} bytes: the run is elsewhere"
ok "--out of ${#long} bytes holds the run"

# --- --seed: recorded, reproducible, and kept by a resume
"$clgan" train "$tiny" --out "$dir/s1" --seed 77 --quiet || fail "--seed"
"$clgan" train "$tiny" --out "$dir/s2" --seed 77 --quiet || fail "--seed"
grep -q "seed 77" "$dir/s1/config.yaml" || fail "--seed not in config.yaml"
cmp -s <(tail -c 1000 "$dir/s1/checkpoint.safetensors") <(tail -c 1000 "$dir/s2/checkpoint.safetensors") ||
    fail "two runs with --seed 77 differ"
cmp -s <(tail -c 1000 "$dir/s1/checkpoint.safetensors") <(tail -c 1000 "$dir/a/checkpoint.safetensors") &&
    fail "--seed 77 gave the model's own seed's run"
"$clgan" train "$tiny" --resume "$dir/s1/checkpoint.safetensors" --seed 5 --iters 30 --quiet 2>"$dir/err"
rc=$?
[ "$rc" = 2 ] && grep -q "^clgan train: --seed: .* was trained with seed 77" "$dir/err" || fail "--seed on a resume: exit $rc: $(cat "$dir/err")"
ok "--seed 77 is recorded and reproducible; a resume keeps its seed"
# --- figure1 orders a run's checkpoints by iteration, also past 999,999, and only this run's
"$clgan" train "$src/models/toy1d.yaml" --out "$dir/fig" --iters 10 --quiet || fail "toy1d"
mkdir -p "$dir/fig/checkpoints"
for n in 000500 999999 1000000 1500000; do
    cp "$dir/fig/checkpoint.safetensors" "$dir/fig/checkpoints/iter_$n.safetensors"
done
"$clgan" figure1 "$dir/fig" -o "$dir/fig.png" >"$dir/out" 2>&1 || fail "figure1: $(cat "$dir/out")"
order=$(grep -o 'iter_[0-9]*' "$dir/out" | tr '\n' ' ')
[ "$order" = "iter_000500 iter_999999 iter_1000000 iter_1500000 " ] || fail "figure1 panels: $order"
"$clgan" train "$src/models/toy1d.yaml" --out "$dir/fig" --force --iters 10 --quiet || fail "toy1d --force"
rm -f "$dir/fig/checkpoints/iter_000010.safetensors"
"$clgan" figure1 "$dir/fig" -o "$dir/fig.png" >"$dir/out" 2>&1
grep -q "only another run's" "$dir/out" || fail "figure1 drew another run's checkpoints: $(cat "$dir/out")"
ok "figure1's panels follow the iterations ($order), of this run only"
# the run draws its curves from its log at the end: a PNG of every logged row
"$clgan" train "$tiny" --out "$dir/curves" --quiet || fail "curves: training"
[ "$(head -c 8 "$dir/curves/curves.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "the run wrote no curves.png"
"$clgan" plot "$dir/curves" -o "$dir/c2.png" >"$dir/out" 2>&1 || fail "plot: $(cat "$dir/out")"
grep -q "(4 rows of $dir/curves/log.csv)" "$dir/out" || fail "plot: $(cat "$dir/out")"
cmp -s "$dir/curves/curves.png" "$dir/c2.png" || fail "plot draws another picture than training"
ok "a run ends with curves.png; clgan plot draws the same from its log.csv"
echo "train_runs: all cases pass"
