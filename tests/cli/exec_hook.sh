# The exec hook runs its argv without a shell: an event whose text looks like
# shell syntax reaches the command verbatim and runs nothing.
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/p.pcap" 300
python3 "$SRC/tests/cli/pcapfile.py" empty "$T/s.pcap"
cat >"$T/hook.sh" <<H
#!/bin/sh
printf '%s\n' "\$COLO_REASON|\$COLO_FLOW|\$1" >>"$T/hook.log"
H
chmod +x "$T/hook.sh"
cat >"$T/g.yaml" <<Y
nodes:
  pri: { type: pcap-source, file: "$T/p.pcap" }
  sec: { type: pcap-source, file: "$T/s.pcap" }
  cmp: { type: comparator, compare_timeout: 1, expired_scan_cycle: 1 }
  hook: { type: exec, command: ["$T/hook.sh", "\$(touch $T/pwned); \`id\`"] }
  out: { type: null-sink }
links: [ pri -> cmp.primary, sec -> cmp.secondary, cmp.out -> out, cmp.events -> hook ]
Y
expect_rc 0 "$BIN" run "$T/g.yaml" --stats
[ -s "$T/hook.log" ] || { cat "$T/out" "$T/err"; fail "hook did not run"; }
cat "$T/hook.log"
grep -q '^timeout|udp 10.0.0.2:5000 > 10.0.0.1:53|\$(touch' "$T/hook.log" || fail "event fields or argv not passed verbatim"
[ ! -e "$T/pwned" ] || fail "a shell interpreted the argument"
grep -Eq '^    started [1-9]' "$T/out" || fail "started counter"
# Commands are started by a helper process outside run's sandbox: one that
# cannot start and one that outlives timeout_ms are counted as failed and logged.
sed -i "s|hook: { type: exec, command: .*|hook: { type: exec, command: [\"$T/no-such-program\"] }|" "$T/g.yaml"
expect_rc 0 "$BIN" run "$T/g.yaml" --stats
grep -q "no-such-program: cannot start: No such file or directory" "$T/err" || { cat "$T/err"; fail "no start failure logged"; }
grep -Eq '^    failed [1-9]' "$T/out" || fail "failed counter"
sed -i "s|hook: { type: exec, command: .*|hook: { type: exec, command: [sleep, \"30\"], timeout_ms: 200 }|" "$T/g.yaml"
expect_rc 0 "$BIN" run "$T/g.yaml" --stats
grep -q "sleep: killed after timeout" "$T/err" || { cat "$T/err"; fail "no timeout logged"; }
grep -Eq '^    started 1$' "$T/out" && grep -Eq '^    failed 1$' "$T/out" ||
    { cat "$T/out"; fail "counters after a timeout"; }
echo ok
