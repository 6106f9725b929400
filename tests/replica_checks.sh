# replica_checks.sh - sourced by devices.sh and mpi.sh (issue 16): checkpoints and logs of runs
# on several devices or ranks against one. Needs fail(); sets $py, a python3 with numpy.
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
# close A B RTOL ATOL: every tensor of checkpoint B within the tolerances of A's
close() {
    "$py" - "$1" "$2" "$3" "$4" <<'PY' || fail "$1 and $2 differ"
import json, struct, sys
import numpy as np
def load(p):
    d = open(p, "rb").read()
    (n,) = struct.unpack("<Q", d[:8])
    h = json.loads(d[8:8 + n])
    return {k: np.frombuffer(d[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype=np.float32) for k, v in h.items() if k != "__metadata__"}
a, b = load(sys.argv[1]), load(sys.argv[2])
rtol, atol = float(sys.argv[3]), float(sys.argv[4])
assert a.keys() == b.keys(), "other tensors"
for k in a:
    if not np.allclose(b[k], a[k], rtol=rtol, atol=atol):
        i = int(np.argmax(np.abs(b[k] - a[k])))
        sys.exit("%s[%d]: %.9g against %.9g" % (k, i, b[k][i], a[k][i]))
PY
}
# same_stats A B [RTOL]: the logged losses, D(x) and D(G(z)) of two runs agree to their last
# printed digit, or within float rounding of larger values (the sums over the ranks add the rows
# in another order); RTOL (default 5e-7) relative for networks whose parameters part by more
same_stats() {
    "$py" - "$1" "$2" "${3:-5e-7}" <<'PY' || fail "the logged statistics of $1 and $2 differ"
import sys
rtol = float(sys.argv[3])
rows = [[l.split(",")[5:9] for l in open(p) if l[0].isdigit()] for p in sys.argv[1:3]]
assert len(rows[0]) == len(rows[1]) > 0, "other rows"
for a, b in zip(*rows):
    for x, y in zip(a, b):
        assert abs(float(x) - float(y)) <= 2e-6 + rtol * abs(float(x)), (a, b)
PY
}

