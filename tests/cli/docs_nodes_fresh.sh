# docs/nodes.md is generated from the node registry; this fails when it is stale.
. "$(dirname "$0")/lib.inc"
"$BIN" nodes --markdown >"$T/nodes.md"
diff -u "$SRC/docs/nodes.md" "$T/nodes.md" || fail "docs/nodes.md is stale: run 'colo-graph nodes --markdown > docs/nodes.md'"
