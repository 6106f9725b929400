#!/usr/bin/env bash
# clgan train under signals: SIGINT and SIGTERM finish the iteration, write a checkpoint that
# loads, and exit 130 and 143; a second SIGINT exits at once, leaving only loadable files; and a
# run killed with SIGKILL at random points while it writes checkpoints (one every iteration)
# always leaves a checkpoint that loads. Usage: signals.sh CLGAN SOURCE_DIR
set -uo pipefail
clgan=$1
src=$2
dir=$(mktemp -d /tmp/clgan-signals-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "signals: FAILED: $*" >&2; exit 1; }

# a model that writes a checkpoint every iteration, large enough that writes take a while
sed -e 's/  iters: 20/  iters: 100000000/' -e 's/  log_every: 5/  log_every: 1\n  checkpoint_every: 1/' \
    -e 's/{type: dense, units: 8}/{type: dense, units: 512}/' \
    "$src/tests/data/tiny_gan.yaml" >"$dir/model.yaml"

# waits until run directory $1 has a checkpoint, i.e. training is under way: an event, bounded
# at 600 s, which a cold program cache on a loaded machine (builds and tunes first) is far from
started() {
    for _ in $(seq 1 6000); do
        [ -f "$1/checkpoint.safetensors" ] && return 0
        sleep 0.1
    done
    fail "no checkpoint in $1 after 600 s"
}

loads() { "$clgan" sample "$1" -n 4 -o "$dir/s.png" >/dev/null 2>"$dir/err" || fail "$1 does not load: $(cat "$dir/err")"; }

for sig in INT TERM; do
    "$clgan" train "$dir/model.yaml" --out "$dir/$sig" --quiet 2>"$dir/$sig.err" &
    pid=$!
    started "$dir/$sig"
    kill -s "$sig" "$pid"
    wait "$pid"
    rc=$?
    want=$([ "$sig" = INT ] && echo 130 || echo 143)
    [ "$rc" = "$want" ] || fail "SIG$sig: exit $rc, want $want"
    grep -q "checkpoint written: continue with --resume" "$dir/$sig.err" || fail "SIG$sig: $(cat "$dir/$sig.err")"
    loads "$dir/$sig/checkpoint.safetensors"
    echo "SIG$sig: exit $rc, checkpoint loads"
done

# SIGINT during start-up (empty program caches, clgan's and PoCL's: seconds of builds) is not
# lost, even though bash starts background jobs with SIGINT ignored: the run stops after its
# first iteration (a watchdog kills it if it has not stopped after 540 s)
CLGAN_CACHE_DIR="$dir/cold-cache" POCL_CACHE_DIR="$dir/pocl-cache" \
    "$clgan" train "$dir/model.yaml" --out "$dir/early" --quiet 2>"$dir/early.err" &
pid=$!
# as soon as clgan catches SIGINT (/proc says so): a fixed sleep raced a slow start (ASan, a
# loaded machine), and a SIGINT before the handler is ignored in a background job. The process
# must be clgan itself: between fork and exec it is still a copy of bash, whose SIGINT handler
# shows in SigCgt too, and a signal sent then is lost when bash ignores SIGINT before the exec.
exe=$(readlink -f "$clgan")
catching=0
for _ in $(seq 1 6000); do
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]; then
        mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$mask" ] && (( 16#$mask & 2 )) && { catching=1; break; }
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ "$catching" = 1 ] || { kill -KILL "$pid" 2>/dev/null; fail "clgan did not catch SIGINT within 300 s of its start: $(cat "$dir/early.err")"; }
kill -INT "$pid"
# then SIGTERM every 10 ms until it exits: some land while PoCL's compiler writes its temporary
# files, whose LLVM signal hook deleted them when a handler could run there (the build failed:
# "unable to rename temporary"); the first signal names the exit
for _ in $(seq 1 54000); do
    kill -TERM "$pid" 2>/dev/null || break
    sleep 0.01
done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" = 130 ] || fail "SIGINT during start-up: exit $rc, want 130 ($(cat "$dir/early.err"))"
loads "$dir/early/checkpoint.safetensors"
echo "SIGINT during start-up: exit 130, checkpoint loads"

# two SIGINTs in a row: out at once, and whatever is on disk loads
"$clgan" train "$dir/model.yaml" --out "$dir/twice" --quiet 2>/dev/null &
pid=$!
started "$dir/twice"
kill -INT "$pid"; kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] || fail "second SIGINT: exit $rc, want 130"
loads "$dir/twice/checkpoint.safetensors"
echo "double SIGINT: exit 130, checkpoint loads"

# SIGKILL at random points of the checkpoint writes, many times; resume each time
n=${CLGAN_KILLS:-12}
"$clgan" train "$dir/model.yaml" --out "$dir/kill" --quiet 2>/dev/null &
pid=$!
started "$dir/kill"
for i in $(seq 1 "$n"); do
    sleep "0.$(( RANDOM % 40 + 5 ))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -f "$dir/kill/checkpoint.safetensors" ] || fail "kill $i: no checkpoint"
    loads "$dir/kill/checkpoint.safetensors"
    # the newest periodic checkpoints (a fast device writes hundreds between two kills)
    for f in $(ls "$dir"/kill/checkpoints/iter_*.safetensors 2>/dev/null | tail -n 3); do
        loads "$f"
    done
    rm -f "$dir"/kill/checkpoints/*.safetensors
    "$clgan" train "$dir/model.yaml" --resume "$dir/kill/checkpoint.safetensors" --quiet 2>/dev/null &
    pid=$!
done
kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
tmps=$(find "$dir/kill" -name '*.tmp' | wc -l)
echo "SIGKILL during checkpoint writes: $n kills, every checkpoint left loads ($tmps half-written temporaries left beside them, never in their place)"
