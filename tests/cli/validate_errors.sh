# Three different mistakes give three located errors and exit 78 (EX_CONFIG);
# broken YAML gets the same format; shipped graphs validate.
. "$(dirname "$0")/lib.inc"
cat >"$T/bad.yaml" <<'Y'
nodes:
  src: { type: pcap-source, file: in.pcap, timming: fast }
  tee: { type: mirorr }
  sink: { type: null-sink }
links:
  - src.out -> sink.in
  - src.out -> nowhere.in
Y
expect_rc 78 "$BIN" validate "$T/bad.yaml"
grep -q "bad.yaml:2:44: error: node type 'pcap-source' has no property 'timming' (did you mean 'timing'?)" "$T/err" || fail "typo property"
grep -q "bad.yaml:3:16: error: unknown node type 'mirorr' (did you mean 'mirror'?)" "$T/err" || fail "unknown type"
grep -q "bad.yaml:7:5: error: link refers to unknown node 'nowhere'" "$T/err" || fail "unknown node"
[ "$(grep -c ': error: ' "$T/err")" -eq 3 ] || { cat "$T/err"; fail "expected exactly 3 errors"; }

printf 'nodes:\n  a: {type: dump\n  b: x\n' >"$T/syntax.yaml"
expect_rc 78 "$BIN" validate "$T/syntax.yaml"
grep -Eq "syntax.yaml:[0-9]+:[0-9]+: error: " "$T/err" || fail "syntax error not located"

printf 'nodes:\n  a: {type: dump, file: "\377"}\n' >"$T/latin1.yaml"
expect_rc 78 "$BIN" validate "$T/latin1.yaml"
grep -q "latin1.yaml:2:26: error: invalid UTF-8" "$T/err" || fail "non-UTF-8 not located"

# The run: options: known ones expanded, an unknown one located (validate and run alike).
printf 'variables:\n  dir: /tmp\nnodes:\n  g: { type: generator, count: 1 }\n  s: { type: null-sink }\nlinks:\n  - g -> s\nrun:\n  control: "${dir}/c.sock"\n  metric: ":9464"\n' >"$T/run.yaml"
expect_rc 78 "$BIN" validate "$T/run.yaml"
grep -q "run.yaml:10:3: error: unknown run option 'metric' (expected control, metrics, sandbox)" "$T/err" || { cat "$T/err"; fail "run option"; }
expect_rc 78 "$BIN" run "$T/run.yaml"
grep -q "run.yaml:10:3: error: unknown run option 'metric'" "$T/err" || fail "run option at run"
printf 'run: [1]\nnodes:\n  g: { type: generator, count: 1 }\n' >"$T/runlist.yaml"
expect_rc 78 "$BIN" validate "$T/runlist.yaml"
grep -q "runlist.yaml:1:6: error: 'run' is a mapping" "$T/err" || { cat "$T/err"; fail "run not a mapping"; }

head -c 5000000 /dev/zero | tr '\0' '#' >"$T/huge.yaml"
expect_rc 78 "$BIN" validate "$T/huge.yaml"
grep -q "the limit is" "$T/err" || fail "huge file"

printf 'nodes:\n  a: &x {type: dump, file: *x}\n' >"$T/alias.yaml"
expect_rc 78 "$BIN" validate "$T/alias.yaml"

printf 'variables:\n  n: 5\nnodes:\n  a: {type: generator, count: "${n}"}\n' >"$T/vars.yaml"
expect_rc 0 "$BIN" validate "$T/vars.yaml"
expect_rc 78 "$BIN" validate "$T/vars.yaml" --set g=1
grep -q "the graph declares no variable 'g'" "$T/err" || fail "unknown --set"

expect_rc 66 "$BIN" validate "$T/missing.yaml"
expect_rc 64 "$BIN" validate
expect_rc 64 "$BIN" frobnicate
for g in "$SRC"/graphs/*.yaml; do expect_rc 0 "$BIN" validate "$g"; done
echo ok
