# The operator endpoints end to end: every `colo-graph ctl` command and the
# Prometheus metrics against a running graphs/colo-compare.yaml
# (tests/cli/operations.py).
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/operations.py" "$BIN" "$SRC" "$T" || { cat "$T/stderr.txt"; fail "driver failed"; }
