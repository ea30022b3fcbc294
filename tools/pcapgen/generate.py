#!/usr/bin/python3
"""Generate the deterministic pcaps of colo-graph's replay tests and demo.

  generate.py list                 names of all cases
  generate.py case NAME OUTDIR     one case's files into OUTDIR
  generate.py demo OUTDIR          the demo captures into OUTDIR
  generate.py all ROOT             every case into ROOT/tests/replay/<case>/, the demo into
                                   ROOT/graphs/data/
  generate.py verify ROOT          regenerate into a temporary directory and compare SHA-256 with
                                   the files under ROOT (exit 1 on any difference)

Runs under /usr/bin/python3 (Debian's, which has scapy). See README.md for what each file holds.
"""

import argparse
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

from colotraffic import (  # noqa: E402
    CLIENT, CLIENT_ISN, CLIENT_TS_BASE, GUEST, PVM_ISN, PVM_TS_BASE, SEGMENT, SVM_ISN, SVM_TS_BASE, T0_US, U32,
    Capture, Conversation, TwinSender, arp_frame, dns_query, dns_reply, even, flip_byte, fmt_ts,
    http_request, http_response, icmp_echo_frame, det_int, ping_payload, sha256_file, split_sizes,
    udp_frame)

MS = 1000
SECOND = 1_000_000

CASES = {}


def case(name):
    def register(build):
        CASES[name] = build
        return build
    return register


def case_text(name, summary, facts, expect):
    """CASE.txt: a summary paragraph, 'key: value' facts, and the expected outcome."""
    lines = [f"case: {name}", "", summary.strip(), ""]
    lines += [f"{key}: {value}" for key, value in facts]
    lines += ["", "expected:"] + [f"  {line}" for line in expect]
    return "\n".join(lines) + "\n"


def flow(src_port, dst_port, proto="tcp", src=GUEST.ip4, dst=CLIENT.ip4):
    return f"{proto} {src}:{src_port} -> {dst}:{dst_port}"


def seg_table(segments, base):
    return ", ".join(f"{s.offset}+{len(s.payload)}" for s in segments) + f" (offset = seq - {base})"


# =============================================================================================
# Comparator cases: primary.pcap = PVM outbound, secondary.pcap = SVM outbound already moved into
# the PVM's sequence space (svm_isn == pvm_isn). Client frames are not part of these inputs.

SVM_PATTERN = [1000, 2896, 1000, 2896, 1000, 2896, 200, 1000, 2896, 37]


def served_download(label, pri, sec, t_us, *, client_port, size, svm_flip=None,
                    sec_pattern=SVM_PATTERN, cli=None):
    """Passive open, HTTP GET, guest's pure ACK, a size-byte response (PVM in 1448-byte segments,
    SVM in sec_pattern), guest-first close. Returns (conversation, response, stream, end time)."""
    conv = Conversation(label, client_port=client_port, cli=cli, pri=pri, sec=sec)
    response = http_response(size, f"{label}/body")
    t_req = conv.passive_open(t_us) + 20
    conv.client_send(t_req, "PA", http_request(f"/{label}.bin"))
    conv.guest_send(t_req + 100, "A")
    stream = conv.guest_stream(
        t_req + 380, response, pri_sizes=split_sizes(size, [SEGMENT]),
        sec_sizes=split_sizes(size, sec_pattern),
        svm_data=None if svm_flip is None else flip_byte(response, svm_flip))
    close_at = max(stream.end_us, stream.sec[-1].t_us) + 600
    return conv, response, stream, conv.active_close(close_at)


def tcp_facts(conv, response, stream):
    return [
        ("flow", flow(conv.pvm.port, conv.client.port)),
        ("guest ISN (both sides)", conv.pvm.isn),
        ("client ISN", conv.client.isn),
        ("response bytes", len(response)),
        ("response seq range", f"{conv.stream_base}..{(conv.stream_base + len(response)) & U32}"),
        ("primary data segments", len(stream.pri)),
        ("secondary data segments", len(stream.sec)),
        ("secondary segment sizes", " ".join(str(len(s.payload)) for s in stream.sec)),
    ]


@case("cmp-tcp-resegmented")
def cmp_tcp_resegmented():
    name = "cmp-tcp-resegmented"
    pri, sec = Capture(), Capture()
    conv, response, stream, _ = served_download(name, pri, sec, T0_US, client_port=40000, size=64 * 1024)
    text = case_text(
        name,
        """One HTTP response of 64 KiB. The PVM sends 1448-byte segments, the SVM the same byte
stream in a different pattern (1000/2896 alternating with a few small segments). Both sides also
send the SYN/ACK, a pure ACK of the request, FIN|ACK and the pure ACK of the client's FIN.
TCP timestamps and IP ids differ between the sides (headers are not compared).""",
        tcp_facts(conv, response, stream),
        ["every primary frame is released, in sequence order", "no checkpoint request",
         "QEMU keeps the SVM's last pure ACK queued (no later primary frame on the flow pulls it",
         "through the comparison); its age would trigger a timeout request 3 s later"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-tcp-divergence")
def cmp_tcp_divergence():
    name = "cmp-tcp-divergence"
    flip = 33333
    pri, sec = Capture(), Capture()
    conv, response, stream, _ = served_download(name, pri, sec, T0_US, client_port=40001,
                                                size=64 * 1024, svm_flip=flip)
    seq = (conv.stream_base + flip) & U32
    p_index = next(i for i, s in enumerate(stream.pri) if s.offset <= flip < s.offset + len(s.payload))
    s_index = next(i for i, s in enumerate(stream.sec) if s.offset <= flip < s.offset + len(s.payload))
    p_seg, s_seg = stream.pri[p_index], stream.sec[s_index]
    facts = tcp_facts(conv, response, stream) + [
        ("divergent stream offset", flip),
        ("divergent seq", seq),
        ("divergent byte", f"primary 0x{response[flip]:02x}, secondary 0x{response[flip] ^ 0xFF:02x}"),
        ("primary segment holding it", f"#{p_index} (0-based data segment) seq {p_seg.seq}+{len(p_seg.payload)} at {fmt_ts(p_seg.t_us)}"),
        ("secondary segment holding it", f"#{s_index} seq {s_seg.seq}+{len(s_seg.payload)} at {fmt_ts(s_seg.t_us)}"),
    ]
    text = case_text(
        name,
        """As cmp-tcp-resegmented (same segmentation), but one payload byte of the SVM's stream is
inverted (XOR 0xff).""",
        facts,
        [f"primary SYN/ACK, pure ACK and data segments #0..#{p_index - 1} are released",
         f"a checkpoint request when the secondary segment #{s_index} is compared with primary #{p_index}",
         f"primary #{p_index} and everything after it on the flow stay queued until a flush or timeout",
         "QEMU repeats the request on every later arrival on this flow and every scan cycle"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-udp-icmp")
def cmp_udp_icmp():
    name = "cmp-udp-icmp"
    pri, sec = Capture(), Capture()
    twins = TwinSender(name, pri, sec)
    bad_dns, bad_ping = 5, 8
    for i in range(10):
        qname = f"host{i}.example.com."
        reply = dns_reply(0x1000 + i, qname, f"192.0.2.{10 + i}")
        svm_reply = dns_reply(0x1000 + i, qname, "192.0.2.99") if i == bad_dns else reply
        twins.send(T0_US + i * 10 * MS,
                   lambda ip_id, r=reply, p=33000 + i: udp_frame(GUEST, CLIENT, 53, p, r, ip_id=ip_id),
                   lambda ip_id, r=svm_reply, p=33000 + i: udp_frame(GUEST, CLIENT, 53, p, r, ip_id=ip_id))
    for seq in range(1, 9):
        payload = ping_payload(seq)
        svm_payload = flip_byte(payload, 20) if seq == bad_ping else payload
        twins.send(T0_US + 5 * MS + (seq - 1) * 10 * MS,
                   lambda ip_id, p=payload, s=seq: icmp_echo_frame(
                       GUEST, CLIENT, reply=True, ident=0x4242, seq=s, payload=p, ip_id=ip_id),
                   lambda ip_id, p=svm_payload, s=seq: icmp_echo_frame(
                       GUEST, CLIENT, reply=True, ident=0x4242, seq=s, payload=p, ip_id=ip_id))
    text = case_text(
        name,
        """Ten DNS A replies (one UDP flow each, client ports 33000..33009) and eight ICMP echo
replies (id 0x4242, seq 1..8, all on one comparator queue because ICMP keys have no ports).
The SVM's IP ids differ from the PVM's (IP headers are not compared for UDP/ICMP).""",
        [("dns flows", f"{flow(53, 33000, 'udp')} .. :33009, query ids 0x1000..0x1009"),
         ("divergent udp", f"{flow(53, 33000 + bad_dns, 'udp')}: primary answers 192.0.2.{10 + bad_dns}, secondary 192.0.2.99 (same size)"),
         ("icmp", f"echo replies {GUEST.ip4} -> {CLIENT.ip4} id 0x4242 seq 1..8, 56-byte payload"),
         ("divergent icmp", f"seq {bad_ping} (the last one): payload byte 20 inverted in the secondary")],
        ["9 DNS replies and ICMP seq 1..7 released",
         f"DNS reply on port {33000 + bad_dns} and ICMP seq {bad_ping} stay queued",
         "two checkpoint requests from comparison (one per divergent pair)"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-arp-ipv6")
def cmp_arp_ipv6():
    name = "cmp-arp-ipv6"
    pri, sec = Capture(), Capture()
    twins = TwinSender(name, pri, sec)
    twins.send(T0_US, lambda _id: arp_frame(reply=True, sender=GUEST, target=CLIENT))
    twins.send(T0_US + 1 * MS, lambda _id: arp_frame(reply=False, sender=GUEST, target=CLIENT))
    conv = Conversation(f"{name}/tcp6", client_port=40100, pri=pri, sec=sec, ipv6=True)
    t_req = conv.passive_open(T0_US + 2 * MS) + 20
    conv.client_send(t_req, "PA", http_request("/v6", host="[fd00::2]"))
    response = http_response(3000, f"{name}/tcp6/body")
    stream = conv.guest_stream(T0_US + 3 * MS, response, pri_sizes=split_sizes(3000, [SEGMENT]))
    conv.active_close(max(stream.end_us, stream.sec[-1].t_us) + 600)
    for i in range(4):
        qname = f"v6host{i}.example.com."
        reply = dns_reply(0x2000 + i, qname, f"fd00::{0x100 + i:x}", qtype="AAAA")
        twins.send(T0_US + 10 * MS + i * 2 * MS,
                   lambda _id, r=reply, p=34000 + i: udp_frame(GUEST, CLIENT, 53, p, r, ipv6=True))
    for i in range(5):
        payload = f"vlan100 datagram {i}".encode()
        twins.send(T0_US + 20 * MS + i * 2 * MS,
                   lambda ip_id, p=payload: udp_frame(GUEST, CLIENT, 7000, 7001, p, ip_id=ip_id, vlan=100))
    text = case_text(
        name,
        """Frames QEMU's colo-compare does not compare: ARP (a reply to the client and the guest's
own request), IPv6 TCP (HTTP, 3000-byte response, same segmentation on both sides), IPv6 UDP
(four DNS AAAA replies) and an 802.1Q-tagged (VLAN 100) IPv4 UDP flow. Both sides send the same
traffic; TCP timestamps and IPv4 ids differ as usual.""",
        [("arp", "guest reply is-at 52:54:00:12:34:56 to the client; guest request who-has 10.0.0.1 (broadcast)"),
         ("ipv6 tcp", "tcp [fd00::2]:80 -> [fd00::1]:40100, 3 data segments"),
         ("ipv6 udp", "udp [fd00::2]:53 -> [fd00::1]:34000..34003"),
         ("vlan udp", f"VLAN 100, {flow(7000, 7001, 'udp')}, 5 datagrams")],
        ["QEMU semantics: every primary frame is forwarded at once, uncompared; every secondary",
         "frame is dropped; no checkpoint request",
         "with IPv6/VLAN comparison enabled: all pairs match; ARP still passes uncompared"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-primary-only-timeout")
def cmp_primary_only_timeout():
    name = "cmp-primary-only-timeout"
    pri, sec = Capture(), Capture()
    orphans = TwinSender(f"{name}/orphan", pri, None)
    for i in range(3):
        orphans.send(T0_US + i * 10 * MS,
                     lambda ip_id, i=i: udp_frame(GUEST, CLIENT, 5000, 6000, b"orphan %d" % i, ip_id=ip_id))
    conv = Conversation(f"{name}/tcp", client_port=40200, pri=pri, sec=None)
    t_req = conv.passive_open(T0_US + 30 * MS) + 20
    conv.client_send(t_req, "PA", http_request("/lonely"))
    conv.pvm_send(t_req + 100, "A")
    conv.pvm_send(t_req + 380, "PA", http_response(500, f"{name}/body"))
    heartbeat = TwinSender(f"{name}/heartbeat", pri, sec)
    for i in range(41):
        heartbeat.send(T0_US + i * 250 * MS,
                       lambda ip_id, i=i: udp_frame(GUEST, CLIENT, 5001, 6001, b"heartbeat %02d" % i, ip_id=ip_id))
    text = case_text(
        name,
        """Primary-only packets (no secondary counterpart ever): three UDP datagrams and a TCP
SYN/ACK, pure ACK and one 500-byte data segment, all within the first 31 ms. A heartbeat UDP flow
present on both sides every 250 ms keeps time moving until 10 s.""",
        [("orphan udp", f"{flow(5000, 6000, 'udp')} at 0, 10, 20 ms"),
         ("orphan tcp", f"{flow(80, 40200)}: SYN/ACK at 30.1 ms, pure ACK, 500-byte segment at 30.6 ms"),
         ("heartbeat", f"{flow(5001, 6001, 'udp')} every 250 ms, 41 datagrams, both sides"),
         ("span", f"{fmt_ts(T0_US)} .. {fmt_ts(T0_US + 10 * SECOND)} (primary)")],
        ["heartbeats matched and released",
         "orphans stay queued (TCP ones too: a connection's primaries wait for any secondary)",
         "compare_timeout 3000 ms / expired_scan_cycle 1000 ms: the first checkpoint request at the",
         "first scan that finds an orphan older than 3000 ms (at 4.0 s when scans run at whole seconds",
         "from the first frame: 4, 5, ..., 10 s = 7 requests), repeated each cycle until a flush"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-flush")
def cmp_flush():
    name = "cmp-flush"
    pri, sec = Capture(), Capture()
    flip_seg, before = 5, 10
    size = 20 * SEGMENT
    conv = Conversation(f"{name}/tcp", client_port=40300, pri=pri, sec=sec)
    response = http_response(size, f"{name}/body")
    flip = flip_seg * SEGMENT + 100
    svm_response = flip_byte(response, flip)
    t_req = conv.passive_open(T0_US) + 20
    conv.client_send(t_req, "PA", http_request("/flush"))
    conv.guest_send(t_req + 100, "A")
    cut = before * SEGMENT
    first = conv.guest_stream(t_req + 380, response[:cut], pri_sizes=split_sizes(cut, [SEGMENT]),
                              svm_data=svm_response[:cut])
    bad_udp = TwinSender(f"{name}/udp-bad", pri, sec, pvm_ip_id=0x2800, svm_ip_id=0x6800)
    t_udp_bad, _ = bad_udp.send(
        T0_US + 4 * MS,
        lambda ip_id: udp_frame(GUEST, CLIENT, 5004, 6004, b"state: primary", ip_id=ip_id),
        lambda ip_id: udp_frame(GUEST, CLIENT, 5004, 6004, b"state: second!", ip_id=ip_id))
    flush_at = T0_US + 50 * MS
    resume_at = T0_US + 100 * MS
    conv.checkpoint()
    second = conv.guest_stream(resume_at, response[cut:], pri_sizes=split_sizes(size - cut, [SEGMENT]))
    end = conv.active_close(max(second.end_us, second.sec[-1].t_us) + 600)
    steady = TwinSender(f"{name}/udp", pri, sec)
    for t in range(T0_US, end + 5 * MS, 1 * MS):
        if not T0_US + 5 * MS <= t < resume_at:
            steady.send(t, lambda ip_id, t=t: udp_frame(GUEST, CLIENT, 5002, 6002,
                                                         b"tick %d" % ((t - T0_US) // MS), ip_id=ip_id))
    last_before = max(f[0] for f in pri.records() + sec.records() if f[0] < resume_at)
    text = case_text(
        name,
        f"""A TCP response of 20 x 1448 bytes. The SVM's copy of data segment #{flip_seg} has one
inverted byte; segments #{flip_seg + 1}..#{before - 1} follow on both sides (each arrival re-triggers the
mismatch). A separate UDP flow has one divergent datagram. Then nothing at all is sent for
{(resume_at - last_before) // MS} ms: the test graph injects the checkpoint flush in that gap. After
it both sides continue identically (the SVM is now a copy of the PVM, TS clocks equal), with data
segments #{before}..#19, FIN and ACK. A steady UDP flow runs before and after the gap.""",
        [("tcp flow", flow(80, 40300)),
         ("divergent tcp byte", f"stream offset {flip}, seq {(conv.stream_base + flip) & U32}, in data segment #{flip_seg} (seq {first.pri[flip_seg].seq})"),
         ("divergent udp", f"{flow(5004, 6004, 'udp')} at {fmt_ts(t_udp_bad)}: 'state: primary' vs 'state: second!'"),
         ("steady udp", f"{flow(5002, 6002, 'udp')} every 1 ms except in the gap"),
         ("last frame before the gap", fmt_ts(last_before)),
         ("inject flush at", fmt_ts(flush_at)),
         ("traffic resumes at", fmt_ts(resume_at))],
        [f"before the flush: TCP data #0..#{flip_seg - 1} and the steady UDP released; checkpoint requests",
         "  (QEMU: one per arrival on an affected flow while its divergent pair is queued:",
         "  6 on the TCP flow + 1 on the UDP flow with this timing, per the ref 6.4/6.5 algorithm)",
         f"the flush releases primary TCP #{flip_seg}..#{before - 1} (ascending seq) and the divergent UDP",
         "  datagram, and drops the queued secondary frames",
         "after the flush everything matches: no further checkpoint request"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-queue-overflow")
def cmp_queue_overflow():
    name = "cmp-queue-overflow"
    pri, sec = Capture(), Capture()
    orphans = TwinSender(name, pri, None)
    for i in range(1200):
        orphans.send(T0_US + i * 100,
                     lambda ip_id, i=i: udp_frame(GUEST, CLIENT, 5003, 6003, b"datagram %04d" % i, ip_id=ip_id))
    text = case_text(
        name,
        """1,200 primary UDP datagrams on one flow, 100 us apart, no secondary traffic
(secondary.pcap holds no frames).""",
        [("flow", f"{flow(5003, 6003, 'udp')}, payload 'datagram NNNN' (NNNN = 0000..1199)"),
         ("span", f"{fmt_ts(T0_US)} .. {fmt_ts(T0_US + 1199 * 100)}")],
        ["max_queue_size=1024: QEMU inserts while the queue holds <= 1024, so 1025 are queued and",
         "175 dropped (datagram 1025..1199); an implementation with an exact cap queues 1024",
         "no comparison ever happens; after compare_timeout a checkpoint request, and a flush",
         "releases the queued datagrams"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


def thousand_isns(i):
    """(client, PVM, SVM) ISNs of connection i: #0 uses the canonical 7000/50000/90000, #1..#3
    wrap a sequence space within their data, the rest are spread over the 32-bit space."""
    special = {1: (CLIENT_ISN, PVM_ISN, 0xFFFFFF00), 2: (CLIENT_ISN, 0xFFFFFF80, SVM_ISN),
               3: (0xFFFFFFF0, PVM_ISN, SVM_ISN)}
    if i in special:
        return special[i]
    return ((CLIENT_ISN + i * 0x9E3779B1) & U32, (PVM_ISN + i * 0x85EBCA77) & U32,
            (SVM_ISN + i * 0xC2B2AE3D) & U32)


@case("cmp-1000-connections")
def cmp_1000_connections():
    name = "cmp-1000-connections"
    pri, sec = Capture(), Capture()
    splits = {0: ([], []), 1: ([], [60]), 2: ([60], []), 3: ([100], [40])}
    for i in range(1000):
        label = f"{name}/{i}"
        _client_isn, pvm_isn, _svm_isn = thousand_isns(i)
        conv = Conversation(label, client_port=20000 + i, pvm_isn=pvm_isn, svm_isn=pvm_isn,
                            client_isn=_client_isn, pri=pri, sec=sec)
        t = T0_US + i * 200
        size = 300 if i in (1, 2, 3) else det_int(label + "/size", 120, 260)
        response = http_response(size, label + "/body")
        pri_cut, sec_cut = splits[i % 4]
        t_req = conv.passive_open(t) + 20
        conv.client_send(t_req, "PA", http_request(f"/c{i}"))
        stream = conv.guest_stream(even(t_req + 100 + det_int(label + "/think", 500, 4000)), response,
                                   pri_sizes=pri_cut + [size - sum(pri_cut)],
                                   sec_sizes=sec_cut + [size - sum(sec_cut)])
        conv.active_close(max(stream.end_us, stream.sec[-1].t_us) + 200)
    text = case_text(
        name,
        """1,000 TCP connections (client ports 20000..20999 to guest port 80), started 200 us apart
and overlapping (each lasts 1..5 ms). Each: SYN/ACK, a 120..300-byte HTTP response, FIN|ACK, and
the pure ACK of the client's FIN. Segmentation by connection number i:
i%4==0 same single segment; i%4==1 SVM splits 60+rest; i%4==2 PVM splits 60+rest;
i%4==3 PVM 100+rest, SVM 40+rest. Connection #2's guest ISN is 0xffffff80, so its stream wraps
the 32-bit sequence space; the others use spread ISNs (#0: 50000).""",
        [("flows", f"{flow(80, 20000)} .. :20999"),
         ("span", f"{fmt_ts(T0_US)} .. about {fmt_ts(T0_US + 999 * 200 + 6 * MS)}")],
        ["all primary frames released, no checkpoint request", "1,000 comparator connections",
         "QEMU keeps the last secondary pure ACK of most connections queued (see cmp-tcp-resegmented)"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


@case("cmp-retrans-ooo")
def cmp_retrans_ooo():
    name = "cmp-retrans-ooo"
    pri, sec = Capture(), Capture()
    conv = Conversation(name, client_port=40400, pri=pri, sec=sec)
    size = 9 * SEGMENT + 700
    response = http_response(size, f"{name}/body")
    t_req = conv.passive_open(T0_US) + 20
    conv.client_send(t_req, "PA", http_request("/retrans"))
    conv.guest_send(t_req + 100, "A")
    base = conv.stream_base
    segments = [(k * SEGMENT, response[k * SEGMENT:(k + 1) * SEGMENT]) for k in range(10)]
    start = t_req + 380
    # PVM: #0..#4, a retransmission of #2, then #6 before #5, then #7..#9.
    # The pause before the retransmission lets the SVM's #4 (at most 499 us late) arrive first.
    pvm_order = [0, 1, 2, 3, 4, "r2", 6, 5, 7, 8, 9]
    pvm_time = {}
    for n, k in enumerate(pvm_order):
        index = 2 if k == "r2" else k
        offset, payload = segments[index]
        t = start + n * 100 + (600 if n >= 5 else 0)
        conv.pvm_send(t, "PA" if index == 9 else "A", payload, seq=(base + offset) & U32)
        pvm_time[k] = t
    t_svm = 0
    for k, (offset, payload) in enumerate(segments):
        t_svm = max(t_svm + 2, pvm_time[k] + conv.twin_delay())
        t_svm = conv.svm_send(t_svm, "PA" if k == 9 else "A", payload, seq=(base + offset) & U32,
                              twin_us=pvm_time[k])
    conv.pvm.nxt = conv.svm.nxt = (base + size) & U32
    conv.active_close(t_svm + 600)
    s_times = [f[0] for f in sec.records()]
    s_data = s_times[2:]  # after the SYN/ACK and the pure ACK
    assert s_data[4] < pvm_time["r2"] and s_data[5] > pvm_time[5] > pvm_time[6] > s_data[4]
    text = case_text(
        name,
        """Ten data segments (9 x 1448 + 700). The PVM sends #0..#4, then retransmits #2 (after the
SVM's #2 and #4 have arrived, so it was already matched), then sends #6 before #5, then #7..#9.
The SVM sends #0..#9 in order with the same segmentation; its #5 comes after both PVM #6 and #5,
and no secondary frame is pending when PVM #6 arrives.""",
        [("flow", flow(80, 40400)),
         ("data seq range", f"{base}..{(base + size) & U32}"),
         ("retransmission", f"seq {(base + 2 * SEGMENT) & U32}+{SEGMENT} at {fmt_ts(pvm_time['r2'])}"),
         ("out of order", f"#6 seq {(base + 6 * SEGMENT) & U32} at {fmt_ts(pvm_time[6])}, "
                          f"#5 seq {(base + 5 * SEGMENT) & U32} at {fmt_ts(pvm_time[5])}"),
         ("secondary #4 / #5 arrive", f"{fmt_ts(s_data[4])} / {fmt_ts(s_data[5])}")],
        ["all primary frames released, no checkpoint request",
         "the retransmission is released without comparison (it ends at or before the compared",
         "sequence) once a secondary frame is present; primaries leave in ascending seq: #5 before #6"])
    return {"primary.pcap": pri, "secondary.pcap": sec, "CASE.txt": text}


# =============================================================================================
# Rewriter cases: to_guest.pcap = frames the secondary's rewriter sees heading to the SVM (the
# client's, mirrored by the primary: ACK/SACK/TSecr in PVM space); from_guest.pcap = the SVM's
# own output (SVM sequence space, SVM TS clock). Client ISN 7000, PVM 50000, SVM 90000.

RW_COMMON = [
    ("client", f"{CLIENT.ip4} ({CLIENT.mac}), ISN {CLIENT_ISN}, TSval base {CLIENT_TS_BASE}"),
    ("guest", f"{GUEST.ip4} ({GUEST.mac})"),
    ("PVM ISN / TSval base", f"{PVM_ISN} / {PVM_TS_BASE}"),
    ("SVM ISN / TSval base", f"{SVM_ISN} / {SVM_TS_BASE}"),
    ("seq offset SVM-PVM", SVM_ISN - PVM_ISN),
    ("TSval offset SVM-PVM", SVM_TS_BASE - PVM_TS_BASE),
]

RW_QEMU = [
    "QEMU rewriter: to_guest ACK-bearing non-SYN segments get ack += 40000, from_guest ones",
    "seq -= 40000 (TCP checksum recomputed); SYN and SYN/ACK unchanged; SACK blocks and",
    "timestamps unchanged (a TS-aware rewriter: TSecr to the guest += 4000000, TSval from it -= 4000000)",
]


def rw_captures():
    return Capture(), Capture()


def rw_files(to_guest, from_guest, text):
    return {"to_guest.pcap": to_guest, "from_guest.pcap": from_guest, "CASE.txt": text}


def rw_exchange(conv, t_us, request, response_size, label):
    """Client request, SVM response in 1448-byte segments with client ACKs. Returns the time of
    the last frame."""
    conv.client_send(t_us, "PA", request)
    response = http_response(response_size, label)
    stream = conv.guest_stream(t_us + 200, response, pri_sizes=split_sizes(response_size, [SEGMENT]))
    return max(stream.sec[-1].t_us, stream.end_us + 100)


@case("rw-passive-open-close")
def rw_passive_open_close():
    name = "rw-passive-open-close"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40000, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    t = rw_exchange(conv, T0_US + 1 * MS, http_request("/index.html"), 2000, f"{name}/body")
    conv.client_send(t + 500, "PA", b"bye\r\n")
    conv.guest_send(t + 600, "A")
    conv.passive_close(t + 2 * MS)
    text = case_text(
        name,
        """Client opens (SYN, SVM SYN/ACK, ACK), sends a request, the SVM answers with 2000 bytes
(1448 + 552), the client ACKs and sends 5 more bytes, the SVM ACKs them, then the client closes:
FIN|ACK, SVM FIN|ACK, client ACK.""",
        [("flow", "tcp 10.0.0.1:40000 <-> 10.0.0.2:80")] + RW_COMMON,
        RW_QEMU + ["QEMU: the close leaves the entry in LAST_ACK (fin_ack_seq/ACK space bug, ref 5.8);",
                   "a fixed rewriter removes it after the client's last ACK"])
    return rw_files(to_guest, from_guest, text)


@case("rw-active-close")
def rw_active_close():
    name = "rw-active-close"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40010, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    t = rw_exchange(conv, T0_US + 1 * MS, http_request("/close-first"), 3000, f"{name}/body")
    conv.active_close(t + 1 * MS)
    text = case_text(
        name,
        """Client opens, requests, the SVM answers 3000 bytes, then the SVM closes first:
SVM FIN|ACK, client ACK, client FIN|ACK, SVM ACK.""",
        [("flow", "tcp 10.0.0.1:40010 <-> 10.0.0.2:80")] + RW_COMMON,
        RW_QEMU + ["QEMU: FIN|ACK from the guest is not its FIN_WAIT_1 trigger (FIN without ACK), so the",
                   "client's FIN moves the entry to CLOSE_WAIT and it is never removed"])
    return rw_files(to_guest, from_guest, text)


@case("rw-rst")
def rw_rst():
    name = "rw-rst"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40020, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    t = rw_exchange(conv, T0_US + 1 * MS, http_request("/abort"), 4000, f"{name}/body")
    t_rst = conv.client_send(t + 1 * MS, "RA")
    again = Conversation(f"{name}/again", client_port=40020, client_isn=8000, pvm_isn=60000,
                         svm_isn=95000, cli=to_guest, sec=from_guest, client_ip_id=0x3800,
                         pvm_ip_id=0x1800, svm_ip_id=0x7800)
    t_again = T0_US + 50 * MS
    again.passive_open(t_again)
    t = rw_exchange(again, t_again + 1 * MS, http_request("/again"), 1000, f"{name}/again/body")
    again.passive_close(t + 1 * MS)
    text = case_text(
        name,
        """Connection 1 (ISNs 7000/50000/90000): open, request, 4000-byte answer, then the client
aborts with RST|ACK. Connection 2 reuses the same 4-tuple 50 ms later with new ISNs (client
8000, PVM 60000, SVM 95000: offset 35000) and closes normally (client first).""",
        [("flow", "tcp 10.0.0.1:40020 <-> 10.0.0.2:80"),
         ("rst", f"RST|ACK from the client at {fmt_ts(t_rst)}"),
         ("reconnect", f"client SYN at {fmt_ts(t_again)}; offset 95000-60000 = 35000")] + RW_COMMON,
        RW_QEMU + ["connection 1: the RST|ACK has ACK set, so QEMU rewrites its ack too (+40000)",
                   "connection 2: the new SYN restarts the handshake (same entry in QEMU); its ACKs",
                   "must be rewritten by +35000 and its seqs by -35000, never by the stale 40000"])
    return rw_files(to_guest, from_guest, text)


@case("rw-guest-initiated")
def rw_guest_initiated():
    name = "rw-guest-initiated"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=8080, guest_port=45000, svm_isn=SVM_ISN,
                        cli=to_guest, sec=from_guest)
    t_syn = conv.guest_send(T0_US, "S")
    t_synack = conv.client_send(max(T0_US + 200, t_syn + 51), "SA")
    t = conv.guest_send(t_synack + 100, "A")
    request = http_request("/upstream", host="10.0.0.1:8080")
    conv.guest_stream(t + 100, request, pri_sizes=[len(request)])
    response = http_response(2500, f"{name}/body")
    t = T0_US + 2 * MS
    for n, size in enumerate(split_sizes(len(response), [SEGMENT])):
        offset = n * SEGMENT
        conv.client_send(t + n * 100, "PA" if offset + size == len(response) else "A",
                         response[offset:offset + size])
    conv.guest_send(t + 300, "A")
    conv.active_close(t + 1 * MS)
    text = case_text(
        name,
        """The guest opens a connection to 10.0.0.1:8080 (SVM SYN seq 90000; the PVM's own SYN
had seq 50000). The server's SYN/ACK acknowledges 50001 (it talks to the PVM) and echoes the
PVM's TSval. The guest sends a request, the server answers 2500 bytes, the guest closes first
(FIN|ACK, server ACK, server FIN|ACK, guest ACK).""",
        [("flow", "tcp 10.0.0.2:45000 -> 10.0.0.1:8080 (guest is the client)")] + RW_COMMON,
        ["QEMU rewriter: state CLOSED -> SYN_SENT -> ESTABLISHED, no offset is ever learned, nothing",
         "is rewritten (the SVM then sees ack 50001 for its ISN 90000; ref 5.5)",
         "a rewriter that learns the offset from the SYN/ACK's ack (50001 vs SVM ISN+1) would",
         "add 40000 to ACKs to the guest and subtract it from the guest's seq"])
    return rw_files(to_guest, from_guest, text)


@case("rw-sack")
def rw_sack():
    name = "rw-sack"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40030, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    conv.client_send(T0_US + 1 * MS, "PA", http_request("/sack"))
    size = 10 * SEGMENT
    response = http_response(size, f"{name}/body")
    start = T0_US + 1 * MS + 200
    stream = conv.guest_stream(start, response, pri_sizes=split_sizes(size, [SEGMENT]),
                               client_acks=False)
    base = conv.stream_base

    def edge(k):
        return (base + k * SEGMENT) & U32

    def block(first, last):
        return (edge(first), edge(last + 1))

    # The client lost PVM segments #2, #5 and #8; the most recently received block comes first.
    acks = [(0, 1, []), (1, 2, []), (3, 2, [block(3, 3)]), (4, 2, [block(3, 4)]),
            (6, 2, [block(6, 6), block(3, 4)]), (7, 2, [block(6, 7), block(3, 4)]),
            (9, 2, [block(9, 9), block(6, 7), block(3, 4)])]
    for after, acked, sack in acks:
        conv.client_send(max(stream.pri[after].t_us + 100, stream.sec[after].t_us + 51), "A",
                         ack=edge(acked), sack=sack, tsecr=conv.pvm.tsval(stream.pri[after].t_us))
    t = max(stream.sec[-1].t_us, stream.pri[-1].t_us) + 1 * MS
    repairs = [(2, 5, [block(9, 9), block(6, 7)]), (5, 8, [block(9, 9)]), (8, 10, [])]
    for lost, acked, sack in repairs:
        seg_p, seg_s = stream.pri[lost], stream.sec[lost]
        conv.pvm_send(t, "A", seg_p.payload, seq=seg_p.seq)
        conv.svm_send(t + 51, "A", seg_s.payload, seq=seg_s.seq, twin_us=t)
        conv.client_send(t + 200, "A", ack=edge(acked), sack=sack)
        t += 1 * MS
    conv.passive_close(t + 1 * MS)
    text = case_text(
        name,
        """Ten 1448-byte segments from the guest. The client (talking to the PVM) misses #2, #5
and #8 and sends duplicate ACKs with up to three SACK blocks (the maximum beside a timestamp),
all in PVM sequence space. The SVM retransmits #2, #5, #8 (in its own space); after each the
client's cumulative ACK advances and the SACK list shrinks. Then a client-first close.""",
        [("flow", "tcp 10.0.0.1:40030 <-> 10.0.0.2:80"),
         ("segment k (PVM space)", f"seq {base} + k*1448, k = 0..9"),
         ("segment k (SVM space)", f"seq {(base + SVM_ISN - PVM_ISN) & U32} + k*1448"),
         ("largest SACK", f"{block(9, 9)} {block(6, 7)} {block(3, 4)} after segment #9")] + RW_COMMON,
        RW_QEMU + ["a SACK-aware rewriter moves each block edge by +40000 as well"])
    return rw_files(to_guest, from_guest, text)


@case("rw-timestamps")
def rw_timestamps():
    name = "rw-timestamps"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40040, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    for n, start in enumerate([1 * MS, 1200 * MS, 2700 * MS]):
        rw_exchange(conv, T0_US + start, http_request(f"/ts{n}"), 600 + 400 * n, f"{name}/body{n}")
    conv.passive_close(T0_US + 3 * SECOND)
    text = case_text(
        name,
        """Timestamps with three different clocks (all 1 kHz): client TSval = 300 + ms, PVM
TSval = 1000000 + ms, SVM TSval = 5000000 + ms (ms since 1700000000.000000). The client
echoes the PVM's TSval in TSecr. Three keep-alive request/response exchanges at 1 ms, 1.2 s and
2.7 s so the clocks visibly advance, then a client-first close at 3 s. The SVM reads its clock
at its PVM twin's send time, so twin TSvals differ by exactly 4000000.""",
        [("flow", "tcp 10.0.0.1:40040 <-> 10.0.0.2:80")] + RW_COMMON,
        RW_QEMU + ["client TSecr values are PVM TSvals (1000000 + ms); the SVM never sent them"])
    return rw_files(to_guest, from_guest, text)


@case("rw-checkpoint-mid-stream")
def rw_checkpoint_mid_stream():
    name = "rw-checkpoint-mid-stream"
    to_guest, from_guest = rw_captures()
    conv = Conversation(name, client_port=40050, svm_isn=SVM_ISN, cli=to_guest, sec=from_guest)
    conv.passive_open(T0_US)
    last = rw_exchange(conv, T0_US + 1 * MS, http_request("/before"), 5 * SEGMENT, f"{name}/before")
    checkpoint_at = T0_US + 20 * MS
    conv.checkpoint()
    first_after = T0_US + 30 * MS
    t = rw_exchange(conv, first_after, http_request("/after"), 5 * SEGMENT, f"{name}/after")
    conv.passive_close(t + 1 * MS)
    text = case_text(
        name,
        """Passive open and a request answered with 5 x 1448 bytes while the SVM uses its own
numbers (ISN 90000, TS base 5000000). Then a checkpoint: from then on the SVM is a copy of the
PVM, so it sends PVM sequence numbers and PVM TSvals directly (offset 0). A second request,
5 x 1448 bytes, and a client-first close follow.""",
        [("flow", "tcp 10.0.0.1:40050 <-> 10.0.0.2:80"),
         ("last frame before the checkpoint", fmt_ts(last)),
         ("checkpoint at", fmt_ts(checkpoint_at)),
         ("first frame after it", fmt_ts(first_after))] + RW_COMMON,
        ["before the checkpoint: as the other rw cases (ack += 40000 to the guest, seq -= 40000 from it)",
         "the test graph delivers the checkpoint event at the time above; afterwards the offset is 0:",
         "frames pass with seq/ack unchanged (a TS-aware rewriter also drops its TS offset)",
         "the close then completes even in QEMU (fin_ack_seq and ACK compare in the same space)"])
    return rw_files(to_guest, from_guest, text)


@case("rw-1000-connections")
def rw_1000_connections():
    name = "rw-1000-connections"
    to_guest, from_guest = rw_captures()
    for i in range(1000):
        label = f"{name}/{i}"
        client_isn, pvm_isn, svm_isn = thousand_isns(i)
        conv = Conversation(label, client_port=20000 + i, client_isn=client_isn, pvm_isn=pvm_isn,
                            svm_isn=svm_isn, cli=to_guest, sec=from_guest)
        t = T0_US + i * 200
        t_req = conv.passive_open(t) + 20
        size = 300 if i in (1, 2, 3) else det_int(label + "/size", 100, 250)
        t = rw_exchange(conv, t_req, http_request(f"/c{i}"), size, label + "/body")
        conv.passive_close(t + det_int(label + "/linger", 200, 3000))
    text = case_text(
        name,
        """1,000 passive connections (client ports 20000..20999 to guest port 80), started 200 us
apart and overlapping. Each: SYN, SVM SYN/ACK, ACK, request, one 100..300-byte response segment,
client ACK, client FIN|ACK, SVM FIN|ACK, client ACK. ISNs per connection i: #0 7000/50000/90000;
#1 SVM ISN 0xffffff00 (SVM seq wraps in the response); #2 PVM ISN 0xffffff80 (PVM seq wraps);
#3 client ISN 0xfffffff0 (client seq wraps in the request); others
client = 7000 + i*0x9e3779b1, PVM = 50000 + i*0x85ebca77, SVM = 90000 + i*0xc2b2ae3d (mod 2^32),
so offsets differ per connection.""",
        [("flows", "tcp 10.0.0.1:20000..20999 <-> 10.0.0.2:80")],
        ["every connection translated with its own offset (SVM ISN - PVM ISN mod 2^32)",
         "QEMU leaves them all in LAST_ACK (ref 5.8); a fixed rewriter ends with an empty table"])
    return rw_files(to_guest, from_guest, text)


# =============================================================================================
# Demo


def demo():
    pri, sec, cli = Capture(), Capture(), Capture()
    guest = TwinSender("demo/guest", pri, sec)
    client_ids = [0x4000]

    def client_frame(t_us, frame):
        cli.add(even(t_us), frame)

    def client_id():
        client_ids[0] += 1
        return client_ids[0]

    client_frame(T0_US, arp_frame(reply=False, sender=CLIENT, target=GUEST))
    guest.send(T0_US + 100, lambda _id: arp_frame(reply=True, sender=GUEST, target=CLIENT))
    guest.send(T0_US + 60 * MS, lambda _id: arp_frame(reply=False, sender=GUEST, target=CLIENT))
    client_frame(T0_US + 60 * MS + 100, arp_frame(reply=True, sender=CLIENT, target=GUEST))

    for k in range(5):
        t = T0_US + 10 * MS + k * 200 * MS
        payload = ping_payload(k + 1)
        client_frame(t, icmp_echo_frame(CLIENT, GUEST, reply=False, ident=0x0d0d, seq=k + 1,
                                        payload=payload, ip_id=client_id()))
        guest.send(t + 100, lambda ip_id, p=payload, s=k + 1: icmp_echo_frame(
            GUEST, CLIENT, reply=True, ident=0x0d0d, seq=s, payload=p, ip_id=ip_id))

    dns_times = [30 * MS + k * 150 * MS for k in range(6)] + [950 * MS]
    for k, start in enumerate(dns_times):
        t = T0_US + start
        qname = f"www{k}.example.com."
        client_frame(t, udp_frame(CLIENT, GUEST, 35000 + k, 53, dns_query(0x5000 + k, qname), ip_id=client_id()))
        reply = dns_reply(0x5000 + k, qname, f"198.51.100.{k + 1}")
        guest.send(t + 150, lambda ip_id, r=reply, p=35000 + k: udp_frame(GUEST, CLIENT, 53, p, r, ip_id=ip_id))

    download = 200 * 1024
    conv, response, stream, _ = served_download(
        "demo/download", pri, sec, T0_US + 100 * MS, client_port=41000, size=download,
        sec_pattern=[2896, 4344, 1448, 2896, 5792, 1000, 64], cli=cli)

    bad = Conversation("demo/divergent", client_port=41001, cli=cli, pri=pri, sec=sec)
    t = T0_US + 900 * MS
    t_req = bad.passive_open(t) + 20
    bad.client_send(t_req, "PA", http_request("/status"))
    small = http_response(700, "demo/divergent/body")
    flip = 400
    bad_stream = bad.guest_stream(t_req + 380, small, pri_sizes=[700], svm_data=flip_byte(small, flip))

    text = "\n".join([
        "Demo captures of one COLO pair (generated by tools/pcapgen/generate.py; see its README.md).",
        "",
        f"start: {fmt_ts(T0_US)}",
        f"download: {flow(80, 41000)}, {download}-byte HTTP response, seq "
        f"{conv.stream_base}..{(conv.stream_base + download) & U32}; PVM {len(stream.pri)} segments of "
        f"1448, SVM {len(stream.sec)} segments (2896/4344/1448/2896/5792/1000/64 repeating)",
        f"divergent: {flow(80, 41001)}, 700-byte response at {fmt_ts(bad_stream.pri[0].t_us)}, byte "
        f"{flip} (seq {(bad.stream_base + flip) & U32}) inverted in the SVM's copy, compared at "
        f"{fmt_ts(bad_stream.sec[0].t_us)}; the connection stays open",
        "dns: udp 10.0.0.2:53 -> 10.0.0.1:35000..35006, 7 replies",
        "icmp: echo replies id 0x0d0d seq 1..5",
        "arp: guest is-at reply and guest who-has 10.0.0.1 (both sides); client's who-has and reply in client.pcap",
        "",
        "expected: everything matches except the divergent response: exactly one checkpoint request",
        "(the capture ends < 3 s later, so no timeout request); the divergent primary stays queued",
        "until a flush; primary ARP passes uncompared, secondary ARP is dropped.",
    ]) + "\n"
    return {"primary.pcap": pri, "secondary.pcap": sec, "client.pcap": cli, "DEMO.txt": text}


# =============================================================================================
# CLI


def write_outputs(outputs, outdir):
    os.makedirs(outdir, exist_ok=True)
    written = []
    for filename, content in outputs.items():
        path = os.path.join(outdir, filename)
        if isinstance(content, Capture):
            content.write(path)
        else:
            with open(path, "w") as f:
                f.write(content)
        written.append(path)
    return written


def generate_all(root):
    written = []
    for name, build in CASES.items():
        written += write_outputs(build(), os.path.join(root, "tests", "replay", name))
    written += write_outputs(demo(), os.path.join(root, "graphs", "data"))
    return written


def verify(root):
    """Regenerate into a temporary directory; compare every generated file with ROOT's copy."""
    with tempfile.TemporaryDirectory() as scratch:
        differences = 0
        for fresh in generate_all(scratch):
            relative = os.path.relpath(fresh, scratch)
            committed = os.path.join(root, relative)
            if not os.path.exists(committed):
                print(f"MISSING  {relative}")
                differences += 1
            elif sha256_file(committed) != sha256_file(fresh):
                print(f"DIFFERS  {relative}")
                differences += 1
            else:
                print(f"ok       {relative}  {sha256_file(fresh)}")
    return differences


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list")
    one = commands.add_parser("case")
    one.add_argument("name", choices=sorted(CASES))
    one.add_argument("outdir")
    commands.add_parser("demo").add_argument("outdir")
    commands.add_parser("all").add_argument("root")
    commands.add_parser("verify").add_argument("root")
    args = parser.parse_args(argv)

    if args.command == "list":
        print("\n".join(CASES))
    elif args.command == "case":
        write_outputs(CASES[args.name](), args.outdir)
    elif args.command == "demo":
        write_outputs(demo(), args.outdir)
    elif args.command == "all":
        written = generate_all(args.root)
        total = sum(os.path.getsize(path) for path in written)
        print(f"wrote {len(written)} files, {total} bytes")
    elif args.command == "verify":
        differences = verify(args.root)
        print("all generated files match" if not differences else f"{differences} file(s) differ")
        return 1 if differences else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
