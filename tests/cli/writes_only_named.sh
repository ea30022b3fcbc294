# A graph writes only the files it names: running the demo graph from an empty
# working folder with its outputs in another folder leaves the working folder
# empty and the output folder holding exactly the named files.
. "$(dirname "$0")/lib.inc"
mkdir -p "$T/cwd" "$T/out"
(cd "$T/cwd" && "$BIN" run "$SRC/graphs/demo-replay.yaml" --set out="$T/out" >/dev/null 2>"$T/err") || { cat "$T/err"; fail "demo run failed"; }
[ -z "$(ls -A "$T/cwd")" ] || { ls -la "$T/cwd"; fail "files appeared in the working folder"; }
found=$(cd "$T/out" && ls -A | sort | tr '\n' ' ')
[ "$found" = "events.jsonl released.pcap " ] || fail "unexpected outputs: $found"
echo ok
