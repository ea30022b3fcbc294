#!/bin/bash
# False-checkpoint soak: the namespace COLO pair of colo_pair.sh (pair_lib.bash)
# with both guests serving IDENTICAL files, so every checkpoint request is a
# false one. A busy loop per core (nproc) competes with the pair, the guests'
# TCP stacks and the client for the whole run. Each round: one 50 MiB download,
# and meanwhile 20 parallel downloads of 1 MiB, then 100 parallel downloads of
# 1 MiB. Five rounds. Asserts: every download complete with the right sha256,
# no checkpoint_request event, the comparator's checkpoint_requests counter 0,
# no DO_CHECKPOINT at the COLO frame, and the comparator verified at least the
# bytes downloaded. Prints per round: times, requests, the comparator's and the
# rewriter's counters, the guest stacks' retransmissions and the frames the
# TAP devices dropped (the usual reason one guest's stream has a hole).
#
# The graphs run with their shipped settings, compare_timeout 3000 ms and
# expired_scan_cycle 1000 ms included (colo_pair.sh shortens the timeouts only
# to make its dead-secondary section fast; a soak for false checkpoints must
# not count a scheduling delay under a 300 ms timeout as one).
# The guests' HTTP servers listen with a backlog of 1024
# (http_server_backlog.py): socketserver's 5 overflows on each guest
# independently under 100 parallel connections, a real divergence of the guests
# that is not the comparator's to hide.
#
# A checkpoint here does not resynchronise the guests (there are no VMs), so
# after one the streams stay apart and the rest of the round only gets slower:
# a round with a failure ends the run. A passing run takes about a minute on a
# 2-core machine; a failing one at most about two (curl --max-time 90 s).
#
# Usage: false_checkpoint_soak.sh COLO_GRAPH SOURCE_DIR
# Environment: SOAK_ROUNDS (5); SOAK_CAPTURE=DIR writes DIR/primary.pcap and
# DIR/secondary.pcap, what reached the comparator's two inputs (the secondary
# after the rewriter), for `colo-graph compare`; SOAK_HOG=0 runs without the
# busy loops; SOAK_ALL_ROUNDS=1 goes on after a failed round; KEEP=1 keeps
# the work folder.
set -u
source "$(dirname "$0")/pair_lib.bash"
pair_init "$1" "$2"
PAIR_HTTP_SERVER=$SRC/tests/e2e/http_server_backlog.py
ROUNDS=${SOAK_ROUNDS:-5}
MIB=1048576
MAX_TIME=90   # curl --max-time (s); a passing round takes 3-10 s

# Content: identical on both guests (hard links: same bytes, same metadata).
pair_random_file "$W/pvm/big.bin" 13 50
head -c $MIB "$W/pvm/big.bin" > "$W/pvm/mib.bin"
for f in big.bin mib.bin; do ln "$W/pvm/$f" "$W/svm/$f"; done
SUM_BIG=$(sha256sum < "$W/pvm/big.bin" | cut -d' ' -f1)
SUM_MIB=$(sha256sum < "$W/pvm/mib.bin" | cut -d' ' -f1)

if [ -n "${SOAK_CAPTURE:-}" ]; then
    mkdir -p "$SOAK_CAPTURE"
    # graphs/primary.yaml plus two pcap sinks on the comparator's inputs.
    awk -v dir="$SOAK_CAPTURE" '
        { print }
        /^nodes:/ { print "  cap_primary:   { type: pcap-sink, file: \"" dir "/primary.pcap\" }"
                    print "  cap_secondary: { type: pcap-sink, file: \"" dir "/secondary.pcap\" }" }
        /^links:/ { print "  - guest.out -> cap_primary"
                    print "  - from_secondary.out -> cap_secondary" }
    ' "$SRC/graphs/primary.yaml" > "$W/primary-capture.yaml"
    PAIR_PRIMARY_GRAPH=$W/primary-capture.yaml
fi

# Counter snapshots between rounds: SIGUSR1 makes `run --dot-dir` write the
# live graph with every non-zero counter (values of 10000 and more rounded).
mkdir -p "$W/dot-primary" "$W/dot-secondary"
PAIR_SECONDARY_ARGS=(--dot-dir "$W/dot-secondary")

HOGS=() INFLIGHT=()
pair_on_exit() {
    local p
    for p in "${INFLIGHT[@]}" "${HOGS[@]}"; do kill "$p" 2>/dev/null; done
}

pair_up --dot-dir "$W/dot-primary"

# counters NODE DOTDIR PREFIX: "PREFIX.name value" for NODE's counters in the
# newest snapshot in DOTDIR.
counters() {
    local f
    f=$(ls -t "$2"/*.dot 2>/dev/null | head -1)
    [ -n "$f" ] || return 0
    python3 - "$1" "$f" "$3" <<'PY'
import re, sys
node, path, prefix = sys.argv[1:]
for line in open(path):
    if "<B>%s</B>" % node not in line:
        continue
    for name, value in re.findall(r'COLOR="#a03030">([a-z0-9_]+): ([0-9.]+[kM]?)<', line):
        scale = {"k": 1e3, "M": 1e6}.get(value[-1], 1)
        print("%s.%s %d" % (prefix, name, float(value.rstrip("kM")) * scale))
PY
}
# dot_snapshot PID DOTDIR: ask for a snapshot, wait (up to 5 s) until it is written.
dot_snapshot() {
    local before n
    before=$(ls "$2" | wc -l)
    kill -USR1 "$1"
    for n in $(seq 50); do
        [ "$(ls "$2" | wc -l)" -gt "$before" ] && break
        sleep 0.1
    done
    sleep 0.2   # the file is written by one stream insertion; let it finish
}
# snapshot FILE: the comparator's (c.), the rewriter's (r.) and the guest
# stacks' (pvm., svm.) counters now.
snapshot() {
    local ns name nsname dev
    dot_snapshot $PRIMARY "$W/dot-primary"
    dot_snapshot $SECONDARY "$W/dot-secondary"
    {
        counters compare "$W/dot-primary" c
        counters rewriter "$W/dot-secondary" r
        for ns in pvm:$NS_P svm:$NS_S; do
            ip netns exec ${ns#*:} nstat -asz TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPLossProbes \
                TcpExtListenDrops | awk -v p=${ns%%:*} '!/^#/ { print p "." $1, $2 }'
        done
        # Frames a TAP dropped: tx, from its namespace to the graph (the
        # graph read too slowly); rx, from the graph into the namespace.
        for ns in pvm:$NS_P:$TAP_P svm:$NS_S:$TAP_S cli:$NS_C:$TAP_C; do
            IFS=: read -r name nsname dev <<<"$ns"
            ip -n $nsname -s -j link show $dev | python3 -c "import json, sys
s = json.load(sys.stdin)[0]['stats64']
print('$name.tx_dropped', s['tx']['dropped']); print('$name.rx_dropped', s['rx']['dropped'])"
        done
    } > "$1"
}
# section NODE FILE: NODE's row and counters in a --stats table.
section() { awk -v n="$1" '$1 == n { p = 1; print; next } p && /^ / { print; next } { p = 0 }' "$2"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$2"; }
requests() { local n; n=$(grep -c '"event":"checkpoint_request"' "$W/events.jsonl" 2>/dev/null); echo "${n:-0}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# d KEY: the increase of a snapshot counter over the round.
d() { echo $(( $(get "$1" "$W/snap.now") - $(get "$1" "$W/snap.prev") )); }
# pair_d NAME: "pvm/svm" increases of a guest stack counter.
pair_d() { echo "$(d pvm.$1)/$(d svm.$1)"; }
# tap_d tx_dropped|rx_dropped: "pvm/svm/client" increases of a TAP's drops.
tap_d() { echo "$(d pvm.$1)/$(d svm.$1)/$(d cli.$1)"; }

# fetch NAME MAXTIME OUT: one download in the client namespace, in the background.
fetch() {
    $C curl -sS --max-time "$2" -o "$3" "http://$GUEST_IP:8000/$1" 2>>"$W/curl.err" &
    INFLIGHT+=($!)
}
# finish: wait for every download in flight; count the failed ones in $failed.
finish() {
    local p
    for p in "${INFLIGHT[@]}"; do wait "$p" || failed=$((failed + 1)); done
    INFLIGHT=()
}
# parallel N: N parallel 1 MiB downloads into $W/dl/N.I, all waited for.
parallel() {
    local i big=("${INFLIGHT[@]}")
    INFLIGHT=()
    for i in $(seq "$1"); do fetch mib.bin $MAX_TIME "$W/dl/$1.$i"; done
    finish
    INFLIGHT=("${big[@]}")
}

if [ "${SOAK_HOG:-1}" != 0 ]; then
    say "CPU hog: $(nproc) busy loops"
    for i in $(seq "$(nproc)"); do
        ( while :; do :; done ) &
        HOGS+=($!)
    done
fi

FORMAT="%5s %6s %5s %5s %8s %10s %8s %14s %19s %8s %11s %11s %7s %7s %10s %12s %12s %6s %7s\n"
HEADER=$(printf "$FORMAT" round time t20 t100 requests mismatches timeouts ack_gate_holds \
    released_retransmit flushed sack_rewrites retrans rto tlp listen_drop tap_out_drop tap_in_drop \
    failed bad_sha)
ROWS=()
total_failed=0 total_bad=0 total_bytes=0
snapshot "$W/snap.prev"
start=$(date +%s.%N)
for r in $(seq "$ROUNDS"); do
    say "round $r: 50 MiB, with 20 then 100 parallel 1 MiB"
    rm -rf "$W/dl"; mkdir -p "$W/dl"
    req0=$(requests)
    t0=$(date +%s.%N)
    failed=0
    fetch big.bin $MAX_TIME "$W/dl/big"
    parallel 20
    t20=$(date +%s.%N)
    parallel 100
    t100=$(date +%s.%N)
    finish
    t1=$(date +%s.%N)
    bad=0
    for f in "$W"/dl/20.* "$W"/dl/100.*; do
        [ "$(sha256sum < "$f" 2>/dev/null | cut -d' ' -f1)" = "$SUM_MIB" ] || bad=$((bad + 1))
    done
    [ "$(sha256sum < "$W/dl/big" 2>/dev/null | cut -d' ' -f1)" = "$SUM_BIG" ] || bad=$((bad + 1))
    total_failed=$((total_failed + failed)) total_bad=$((total_bad + bad))
    total_bytes=$((total_bytes + 120 * MIB + 50 * MIB))
    snapshot "$W/snap.now"
    row=$(printf "$FORMAT" "$r" "$(secs $t0 $t1)" "$(secs $t0 $t20)" "$(secs $t20 $t100)" \
        $(( $(requests) - req0 )) "$(d c.mismatches)" "$(d c.timeouts)" "$(d c.ack_gate_holds)" \
        "$(d c.released_retransmit)" "$(d c.released_flush)" "$(d r.sack_edge_rewrites)" \
        "$(pair_d TcpRetransSegs)" "$(pair_d TcpExtTCPTimeouts)" "$(pair_d TcpExtTCPLossProbes)" \
        "$(pair_d TcpExtListenDrops)" "$(tap_d tx_dropped)" "$(tap_d rx_dropped)" "$failed" "$bad")
    ROWS+=("$row")
    [ "$r" = 1 ] && echo "$HEADER"
    echo "$row"
    mv "$W/snap.now" "$W/snap.prev"
    if [ "$r" -lt "$ROUNDS" ] && [ -z "${SOAK_ALL_ROUNDS:-}" ] &&
        [ $((failed + bad + $(requests))) -gt 0 ]; then
        echo "round $r failed: rounds $((r + 1))-$ROUNDS not run (SOAK_ALL_ROUNDS=1 runs them)"
        break
    fi
done
end=$(date +%s.%N)
pair_on_exit; HOGS=()

say "per round: seconds (the round, its 20 x 1 MiB, its 100 x 1 MiB); the increase of the comparator's"
echo "    and the rewriter's counters, of the guest stacks' TCP counters (pvm/svm), of the frames the"
echo "    TAPs dropped (pvm/svm/client; out: namespace to graph, in: graph to namespace)"
echo "$HEADER"
for row in "${ROWS[@]}"; do echo "$row"; done
echo "transfers: $(secs $start $end) s for ${#ROWS[@]} of $ROUNDS rounds"

kill -TERM $PRIMARY $SECONDARY 2>/dev/null
wait $PRIMARY $SECONDARY 2>/dev/null
echo "=== primary comparator (exact, at exit)"
section compare "$W/primary.out"
echo "=== secondary rewriter (exact, at exit)"
section rewriter "$W/secondary.out"
# final NAME: a comparator counter in the --stats table at exit (a zero is not printed).
final() { awk -v k="$1" '$1 == k { v = $2; exit } END { print v + 0 }' "$W/primary.out"; }
n_events=$(requests)
if [ "$n_events" -gt 0 ]; then
    echo "=== checkpoint requests (first 20 of $n_events; the first is the trigger, the guests are not resynchronised after it)"
    grep '"event":"checkpoint_request"' "$W/events.jsonl" | head -20
fi
[ -s "$W/curl.err" ] && { echo "=== curl errors"; sort "$W/curl.err" | uniq -c | head -20; }
[ -n "${SOAK_CAPTURE:-}" ] && echo "captures: $SOAK_CAPTURE/primary.pcap $SOAK_CAPTURE/secondary.pcap"

check "every download completed ($total_failed failed)" [ "$total_failed" -eq 0 ]
check "every download has the right sha256 ($total_bad wrong)" [ "$total_bad" -eq 0 ]
check "no checkpoint_request event ($n_events)" [ "$n_events" -eq 0 ]
check "comparator checkpoint_requests is 0 ($(final checkpoint_requests))" [ "$(final checkpoint_requests)" = 0 ]
check "the COLO frame saw no DO_CHECKPOINT ($(cat "$W/checkpoints" 2>/dev/null || echo 0))" [ ! -s "$W/checkpoints" ]
check "the comparator verified every byte downloaded ($(final bytes_matched) >= $total_bytes)" \
    [ "$(final bytes_matched)" -ge "$total_bytes" ]
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
