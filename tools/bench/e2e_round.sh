#!/bin/bash
# One round of the e2e benchmark in one configuration (tools/bench/e2e.sh
# alternates them): builds the network, measures, tears it down, and prints
# its figures as "result CONFIG NAME VALUE" lines (everything else is log).
#
#   e2e_round.sh CONFIG COLO_GRAPH SOURCE_DIR
#
# CONFIG: direct-on / direct-off — client and server namespaces joined by a
# veth, its offloads left on or turned off (ethtool -K); pair-vnet-off /
# pair-vnet-on — the COLO pair of tests/e2e/pair_lib.bash (client, pvm and
# svm namespaces, graphs/primary.yaml and graphs/secondary.yaml on TAPs) with
# plain frames, or with virtio-net headers on the TAPs and in the socket
# records (the TAPs then take large segments: the tap node's offload);
# pair-kernel — the same three namespaces and two guests with no proxy: the
# kernel forwards (kernel_pair_up), the pair's ceiling on this machine;
# pair-min — the COLO pair with e2e_pair_min.c in colo-graph's place, the least
# a proxy in user space does on the same TAPs and socket (the release rule, no
# comparison, no graph): the ceiling for colo-graph's way of doing it.
# Same server (e2e_http_server.py), same client (curl), same files in all.
#
# Measures: one download of E2E_SIZE_MB (50) MiB; E2E_PAR (20) parallel
# downloads of E2E_PAR_MB (10) MiB each; E2E_REQUESTS (1000) sequential
# requests for a 100-byte file on one connection (curl's time_total each).
# Checks every sha256, the client's out-of-order segments (TcpExtTCPOFOQueue)
# and the server's retransmissions; for the pair, each proxy's CPU
# (utime+stime of every thread, /proc/PID/stat) over the downloads and its
# CPU time per request (schedstat) over the requests, and the
# primary comparator's checkpoint requests, mismatches and timeouts; the
# bytes each guest's stack handed its device over the downloads and over the
# requests (the SVM's too: it must send every byte) and the SVM's TCP
# segments and retransmissions.
#
# E2E_CALLGRIND=DIR (pair-min and pair-vnet-*): both proxies run under
# valgrind's callgrind, counting only over the sequential requests, and each
# one's user-space instructions per request are reported: exact where CPU
# time is noisy. DIR keeps CONFIG.primary.callgrind and
# CONFIG.secondary.callgrind for callgrind_annotate. Every other figure of
# such a round is the proxies' under valgrind.
set -u
CONFIG=$1
SIZE_MB=${E2E_SIZE_MB:-50} PAR=${E2E_PAR:-20} PAR_MB=${E2E_PAR_MB:-10} REQUESTS=${E2E_REQUESTS:-1000}
export TMPDIR=/dev/shm   # downloads land in memory: no disk in the measurement
source "$3/tests/e2e/pair_lib.bash"
PAIR_HTTP_SERVER=$3/tools/bench/e2e_http_server.py
pair_init "$2" "$3"
command -v ethtool >/dev/null || { echo "SKIP: ethtool not installed"; exit 77; }
command -v nstat >/dev/null || { echo "SKIP: nstat not installed"; exit 77; }

result() { echo "result $CONFIG $1 $2"; }

CALLGRIND=()
if [ -n "${E2E_CALLGRIND:-}" ] && [[ ${CONFIG%-b} == pair-min || ${CONFIG%-b} == pair-vnet-* ]]; then
    command -v callgrind_control >/dev/null || { echo "SKIP: E2E_CALLGRIND needs valgrind"; exit 77; }
    mkdir -p "$E2E_CALLGRIND"
    CALLGRIND=(valgrind -q --tool=callgrind --instr-atstart=no "--callgrind-out-file=$W/callgrind.%p")
    # valgrind does not support seccomp's thread synchronisation: no sandbox.
    printf '#!/bin/sh\nexec %s "%s" "$@" --sandbox off\n' "${CALLGRIND[*]}" "$BIN" >"$W/colo-graph-callgrind"
    chmod +x "$W/colo-graph-callgrind"
    BIN=$W/colo-graph-callgrind
    PAIR_START_WAIT=${PAIR_START_WAIT:-4}
fi

# The same files on both guests, hard links: same bytes, same mtime (Last-Modified).
mkdir -p "$W/client"
pair_random_file "$W/pvm/big.bin" 7 "$SIZE_MB"
pair_random_file "$W/pvm/par.bin" 8 "$PAR_MB"
head -c 100 "$W/pvm/par.bin" >"$W/pvm/small.bin"
for f in big.bin par.bin small.bin; do ln "$W/pvm/$f" "$W/svm/$f"; done

# direct_up on|off: client and server namespaces joined by a veth.
direct_up() {
    netns_add $NS_C $NS_P
    ip link add $TAP_C netns $NS_C type veth peer name $TAP_P netns $NS_P || exit 1
    ip -n $NS_C addr add $CLIENT_IP/24 dev $TAP_C && ip -n $NS_C link set $TAP_C up
    ip -n $NS_P addr add $GUEST_IP/24 dev $TAP_P && ip -n $NS_P link set $TAP_P up
    if [ "$1" = off ]; then
        ip netns exec $NS_C ethtool -K $TAP_C tso off gso off gro off tx off rx off sg off 2>/dev/null
        ip netns exec $NS_P ethtool -K $TAP_P tso off gso off gro off tx off rx off sg off 2>/dev/null
    fi
    say "veth offloads: $(ip netns exec $NS_P ethtool -k $TAP_P | grep -E '^(tcp-segmentation-offload|generic-receive-offload|tx-checksumming):' | tr -s ' \n' ' ')"
    ip netns exec $NS_P python3 "$PAIR_HTTP_SERVER" "$W/pvm" 8000 & PIDS+=($!)
    sleep 1
}

# kernel_pair_up: pair_lib.bash's client, PVM and SVM namespaces, addresses
# and MACs (the SVM has the PVM's IP and MAC) on veths whose other ends are in
# a fourth namespace, the host, where tc forwards instead of the proxies: every
# client frame is mirrored to the SVM and redirected to the PVM (u32 matches
# all; this kernel has no matchall or gact), the guests' frames go to the
# client or, addressed to the client's MAC, into the host's stack, which drops
# them. Offloads as the kernel sets them. Which frames go is the pair's
# release rule, e2e_pair_kernel.bpf.c: a range of the reply goes once both
# guests have sent it, the later copy, with the lower of their ACKs. It needs
# both guests' TCP to agree on sequence numbers, as the pair's rewriter makes
# them: SYN cookies (tcp_syncookies=2) give both the same ISN and timestamp
# offset for a connection. No ARP: static neighbours.
kernel_pair_up() {
    local t g
    command -v clang >/dev/null && command -v nsenter >/dev/null || { echo "SKIP: clang or nsenter not installed"; exit 77; }
    clang -O2 -g -target bpf -I/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu) \
        -c "$SRC/tools/bench/e2e_pair_kernel.bpf.c" -o "$W/pair_kernel.o" || exit 1
    netns_add $NS_C $NS_P $NS_S $NS_H
    ip netns exec $NS_H sysctl -qw net.ipv4.ip_forward=0
    ip link add $TAP_C netns $NS_C type veth peer name $HOST_C netns $NS_H || exit 1
    ip link add $TAP_P netns $NS_P type veth peer name $HOST_P netns $NS_H || exit 1
    ip link add $TAP_S netns $NS_S type veth peer name $HOST_S netns $NS_H || exit 1
    ip -n $NS_C link set $TAP_C address $CLIENT_MAC
    ip -n $NS_C addr add $CLIENT_IP/24 dev $TAP_C && ip -n $NS_C link set $TAP_C up
    ip -n $NS_C neigh replace $GUEST_IP lladdr $GUEST_MAC dev $TAP_C nud permanent
    for ns_tap in "$NS_P $TAP_P" "$NS_S $TAP_S"; do
        set -- $ns_tap
        ip -n $1 link set $2 address $GUEST_MAC
        ip -n $1 addr add $GUEST_IP/24 dev $2 && ip -n $1 link set $2 up
        ip -n $1 neigh replace $CLIENT_IP lladdr $CLIENT_MAC dev $2 nud permanent
        ip netns exec $1 sysctl -qw net.ipv4.tcp_syncookies=2
    done
    for t in $HOST_C $HOST_P $HOST_S; do ip -n $NS_H link set $t up; done
    # The programs share their maps through a bpffs of this round's own
    # (TC_BPF_MNT); nsenter, not ip netns exec, which would mount a new /sys.
    mkdir -p "$W/bpf" && mount -t bpf bpf "$W/bpf" || exit 1
    local tc="env TC_BPF_MNT=$W/bpf nsenter --net=/run/netns/$NS_H tc"
    $tc qdisc add dev $HOST_C ingress && $tc qdisc add dev $HOST_P clsact && $tc qdisc add dev $HOST_S clsact || exit 1
    $tc filter add dev $HOST_C ingress protocol all u32 match u32 0 0 \
        action mirred egress mirror dev $HOST_S action mirred egress redirect dev $HOST_P || exit 1
    for g in pvm:$HOST_P svm:$HOST_S; do
        $tc filter add dev ${g#*:} ingress bpf obj "$W/pair_kernel.o" sec ${g%:*}_out \
            action mirred egress redirect dev $HOST_C || exit 1
        $tc filter add dev ${g#*:} egress bpf obj "$W/pair_kernel.o" sec client_in_${g%:*} || exit 1
    done
    say "veth offloads: $(ip netns exec $NS_P ethtool -k $TAP_P | grep -E '^(tcp-segmentation-offload|generic-receive-offload|tx-checksumming):' | tr -s ' \n' ' ')"
    ip netns exec $NS_P python3 "$PAIR_HTTP_SERVER" "$W/pvm" 8000 & PIDS+=($!)
    ip netns exec $NS_S python3 "$PAIR_HTTP_SERVER" "$W/svm" 8000 & PIDS+=($!)
    sleep 1
}
NS_H=cgh$ID HOST_C=cgkc$ID HOST_P=cgkp$ID HOST_S=cgks$ID CLIENT_MAC=52:54:00:12:34:01
pair_on_exit() {
    ip netns del $NS_H 2>/dev/null
    if mountpoint -q "$W/bpf"; then umount "$W/bpf"; fi
}

case ${CONFIG%-b} in   # CONFIG-b: the same on build B (e2e.sh --ab)
    direct-on) direct_up on ;;
    direct-off) direct_up off ;;
    pair-kernel) kernel_pair_up ;;
    pair-min)
        # The least a user-space pair does (e2e_pair_min.c) in colo-graph's
        # place: the same namespaces, TAPs, ports and socket, vnet headers on.
        ${CC:-cc} -O2 -Wall -o "$W/e2e-pair-min" "$SRC/tools/bench/e2e_pair_min.c" || exit 1
        pair_start_primary() {
            ${CALLGRIND[@]+"${CALLGRIND[@]}"} "$W/e2e-pair-min" primary $TAP_C $TAP_P ${MIRROR##*:} ${COMPARE##*:} >"$W/primary.out" 2>"$W/primary.err" &
            PRIMARY=$!
            PIDS+=($PRIMARY)
        }
        pair_start_secondary() {
            ${CALLGRIND[@]+"${CALLGRIND[@]}"} "$W/e2e-pair-min" secondary $TAP_S ${MIRROR##*:} ${COMPARE##*:} >>"$W/secondary.out" 2>>"$W/secondary.err" &
            SECONDARY=$!
            PIDS+=($SECONDARY)
        }
        pair_up
        # Its release rule needs both guests on the same sequence numbers, as pair-kernel's.
        for ns in $NS_P $NS_S; do ip netns exec $ns sysctl -qw net.ipv4.tcp_syncookies=2; done
        ;;
    pair-vnet-off | pair-vnet-on)
        if [ ${CONFIG%-b} = pair-vnet-on ]; then vnet=(--set vnet_hdr_len=12 --set vnet_hdr_support=on)
        else vnet=(--set vnet_hdr_len=0 --set vnet_hdr_support=off); fi
        PAIR_SECONDARY_ARGS=("${vnet[@]}")
        pair_up "${vnet[@]}"
        say "guest TAP features: $(ip netns exec $NS_P ethtool -k $TAP_P | grep -E '^(tcp-segmentation-offload|tx-checksumming):' | tr -s ' \n' ' ')"
        ;;
    *) echo "e2e_round.sh: unknown configuration $CONFIG" >&2; exit 64 ;;
esac
$C curl -s --max-time 10 -o /dev/null http://$GUEST_IP:8000/small.bin || { echo "FAIL: no HTTP reply"; exit 1; }
has_svm() { ip netns list | grep -qw $NS_S; }
# Each host on a CPU of its own, every thread: the primary proxy and the PVM's
# server on CPU 0, the secondary proxy and the SVM's server on CPU 1, as on two
# hosts; the direct link's server on CPU 0. The client (curl) runs on CPU 1, so
# that each hop a network would carry crosses CPUs here too: the direct link's
# two, the pair's four (client, primary, secondary, primary, client). Left to
# the scheduler, curl landed on either CPU from round to round, and its p50
# with it: 190-220 us on CPU 0, 330-350 us on CPU 1 (docs/performance.md).
# Floating, the two proxies also preempt each other mid-burst, which two
# hosts never do. E2E_PIN=0 lets everything float (e2e.sh sets 0 on one CPU).
if [ "${E2E_PIN:-1}" != 0 ]; then
    pin() { taskset -a -p -c "$1" "$2" >/dev/null || exit 1; }
    [ -n "${PRIMARY:-}" ] && pin 0 $PRIMARY && pin 1 $SECONDARY
    for p in $(ip netns pids $NS_P); do pin 0 $p; done
    if has_svm; then for p in $(ip netns pids $NS_S); do pin 1 $p; done; fi
    C="taskset -c 1 $C"
    say "pinned (pid:cpus): $(for p in ${PRIMARY:-} ${SECONDARY:-} $(ip netns pids $NS_P) $(has_svm && ip netns pids $NS_S); do
        echo -n "$p:$(taskset -p $p | sed 's/.*: //') "; done)client:1"
fi

# cpu_ticks: utime+stime of both proxies (all threads), 0 without a pair.
cpu_ticks() {
    local p t=0
    for p in ${PRIMARY:-} ${SECONDARY:-}; do t=$((t + $(proxy_ticks $p))); done
    echo $t
}
proxy_ticks() { # utime + stime: fields 14 and 15, counted after the ")" ending the name
    [ -n "${1:-}" ] && [ -r /proc/$1/stat ] || { echo 0; return; }
    sed 's/.*) //' /proc/$1/stat | awk '{print $12 + $13}'
}
# proxy_switches PID: context switches of all the proxy's threads (voluntary: it slept and was woken).
proxy_switches() {
    [ -n "${1:-}" ] && [ -d /proc/$1/task ] || { echo 0; return; }
    cat /proc/$1/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}
# proxy_run_ns PID: time all the proxy's threads ran on a CPU, in ns (the first
# field of each thread's schedstat: exact, where /proc/PID/stat counts ticks).
proxy_run_ns() {
    [ -n "${1:-}" ] && [ -d /proc/$1/task ] || { echo 0; return; }
    cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}
# cpu_busy_idle: the machine's busy and idle jiffies so far (/proc/stat, all CPUs; iowait counts as idle).
cpu_busy_idle() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat; }
netstat_of() { ip netns exec $1 nstat -asz $2 | awk -v n=$2 '$1 == n {print $2}'; }
# sent NS DEV: bytes the namespace's stack handed DEV (its tx_bytes), 0 without NS.
sent() { ip netns exec $1 cat /sys/class/net/$2/statistics/tx_bytes 2>/dev/null || echo 0; }
# let_through: bytes of the SVM's frames sent on to the client (pair-kernel).
let_through() { nsenter --net=/run/netns/$NS_H tc -s filter show dev $HOST_S ingress | awk '/Sent/ {print $2; exit}'; }

ofo0=$(netstat_of $NS_C TcpExtTCPOFOQueue)
csum0=$(netstat_of $NS_C TcpInCsumErrors)
retrans0=$(netstat_of $NS_P TcpRetransSegs)
p0=$(proxy_ticks ${PRIMARY:-}) s0=$(proxy_ticks ${SECONDARY:-})
pw0=$(proxy_switches ${PRIMARY:-}) sw0=$(proxy_switches ${SECONDARY:-})
pvm0=$(sent $NS_P $TAP_P)
if has_svm; then
    svm0=$(sent $NS_S $TAP_S) svm_segs0=$(netstat_of $NS_S TcpOutSegs) svm_retrans0=$(netstat_of $NS_S TcpRetransSegs)
    [ ${CONFIG%-b} = pair-kernel ] && through0=$(let_through)
fi
if [ -n "${E2E_PERF:-}" ] && [ -n "${PRIMARY:-}" ]; then
    mkdir -p "$E2E_PERF"
    perf record -q -e cpu-clock -g -p "$PRIMARY,$SECONDARY" -o "$E2E_PERF/$CONFIG.perf.data" 2>/dev/null & PERF=$!
fi

say "one ${SIZE_MB} MiB download"
read -r busy0 idle0 < <(cpu_busy_idle)
read -r bytes secs < <($C curl -s --max-time 300 -o "$W/client/big.bin" -w '%{size_download} %{time_total}' \
    http://$GUEST_IP:8000/big.bin)
read -r busy1 idle1 < <(cpu_busy_idle)
result single_MBps "$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.1f", b / s / 1e6}')"
# How busy the whole machine was meanwhile: near 100 % the download is bound by
# CPU, well below by latency (the window over the round trip).
result single_busy_pct "$(awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) 'BEGIN {printf "%.0f", b + i ? 100 * b / (b + i) : 0}')"
moved=$bytes
[ "$(sha256sum <"$W/client/big.bin" | cut -d' ' -f1)" = "$(sha256sum <"$W/pvm/big.bin" | cut -d' ' -f1)" ]
intact=$?
rm -f "$W/client/big.bin"

say "$PAR parallel downloads of ${PAR_MB} MiB"
for i in $(seq 1 "$PAR"); do echo "url = http://$GUEST_IP:8000/par.bin"; echo "output = $W/client/par.$i"; done >"$W/par.cfg"
start=$(date +%s%N)
$C curl -s --no-progress-meter --max-time 300 -Z --parallel-immediate --parallel-max "$PAR" -K "$W/par.cfg"
end=$(date +%s%N)
want=$(sha256sum <"$W/pvm/par.bin" | cut -d' ' -f1)
par_bytes=0
for i in $(seq 1 "$PAR"); do
    [ "$(sha256sum <"$W/client/par.$i" | cut -d' ' -f1)" = "$want" ] || intact=1
    par_bytes=$((par_bytes + $(stat -c %s "$W/client/par.$i")))
    rm -f "$W/client/par.$i"
done
result parallel_MBps "$(awk -v b=$par_bytes -v ns=$((end - start)) 'BEGIN {printf "%.1f", b / ns * 1e3}')"
moved=$((moved + par_bytes))
p1=$(proxy_ticks ${PRIMARY:-}) s1=$(proxy_ticks ${SECONDARY:-})
pw1=$(proxy_switches ${PRIMARY:-}) sw1=$(proxy_switches ${SECONDARY:-})
result pvm_sent_MB "$(awk -v b=$(($(sent $NS_P $TAP_P) - pvm0)) 'BEGIN {printf "%.1f", b / 1e6}')"
if has_svm; then
    result svm_sent_MB "$(awk -v b=$(($(sent $NS_S $TAP_S) - svm0)) 'BEGIN {printf "%.1f", b / 1e6}')"
    result svm_tcp_out_segs $(($(netstat_of $NS_S TcpOutSegs) - svm_segs0))
    result svm_retransmits $(($(netstat_of $NS_S TcpRetransSegs) - svm_retrans0))
    [ ${CONFIG%-b} = pair-kernel ] && result svm_to_client_MB "$(awk -v b=$(($(let_through) - through0)) 'BEGIN {printf "%.1f", b / 1e6}')"
fi
hz=$(getconf CLK_TCK)
if [ -n "${PERF:-}" ]; then kill -INT $PERF; wait $PERF; fi
if [ -n "${PRIMARY:-}" ]; then
    result primary_cpu_s_per_GB "$(awk -v t=$((p1 - p0)) -v hz=$hz -v b=$moved 'BEGIN {printf "%.2f", t / hz / (b / 1e9)}')"
    result secondary_cpu_s_per_GB "$(awk -v t=$((s1 - s0)) -v hz=$hz -v b=$moved 'BEGIN {printf "%.2f", t / hz / (b / 1e9)}')"
    result primary_switches_per_MB "$(awk -v n=$((pw1 - pw0)) -v b=$moved 'BEGIN {printf "%.1f", n / (b / 1e6)}')"
    result secondary_switches_per_MB "$(awk -v n=$((sw1 - sw0)) -v b=$moved 'BEGIN {printf "%.1f", n / (b / 1e6)}')"
fi

say "$REQUESTS sequential requests on one connection"
pvm0=$(sent $NS_P $TAP_P)
if has_svm; then svm0=$(sent $NS_S $TAP_S); fi
req_pcpu0=$(proxy_run_ns ${PRIMARY:-}) req_scpu0=$(proxy_run_ns ${SECONDARY:-})
req_pw0=$(proxy_switches ${PRIMARY:-}) req_sw0=$(proxy_switches ${SECONDARY:-})
for i in $(seq 1 "$REQUESTS"); do echo "url = http://$GUEST_IP:8000/small.bin"; echo "output = /dev/null"; done >"$W/req.cfg"
PERF=
if [ -n "${E2E_PERF:-}" ] && [ -n "${PRIMARY:-}" ]; then
    perf record -q -e cpu-clock -g -p "$PRIMARY,$SECONDARY" -o "$E2E_PERF/$CONFIG.requests.perf.data" 2>/dev/null & PERF=$!
fi
if [ ${#CALLGRIND[@]} -gt 0 ]; then   # callgrind_control exits 0 even when it reached no one
    for p in $PRIMARY $SECONDARY; do
        callgrind_control -i on $p | grep -q OK || { echo "FAIL: callgrind_control -i on $p"; exit 1; }
    done
fi
$C curl -s --max-time 300 -K "$W/req.cfg" -w '%{time_total} %{num_connects} %{size_download} %{http_code}\n' >"$W/req.out"
if [ -n "$PERF" ]; then kill -INT $PERF; wait $PERF; fi
# Every reply complete, all on one connection (curl connects once).
[ "$(awk '$3 == 100 && $4 == 200' "$W/req.out" | wc -l)" -eq "$REQUESTS" ] || intact=1
result connections "$(awk '{s += $2} END {print s}' "$W/req.out")"
sort -g "$W/req.out" | awk -v n="$REQUESTS" '{t[NR] = $1 * 1e6}
    END {printf "result '"$CONFIG"' p50_us %.0f\nresult '"$CONFIG"' p99_us %.0f\n", t[int(n * 0.50)], t[int(n * 0.99)]}'

if [ -n "${PRIMARY:-}" ]; then   # each proxy's CPU (user and system) and wake-ups per request
    per_request() { awk -v v="$1" -v n="$REQUESTS" -v f="$2" 'BEGIN {printf f, v / n}'; }
    result primary_cpu_us_per_request "$(per_request $((($(proxy_run_ns $PRIMARY) - req_pcpu0) / 1000)) %.1f)"
    result secondary_cpu_us_per_request "$(per_request $((($(proxy_run_ns $SECONDARY) - req_scpu0) / 1000)) %.1f)"
    result primary_switches_per_request "$(per_request $(($(proxy_switches $PRIMARY) - req_pw0)) %.2f)"
    result secondary_switches_per_request "$(per_request $(($(proxy_switches $SECONDARY) - req_sw0)) %.2f)"
fi
# The dump holds the requests only; taken after the CPU figures above, which
# it would add to. DIR keeps the last round's profiles.
if [ ${#CALLGRIND[@]} -gt 0 ]; then
    for role in primary:$PRIMARY secondary:$SECONDARY; do
        callgrind_control -d ${role#*:} | grep -q OK || { echo "FAIL: callgrind_control -d ${role#*:}"; exit 1; }
        dump=$W/callgrind.${role#*:}.1
        per=$(awk -v n="$REQUESTS" '/^totals:/ {printf "%.0f", $2 / n}' "$dump" 2>/dev/null)
        [ -n "$per" ] || { echo "FAIL: no totals in $dump"; exit 1; }
        cp "$dump" "$E2E_CALLGRIND/$CONFIG.${role%:*}.callgrind" || exit 1
        result ${role%:*}_instructions_per_request "$per"
    done
fi
result pvm_requests_sent_kB "$(awk -v b=$(($(sent $NS_P $TAP_P) - pvm0)) 'BEGIN {printf "%.0f", b / 1e3}')"
if has_svm; then result svm_requests_sent_kB "$(awk -v b=$(($(sent $NS_S $TAP_S) - svm0)) 'BEGIN {printf "%.0f", b / 1e3}')"; fi

result intact $([ $intact -eq 0 ] && echo yes || echo NO)
result client_ofo_segments $(($(netstat_of $NS_C TcpExtTCPOFOQueue) - ofo0))
result client_csum_errors $(($(netstat_of $NS_C TcpInCsumErrors) - csum0))
result server_retransmits $(($(netstat_of $NS_P TcpRetransSegs) - retrans0))
if [ -n "${PRIMARY:-}" ]; then   # each proxy must end cleanly: exit 0, or SIGTERM's own 143
    kill -TERM $PRIMARY $SECONDARY 2>/dev/null
    # One still running 20 s later is killed (137): unclean, and the round goes on.
    (sleep 20; kill -KILL $PRIMARY $SECONDARY) </dev/null >/dev/null 2>&1 & watchdog=$!
    unclean=0
    for p in primary:$PRIMARY secondary:$SECONDARY; do
        wait ${p#*:} 2>/dev/null
        status=$?
        if [ $status -ne 0 ] && [ $status -ne 143 ]; then
            say "the ${p%:*} proxy ended with status $status when stopped"
            unclean=$((unclean + 1))
        fi
    done
    kill $watchdog 2>/dev/null
    result unclean_stops $unclean
fi
if [[ ${CONFIG%-b} == pair-vnet-* ]]; then   # colo-graph's own counters
    for c in checkpoint_requests mismatches timeouts primary_lost_queue_full secondary_dropped_queue_full; do
        # --stats: the comparator's block, indented counters, left out when 0.
        v=$(awk -v c=$c '/^[^ ]/ {node = ($1 == "compare")} node && $1 == c {print $2}' "$W/primary.out")
        result $c "${v:-0}"
    done
    result checkpoints_answered "$(cat "$W/checkpoints" 2>/dev/null || echo 0)"
fi
