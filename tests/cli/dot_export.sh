# dot writes DOT, and a valid SVG and PNG through Graphviz.
. "$(dirname "$0")/lib.inc"
command -v dot >/dev/null || { echo "SKIP: graphviz not installed"; exit 77; }
for g in "$SRC"/graphs/*.yaml; do
    expect_rc 0 "$BIN" dot "$g" -o "$T/g.dot"
    grep -q "rankdir=LR" "$T/g.dot" || fail "$g: no rankdir"
    expect_rc 0 "$BIN" dot "$g" --format svg -o "$T/g.svg"
    python3 -c "import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); assert d.documentElement.tagName == 'svg'" "$T/g.svg" \
        || fail "$g: invalid SVG"
done
expect_rc 0 "$BIN" dot "$SRC/graphs/demo-replay.yaml" --format png -o "$T/g.png"
[ "$(head -c 4 "$T/g.png" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "not a PNG"
echo ok
