# 100 hostile clients (80 on the control socket, 20 on /metrics) while 20,000
# UDP pairs flow through graphs/colo-compare.yaml: every pair released in
# order, the endpoints still answer, RSS bounded (tests/cli/control_garbage.py).
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/control_garbage.py" "$BIN" "$SRC" "$T" || { tail -n 40 "$T/stderr.txt"; fail "driver failed"; }
