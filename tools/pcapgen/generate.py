#!/usr/bin/python3
"""Generate the deterministic pcaps of colo-graph's replay tests and demo.

  generate.py list                 names of all cases
  generate.py case NAME OUTDIR     one case's files into OUTDIR
  generate.py demo OUTDIR          the demo captures into OUTDIR
  generate.py all ROOT             every case into ROOT/tests/replay/<case>/, the demo into
                                   ROOT/graphs/data/
  generate.py verify ROOT          regenerate into a temporary directory and compare SHA-256 with
                                   the files under ROOT (exit 1 on any difference)
  generate.py check CASE_DIR OUT   assert an issue-13 case's expect.json on the outputs of one
                                   run of it (its check.sh; exit 1 on any failure)

Runs under /usr/bin/python3 (Debian's, which has scapy). See README.md for what each file holds.
"""

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass

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
# Comparator cases of issue #13: TCP streams that agree but are not aligned the way QEMU's
# algorithm assumes (a collapsed retransmission straddling the compared position, a gap, a
# duplicate and a swap, an RTO resend segmented differently, a late SYN/ACK).
#
# Each case holds both variants of its behaviour over one primary.pcap: secondary.pcap (the SVM
# sends the same bytes) and secondary-diverge.pcap (the same frames at the same times, but one byte
# of the SVM's stream inverted inside the interesting region). graph.yaml runs the two pairs through
# two independent comparators, and a control-script injects a checkpoint into both at fixed quiet
# times, one after each flow: in the identical chain each of these flushes must find no primary
# queued, so every primary was released by the comparison and none is left for the end-of-replay
# flush. The generated expect.json holds what `generate.py check CASE_DIR OUT` (the case's
# check.sh) asserts on a run's outputs.

PROBE_END_US = T0_US + 1 * SECOND   # the last injected checkpoint of every issue-13 case


@dataclass
class Flow13:
    """One connection of an issue-13 case, as built for one variant."""
    conv: Conversation
    response: bytes
    flip: int         # stream offset of the byte inverted in secondary-diverge.pcap
    frames: list      # (side, t_us, offset, length) of every data frame, in build order
    primaries: int    # primary frames of the flow
    held: int         # primaries still queued when a comparator that stops at the first
                      # difference (as QEMU's) meets the divergent byte
    shape: str        # what the primary frames are, for CASE.txt
    synacks: tuple    # (PVM, SVM) SYN/ACK times
    start_us: int
    end_us: int       # the flow's last frame

    def port(self):
        return self.conv.client.port

    def event_flow(self):
        """The flow as comparator events spell it."""
        return f"tcp {GUEST.ip4}:{self.conv.pvm.port} > {CLIENT.ip4}:{self.port()}"

    def seq(self, offset):
        return (self.conv.stream_base + offset) & U32


def open13(conv, t_us, path):
    """Client SYN, both SYN/ACKs (the SVM's with its own ISN, as colo-compare gets it), client
    ACK, request. Returns the SYN/ACK times and the time the guests may answer."""
    conv.client_send(t_us, "S")
    t_pvm = conv.pvm_send(t_us + 100, "SA")
    t_svm = conv.svm_synack_own_isn(t_pvm + conv.twin_delay(), twin_us=t_pvm)
    t_ack = conv.client_send(max(t_us + 200, t_svm + 51), "A")
    conv.client_send(t_ack + 20, "PA", http_request(path))
    return (t_pvm, t_svm), t_ack + 220


def planned_data(conv, response, svm_response, pri_plan, sec_plan):
    """The guests send the response frame by frame as planned, in any order and with any overlap
    (retransmissions, collapsed segments, reordering, gaps).
    pri_plan: (t_us, offset, length) per PVM frame, in send order.
    sec_plan: (after_us, offset, length) per SVM frame, in send order: sent 51..499 us after
    after_us (the PVM frame it answers) and after the SVM's previous frame.
    PSH is set on frames that end the response. Returns [(side, t_us, offset, length)]."""
    base, size = conv.stream_base, len(response)
    frames = []
    for t, off, n in pri_plan:
        t = conv.pvm_send(t, "PA" if off + n == size else "A", response[off:off + n], seq=(base + off) & U32)
        frames.append(("primary", t, off, n))
    t_svm = 0
    for after, off, n in sec_plan:
        t_svm = conv.svm_send(max(t_svm + 2, after + conv.twin_delay()), "PA" if off + n == size else "A",
                              svm_response[off:off + n], seq=(base + off) & U32, twin_us=after)
        frames.append(("secondary", t_svm, off, n))
    conv.pvm.nxt = conv.svm.nxt = (base + size) & U32
    return frames


def held_from(frames, flip, later):
    """Primary data frames not wholly before the divergent byte, plus `later` frames after them."""
    return sum(1 for side, _t, off, n in frames if side == "primary" and off + n > flip) + later


def revealed_at(frames, upto):
    """When both sides have first sent every stream byte up to and including upto: the earliest
    moment a comparator can tell whether that byte differs."""
    def side_time(side):
        sent = []
        for _s, t, off, n in sorted(f for f in frames if f[0] == side):
            sent.append((off, off + n))
            covered = 0
            for start, end in sorted(sent):
                if start <= covered:
                    covered = max(covered, end)
            if covered > upto:
                return t
        raise AssertionError(f"the {side} never sends byte {upto}")
    return max(side_time("primary"), side_time("secondary"))


def served13(label, pri, sec, diverge, t_us, *, client_port, size, flip, plans):
    """open13, the planned response (plans(start) -> (pri_plan, sec_plan)), then a guest-first
    close once both guests have sent everything. Returns a Flow13."""
    conv = Conversation(label, client_port=client_port, pri=pri, sec=sec)
    response = http_response(size, f"{label}/body")
    synacks, start = open13(conv, t_us, "/" + label.rsplit("/", 1)[-1])
    pri_plan, sec_plan = plans(start)
    frames = planned_data(conv, response, flip_byte(response, flip) if diverge else response, pri_plan, sec_plan)
    end = conv.active_close(max(t for _s, t, _o, _n in frames) + 300)
    return Flow13(conv, response, flip, frames, 1 + len(pri_plan) + 2, held_from(frames, flip, 2),
                  f"SYN/ACK, {len(pri_plan)} data, FIN|ACK, last ACK", synacks, t_us, end)


def flow13_facts(f, what):
    def frame_list(side):
        return ", ".join(f"{off}+{n} at {fmt_ts(t)}" for s, t, off, n in f.frames if s == side)
    return [
        (f"{what} flow", flow(f.conv.pvm.port, f.port())),
        (f"{what} response", f"{len(f.response)} bytes, stream offset 0 = seq {f.seq(0)} in both captures"),
        (f"{what} SYN/ACKs", f"primary seq {f.conv.pvm.isn} at {fmt_ts(f.synacks[0])}, secondary seq {SVM_ISN} "
                             f"(the SVM's own ISN) at {fmt_ts(f.synacks[1])}"),
        (f"{what} primary data (offset+len)", frame_list("primary")),
        (f"{what} secondary data (offset+len)", frame_list("secondary")),
        (f"{what} divergent byte", f"stream offset {f.flip}, seq {f.seq(f.flip)}: primary "
                                   f"0x{f.response[f.flip]:02x}, secondary-diverge 0x{f.response[f.flip] ^ 0xFF:02x}"),
        (f"{what} primary frames", f"{f.primaries} ({f.shape})"),
    ]


def issue13_case(name, build, summary, probes_us, behaviour, qemu):
    """Builds both variants (build(pri, sec, diverge) -> [Flow13], one flow per probe) and returns
    the case's files. behaviour: expected lines for the identical pair beyond the common ones;
    qemu: what QEMU's algorithm (colo-graph before the fix) does, as observed."""
    pri, sec, sec_div = Capture(), Capture(), Capture()
    flows = build(pri, sec, False)
    build(None, sec_div, True)   # the same calls: the same frames, times and numbers
    assert len(flows) == len(probes_us) and probes_us[-1] == PROBE_END_US
    assert [t for t, _ in sec.records()] == [t for t, _ in sec_div.records()]
    changed = sum(a != b for a, b in zip(sec.records(), sec_div.records()))
    assert changed == sum(1 for f in flows for s, _t, off, n in f.frames
                          if s == "secondary" and off <= f.flip < off + n)
    assert sum(f.primaries for f in flows) == len(pri)
    bounds = [T0_US] + probes_us
    for f, t_from, t_probe in zip(flows, bounds, probes_us):
        assert t_from <= f.start_us and f.end_us + 2 * MS < t_probe, "each flow ends well before its checkpoint"
    facts = []
    for n, f in enumerate(flows):
        facts += flow13_facts(f, chr(ord("A") + n) if len(flows) > 1 else "tcp")
    facts += [("checkpoints injected (both chains)", ", ".join(fmt_ts(t) for t in probes_us)),
              ("primary frames in all", len(pri))]
    requests = [{"reason": "mismatch", "flow": f.event_flow(), "offset": f.flip, "seq": f.seq(f.flip)}
                for f in flows]
    expect = [
        "identical pair (primary.pcap + secondary.pcap -> released.txt, events.jsonl):",
        "  no checkpoint request; every primary released by the comparison: each injected",
        f"  checkpoint reports released 0; released.txt lists all {len(pri)} primaries",
    ] + ["  " + line for line in behaviour] + [
        "divergent pair (primary.pcap + secondary-diverge.pcap -> released-diverge.txt, events-diverge.jsonl):",
    ] + [f"  a mismatch request on {r['flow']}: offset {r['offset']}, seq {r['seq']},\n"
         f"    at {fmt_ts(revealed_at(f.frames, f.flip))} (when both sides' data first reaches the byte)"
         for r, f in zip(requests, flows)] + [
        "  and no other request. The checkpoint after the flow releases the primaries held since the",
        "  difference (the frame holding the byte and all after it, for a comparator that stops at",
        "  the first difference, as QEMU's): " + ", ".join(f"{f.held} on :{f.port()}" for f in flows),
        f"  released-diverge.txt lists all {len(pri)} primaries",
        "QEMU's algorithm (colo-graph before the issue-13 fix, run on these captures):",
    ] + ["  " + line for line in qemu]
    checks = {
        "probes": [fmt_ts(t) for t in probes_us],
        "identical": {"released": "released.txt", "events": "events.jsonl", "primaries": len(pri),
                      "requests": []},
        "diverge": {"released": "released-diverge.txt", "events": "events-diverge.jsonl",
                    "primaries": len(pri), "requests": requests},
    }
    return {"primary.pcap": pri, "secondary.pcap": sec, "secondary-diverge.pcap": sec_div,
            "CASE.txt": case_text(name, summary, facts, expect),
            "expect.json": json.dumps(checks, indent=1) + "\n"}


def stride(start, count, gap=100):
    """PVM frames k = 0..count-1 of 1448 bytes, every gap us from start: (t, offset, length)."""
    return [(start + k * gap, k * SEGMENT, SEGMENT) for k in range(count)]


@case("cmp-retrans-straddle")
def cmp_retrans_straddle():
    name = "cmp-retrans-straddle"
    size, retrans_after = 3 * SEGMENT, 2 * MS

    def svm_collapses(d):
        # PVM #0 #1 #2; the SVM sends #0, then (its #1 not out yet) retransmits [0,2896) as one
        # collapsed frame, then #2.
        return stride(d, 3), [(d, 0, SEGMENT), (d + retrans_after, 0, 2 * SEGMENT),
                              (d + retrans_after, 2 * SEGMENT, SEGMENT)]

    def pvm_collapses(d):
        # Mirrored: the PVM sends #0, retransmits [0,2896) collapsed, then #2; the SVM #0 #1 #2.
        return ([(d, 0, SEGMENT), (d + retrans_after, 0, 2 * SEGMENT), (d + retrans_after + 100, 2 * SEGMENT, SEGMENT)],
                [(d, 0, SEGMENT), (d + retrans_after, SEGMENT, SEGMENT), (d + retrans_after + 100, 2 * SEGMENT, SEGMENT)])

    def build(pri, sec, diverge):
        return [served13(f"{name}/svm-collapses", pri, sec, diverge, T0_US, client_port=40500, size=size,
                         flip=2000, plans=svm_collapses),
                served13(f"{name}/pvm-collapses", pri, sec, diverge, T0_US + 100 * MS, client_port=40501,
                         size=size, flip=2500, plans=pvm_collapses)]

    return issue13_case(
        name, build,
        """Two connections, each a 3 x 1448-byte response in which one guest retransmits its first two
segments as one collapsed 2896-byte frame (Linux merges retransmitted segments), 2 ms after its first
segment, so the frame straddles the compared position (1448): its first half is already verified.
A (port 40500): the PVM sends [0,1448) [1448,2896) [2896,4344); the SVM sends [0,1448), then
[0,2896), then [2896,4344). B (port 40501), mirrored: the PVM sends [0,1448), [0,2896),
[2896,4344); the SVM [0,1448) [1448,2896) [2896,4344). Each guest frame otherwise follows its PVM
twin by 51..499 us. secondary-diverge.pcap inverts one byte of the SVM's stream inside the straddling
part [1448,2896): A at 2000 (in the collapsed frame), B at 2500.""",
        [T0_US + 50 * MS, PROBE_END_US],
        ["A: the collapsed SVM frame's unverified part [1448,2896) matches PVM [1448,2896);",
         "B: the collapsed PVM frame is released once its unverified part matches SVM [1448,2896)"],
        ["identical: a mismatch on :40500 at offset 1448, seq 51449 (the collapsed SVM frame compared",
         "from its start against PVM [1448,2896)), PVM 1448+1448, 2896+1448, FIN, ACK held until the",
         "checkpoint at .050000 (released 4); a mismatch on :40501 at offset 0, seq 50001 (SVM",
         "[1448,2896) against the collapsed PVM frame from its start), 4 held until 1.000000",
         "divergent: the same two requests at the same offsets (1448 and 0, not 2000 and 2500)"])


def one_flow(name, client_port, size, flip, plans):
    """build() of an issue-13 case with one served13 connection, at T0."""
    def build(pri, sec, diverge):
        return [served13(name, pri, sec, diverge, T0_US, client_port=client_port, size=size, flip=flip,
                         plans=plans)]
    return build


def svm_order(order):
    """plans() for 6 x 1448 bytes: the PVM sends #0..#5 in order, 100 us apart; each (k, j) of
    the SVM's order sends segment k right after PVM frame j."""
    def plans(d):
        pri_plan = stride(d, 6)
        return pri_plan, [(pri_plan[j][0], k * SEGMENT, SEGMENT) for k, j in order]
    return plans


@case("cmp-gap")
def cmp_gap():
    name = "cmp-gap"
    # The SVM's #2 is lost on its way out and fast-retransmitted after #3 and #4.
    plans = svm_order([(0, 0), (1, 1), (3, 3), (4, 4), (2, 4), (5, 5)])
    return issue13_case(
        name, one_flow(name, 40510, 6 * SEGMENT, 2 * SEGMENT + 1000, plans),
        """A 6 x 1448-byte response. The PVM sends #0..#5 in order, 100 us apart. The SVM's #2 is lost
on its way out and fast-retransmitted: the SVM's frames reach the comparator as #0 #1 #3 #4 #2 #5,
all with the PVM's segmentation. secondary-diverge.pcap inverts one byte inside the late segment #2.""",
        [PROBE_END_US],
        ["the comparator waits at the gap (2896) for SVM #2: no request when #3 and #4 arrive; #2",
         "fills it and PVM #2..#5 are released by matching"],
        ["identical: a mismatch at offset 2896, seq 52897 when SVM #3 arrives (compared against PVM",
         "#2); once #2 arrives everything matches (the checkpoint finds nothing queued), but the",
         "request went out: with a COLO frame answering it, a needless checkpoint",
         "divergent: the same request at 2896 (not 3896); 6 primaries held until the checkpoint"])


@case("cmp-dup-reorder")
def cmp_dup_reorder():
    name = "cmp-dup-reorder"
    # SVM: #3 before #2 (swapped), #3 sent twice while #2 is still missing (a spurious
    # retransmission of data not yet compared), and #1 again after #4 (a spurious retransmission
    # of data already verified).
    plans = svm_order([(0, 0), (1, 1), (3, 3), (3, 3), (2, 3), (4, 4), (1, 4), (5, 5)])
    return issue13_case(
        name, one_flow(name, 40520, 6 * SEGMENT, 3 * SEGMENT + 500, plans),
        """A 6 x 1448-byte response. The PVM sends #0..#5 in order, 100 us apart. The SVM's frames,
with the PVM's segmentation, arrive as #0 #1 #3 #3 #2 #4 #1 #5: #2 and #3 swapped, a spurious
retransmission of #3 while #2 is still missing (two queued copies of data not yet compared), and a
spurious retransmission of #1 after it was verified. secondary-diverge.pcap inverts one byte inside the
reordered segment #3 (both of its copies carry it).""",
        [PROBE_END_US],
        ["no request when #3 and its copy arrive before #2; the duplicates are dropped as already",
         "verified; PVM #0..#5 released by matching"],
        ["identical: a mismatch at offset 2896, seq 52897 when SVM #3 arrives (compared against PVM",
         "#2); after #2 everything matches and the duplicates are dropped, but the request went out",
         "divergent: the same request at 2896 (not 4844); 5 primaries held until the checkpoint"])


@case("cmp-rto-resend")
def cmp_rto_resend():
    name = "cmp-rto-resend"
    rto, stall = 200 * MS, 210 * MS

    def plans(d):
        pri_plan = stride(d, 5)
        # The client got #0 and #1 only. The PVM's RTO resends from 2896 as a collapsed 2896-byte
        # frame and a 1448-byte one.
        t_rto = d + rto
        pri_plan += [(t_rto, 2 * SEGMENT, 2 * SEGMENT), (t_rto + 100, 4 * SEGMENT, SEGMENT)]
        # The SVM's output stalls after #2, so its #3 and #4 reach the comparator after the PVM's
        # resend; its own RTO resends from 2896 as three 1448-byte frames.
        t3, t4 = pri_plan[3][0] + stall, pri_plan[4][0] + stall
        return pri_plan, [(d, 0, SEGMENT), (d + 100, SEGMENT, SEGMENT), (d + 200, 2 * SEGMENT, SEGMENT),
                          (t3, 3 * SEGMENT, SEGMENT), (t4, 4 * SEGMENT, SEGMENT)] + \
            [(t3 + rto, k * SEGMENT, SEGMENT) for k in (2, 3, 4)]

    return issue13_case(
        name, one_flow(name, 40530, 5 * SEGMENT, 5000, plans),
        """A 5 x 1448-byte response [0,7240); the client receives #0 and #1 only, so both guests' RTOs
fire and both resend from 2896, segmented differently: the PVM 200 ms after #0 as [2896,5792) (one
collapsed frame) and [5792,7240); the SVM 200 ms after its #3 as three 1448-byte frames. The SVM's
output stalls after #2 (210 ms), so its original #3 and #4 reach the comparator only after the PVM's
resend: at that point [0,4344) is verified and the PVM's collapsed resend straddles it.
secondary-diverge.pcap inverts one byte inside [4344,5792), the resent part not yet verified when
the resend arrives (in the SVM's #3 and in its resend of it).""",
        [PROBE_END_US],
        ["the PVM's resend [2896,5792) is released once its unverified half matches SVM #3; the",
         "SVM's resends, already verified, are dropped; PVM #0..#4 and both resends released by matching"],
        ["identical: a mismatch at offset 2896, seq 52897 when SVM #3 arrives (the PVM's resend",
         "[2896,5792) sorts first and is compared from its start against SVM [4344,5792)); PVM #3, #4,",
         "both resends, FIN and ACK held until the checkpoint (released 6)",
         "divergent: the same request at 2896 (not 5000)"])


@case("cmp-late-synack")
def cmp_late_synack():
    name = "cmp-late-synack"
    size, flip = 3000, 2000

    def build(pri, sec, diverge):
        conv = Conversation(name, client_port=40540, pri=pri, sec=sec)
        response = http_response(size, f"{name}/body")
        conv.client_send(T0_US, "S")
        t_synack = conv.pvm_send(T0_US + 100, "SA")
        t_ack = conv.client_send(T0_US + 200, "A")   # the client talks to the PVM
        conv.client_send(t_ack + 20, "PA", http_request("/late-synack"))
        d = t_ack + 220
        pri_plan = [(d, 0, SEGMENT), (d + 100, SEGMENT, SEGMENT), (d + 200, 2 * SEGMENT, size - 2 * SEGMENT)]
        # The SVM's SYN/ACK (its own ISN: the rewriter leaves SYN/ACKs alone) reaches the
        # comparator after all of the PVM's data; then the SVM's data, in PVM space, as a collapsed
        # (TSO) 2896-byte frame and the 104-byte rest.
        t_svm_synack = conv.svm_synack_own_isn(d + 200 + conv.twin_delay(), twin_us=t_synack)
        frames = planned_data(conv, response, flip_byte(response, flip) if diverge else response, pri_plan,
                              [(t_svm_synack, 0, 2 * SEGMENT), (t_svm_synack, 2 * SEGMENT, size - 2 * SEGMENT)])
        end = max(t for _s, t, _o, _n in frames)
        return [Flow13(conv, response, flip, frames, 1 + len(pri_plan), held_from(frames, flip, 0),
                       "SYN/ACK and 3 data; the connection stays open", (t_synack, t_svm_synack),
                       T0_US, end)]

    return issue13_case(
        name, build,
        f"""Primary: SYN/ACK, then a 3000-byte response acknowledging the client's request
(1448 + 1448 + 104). The SVM's SYN/ACK reaches the comparator only after all of that data; it carries
the SVM's own ISN {SVM_ISN} and acknowledges the client's SYN (the secondary's rewriter translates
every other segment into the PVM's space but never a SYN/ACK: docs/rewriter.md). Then the SVM's
data, in PVM space, acknowledging the request: one collapsed (TSO) 2896-byte frame and 104 bytes.
Nothing follows: the connection stays open. secondary-diverge.pcap inverts one byte in the data
that follows the first PVM segment (offset {flip}, inside PVM [1448,2896) and SVM [0,2896)).""",
        [PROBE_END_US],
        ["the PVM's SYN/ACK is released when the SVM's SYN/ACK arrives (a pure ACK waits for any",
         "secondary packet); its data is released by matching as soon as the SVM's data arrives: both",
         "sides have acknowledged the request, and the SVM's late SYN (another ISN) changes nothing"],
        ["no request in either pair. The SVM's SYN/ACK resets the connection's compare state,",
         "including the PVM's highest ACK recorded from its data; PVM #0 ends within the SVM's",
         "2896-byte frame, so the ACK gate holds it (ack_gate_holds 2) until another primary or",
         "compare_timeout: the checkpoint at 1.000000 releases all 3 data frames. The divergent byte",
         "(in PVM #1) is never compared"])


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(case_dir, out_dir):
    """The issue-13 requirements on one run of an issue-13 case (its check.sh), from the case's
    expect.json: per chain the exact checkpoint requests (none for the identical pair), one
    checkpoint_done per injected checkpoint, which finds nothing queued in the identical chain
    and holds the divergent primary in the other, and every primary released. Returns the list of
    failures."""
    with open(os.path.join(case_dir, "expect.json")) as f:
        expect = json.load(f)
    failures = []
    for variant in ("identical", "diverge"):
        want = expect[variant]
        missing = [name for name in (want["events"], want["released"])
                   if not os.path.exists(os.path.join(out_dir, name))]
        if missing:
            failures.append(f"{variant}: no {' '.join(missing)} in {out_dir}")
            continue
        events = read_jsonl(os.path.join(out_dir, want["events"]))
        requests = [{key: e.get(key) for key in ("reason", "flow", "offset", "seq")}
                    for e in events if e["event"] == "checkpoint_request"]
        if requests != want["requests"]:
            failures.append(f"{variant}: checkpoint requests {requests}, expected {want['requests']}")
        done = [e for e in events if e["event"] == "checkpoint_done"]
        times = [f"{e['time']:.6f}" for e in done]
        if times != expect["probes"]:
            failures.append(f"{variant}: checkpoint_done at {times}, expected one per injected checkpoint "
                            f"{expect['probes']}")
        requested = False
        for e in events:
            if e["event"] == "checkpoint_request":
                requested = True
            elif e["event"] == "checkpoint_done":
                if variant == "identical" and e["released"]:
                    failures.append(f"{variant}: the checkpoint at {e['time']:.6f} released {e['released']} "
                                    "primaries still queued: not released by a match")
                if variant == "diverge" and requested and not e["released"]:
                    failures.append(f"{variant}: the checkpoint at {e['time']:.6f} after a mismatch released "
                                    "nothing: the divergent primary was released by a match")
                requested = False
        with open(os.path.join(out_dir, want["released"])) as f:
            released = sum(1 for line in f if line.strip())
        if released != want["primaries"]:
            failures.append(f"{variant}: {released} primaries released, expected all {want['primaries']}")
    flushed = node_counters(os.path.join(out_dir, "stdout.txt"), "compare").get("released_flush", 0)
    if flushed:
        failures.append(f"identical: --stats: comparator 'compare' released_flush {flushed}, expected 0")
    return failures


def node_counters(stats_path, node):
    """One node's counters from `colo-graph run --stats` output ({} when there is none)."""
    counters, inside = {}, False
    if os.path.exists(stats_path):
        with open(stats_path) as f:
            for line in f:
                if not line.startswith(" "):
                    inside = line.split()[:1] == [node]
                elif inside and len(line.split()) == 2:
                    name, value = line.split()
                    counters[name] = int(value)
    return counters


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
    checking = commands.add_parser("check")
    checking.add_argument("case_dir")
    checking.add_argument("out_dir")
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
    elif args.command == "check":
        failures = check(args.case_dir, args.out_dir)
        name = os.path.basename(os.path.abspath(args.case_dir))
        for failure in failures:
            print(f"check {name}: FAIL {failure}")
        if not failures:
            print(f"check {name}: ok")
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
