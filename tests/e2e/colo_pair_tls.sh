#!/bin/bash
# The COLO pair of colo_pair.sh with TLS on the channels between the hosts
# (issue #18): the primary serves mirror, compare and the heartbeat with
# tls_creds_dir, the secondary connects to them with its own certificate
# (mutual authentication), credentials made by tests/io/make_tls_creds.sh.
# The notify channel stays local (the COLO frame on the primary's host).
#
# Checks: every inter-host connection is TLS 1.3 on both ends; a 50 MB
# download arrives intact with no checkpoint; and the wire carries no
# plaintext: a capture of the mirror and compare ports while the client
# fetches a file of marker lines three times holds that traffic (by volume)
# but neither the marker, nor the request for it, nor any HTTP header. (The
# same script without tls_creds_dir finds them.)
# Usage: colo_pair_tls.sh COLO_GRAPH SOURCE_DIR
set -u
source "$(dirname "$0")/pair_lib.bash"
pair_init "$1" "$2"
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }
command -v certtool >/dev/null || { echo "SKIP: certtool not installed (gnutls-bin)"; exit 77; }

"$SRC/tests/io/make_tls_creds.sh" "$W/creds" || exit 1
CREDS=$W/creds/good
HEARTBEAT=tcp:127.0.0.1:$((PORT_BASE + 3))
MIRROR_PORT=${MIRROR##*:} COMPARE_PORT=${COMPARE##*:}

pair_random_file "$W/pvm/big.bin" 11 50
ln "$W/pvm/big.bin" "$W/svm/big.bin"
MARKER="colo-graph-tls-marker-$ID-$(date +%N)"
for i in $(seq 1 2000); do echo "$MARKER $i"; done > "$W/pvm/marker.txt"
cp "$W/pvm/marker.txt" "$W/svm/marker.txt"

PAIR_SECONDARY_ARGS=(--set tls_creds_dir="$CREDS" --set heartbeat_addr=$HEARTBEAT)
pair_up --set tls_creds_dir="$CREDS" --set heartbeat_addr=$HEARTBEAT --set compare_timeout=300 \
    --set expired_scan_cycle=100

say "TLS sessions"
tls13() { grep -q "$1: tcp:[^ ]*: $2 ((TLS1.3)" "$3"; }
check "primary: the secondary's mirror connection is TLS 1.3" tls13 to_secondary "peer connected" "$W/primary.err"
check "primary: the secondary's compare connection is TLS 1.3" tls13 from_secondary "peer connected" "$W/primary.err"
check "secondary: both of its connections are TLS 1.3" \
    eval 'tls13 from_primary "peer connected" "$W/secondary.err" && tls13 to_compare "peer connected" "$W/secondary.err"'
check "the heartbeat runs over TLS 1.3 and the peers are up" \
    eval 'tls13 heartbeat "heartbeat peer connected" "$W/primary.err" && grep -q "heartbeat: .*peer up" "$W/primary.err" &&
          tls13 heartbeat "heartbeat peer connected" "$W/secondary.err" && grep -q "heartbeat: .*peer up" "$W/secondary.err"'

say "ping"
check "ping from the client reaches the protected guest" $C ping -c 3 -W 2 -q $GUEST_IP

say "50 MB download"
want=$(sha256sum < "$W/pvm/big.bin" | cut -d' ' -f1)
got=$($C curl -s --max-time 120 http://$GUEST_IP:8000/big.bin | sha256sum | cut -d' ' -f1)
check "a 50 MB file arrives intact (sha256)" [ "$got" = "$want" ]

say "the marker file, under a capture of the inter-host ports"
tcpdump -i lo -s 0 -U -w "$W/wire.pcap" "tcp port $MIRROR_PORT or tcp port $COMPARE_PORT" 2>"$W/tcpdump.err" &
TCPDUMP=$!
PIDS+=($TCPDUMP)
for _ in $(seq 1 50); do grep -q "listening on" "$W/tcpdump.err" && break; sleep 0.1; done
intact=0
for i in 1 2 3; do
    $C curl -s --max-time 30 -o "$W/marker.got" http://$GUEST_IP:8000/marker.txt
    cmp -s "$W/marker.got" "$W/pvm/marker.txt" && intact=$((intact + 1))
done
check "the marker file arrives intact ($intact/3)" [ $intact -eq 3 ]
sleep 1
kill -INT $TCPDUMP 2>/dev/null
wait $TCPDUMP 2>/dev/null
check "no checkpoint was needed ($(cat "$W/checkpoints" 2>/dev/null || echo 0) answered)" \
    eval '[ "$(cat "$W/checkpoints" 2>/dev/null || echo 0)" -eq 0 ] && ! grep -q checkpoint_request "$W/events.jsonl"'
kill -TERM $PRIMARY $SECONDARY 2>/dev/null
wait $PRIMARY 2>/dev/null

say "what the wire carried"
captured=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$W/tcpdump.err")
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$W/tcpdump.err")
check "tcpdump captured $captured packets and the kernel dropped none ($dropped)" [ -n "$captured" -a "$dropped" = 0 ]
wire_bytes=$(stat -c %s "$W/wire.pcap")
marker_bytes=$(stat -c %s "$W/pvm/marker.txt")
check "the capture holds the three transfers ($wire_bytes bytes >= 3 x $marker_bytes)" \
    [ "$wire_bytes" -ge $((3 * marker_bytes)) ]
check "the marker the guests served is nowhere on the wire" eval '! grep -qaF "$MARKER" "$W/wire.pcap"'
check "nor the client's request for it" eval '! grep -qaF "GET /marker.txt" "$W/wire.pcap"'
check "nor any HTTP header" eval '! grep -qaF "HTTP/1." "$W/wire.pcap"'
refused=$(grep -h "tls_refused" "$W/primary.out" "$W/secondary.out" | awk '{s += $2} END {print s + 0}')
check "no TLS handshake was refused on either host ($refused)" [ "$refused" -eq 0 ]

echo "=== primary stats"; cat "$W/primary.out"; echo "=== primary log"; tail -20 "$W/primary.err"
echo "=== secondary log"; tail -10 "$W/secondary.err"
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
