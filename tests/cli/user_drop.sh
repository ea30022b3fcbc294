# run --user: devices and files are opened as root, then the process runs as
# an unprivileged user (and cannot regain root).
. "$(dirname "$0")/lib.inc"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user 'nobody'"; exit 77; }
dev=cgu$$
cat >"$T/g.yaml" <<Y
nodes:
  tap: { type: tap, device: $dev }
  out: { type: null-sink }
links: [ tap.out -> out ]
Y
chmod 755 "$T"
"$BIN" run "$T/g.yaml" --user nobody --stats >"$T/out" 2>"$T/err" &
pid=$!
sleep 1
uid=$(awk '/^Uid:/{print $2, $3, $4, $5}' /proc/$pid/status)
ip link show $dev >/dev/null 2>&1 || { kill $pid; fail "device not created"; }
kill -TERM $pid
wait $pid || { cat "$T/err"; fail "exit code $?"; }
echo "uids while running: $uid"
nobody=$(id -u nobody)
[ "$uid" = "$nobody $nobody $nobody $nobody" ] || fail "still privileged: $uid"
# Without CAP_NET_ADMIN a TAP node fails with a clear error.
if command -v setpriv >/dev/null; then
    cp "$BIN" "$T/colo-graph" && chmod 755 "$T/colo-graph" "$T/g.yaml"
    expect_rc 78 setpriv --reuid=$nobody --regid=$nobody --clear-groups "$T/colo-graph" run "$T/g.yaml"
    grep -q "needs CAP_NET_ADMIN" "$T/err" || { cat "$T/err"; fail "no clear CAP_NET_ADMIN error"; }
    cat "$T/err"
fi
expect_rc 77 sh -c "\"$BIN\" run \"$T/g.yaml\" --user no-such-user-here >/dev/null 2>&1; [ \$? -eq 77 ] && exit 77"
echo ok
