"""Deterministic building blocks for COLO test traffic.

Hosts, a fixed clock origin, frame builders (scapy), a TCP conversation model that yields the
client's, the PVM's and the SVM's frames of one connection, and a pcap writer.

Nothing here reads the wall clock or an unseeded random source: every value is a function of the
arguments, so generators built on this module write byte-identical pcaps on every run.

Timestamp convention (makes merging two captures by timestamp unambiguous):
  * frames sent by the client and by the PVM carry even microsecond timestamps,
  * frames sent by the SVM carry odd ones (its "twin" delay is odd).
"""

import bisect
import hashlib
import logging
import struct
from dataclasses import dataclass, field

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402

T0_US = 1_700_000_000_000_000  # 1700000000.000000, the first timestamp of every capture

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

CLIENT_ISN = 7000
PVM_ISN = 50000
SVM_ISN = 90000

CLIENT_TS_BASE = 300
PVM_TS_BASE = 1_000_000
SVM_TS_BASE = 5_000_000

MSS = 1460
SEGMENT = 1448  # MSS minus the 12-byte timestamp option every segment carries

U32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Host:
    mac: str
    ip4: str
    ip6: str


GUEST = Host("52:54:00:12:34:56", "10.0.0.2", "fd00::2")
CLIENT = Host("52:54:00:ab:cd:ef", "10.0.0.1", "fd00::1")


# ---------------------------------------------------------------------------------------------
# Deterministic "randomness"


def det_bytes(label, n):
    """n pseudo-random bytes, a pure function of label (SHA-256 in counter mode)."""
    out = bytearray()
    block = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}#{block}".encode()).digest()
        block += 1
    return bytes(out[:n])


def det_int(label, lo, hi):
    """An integer in [lo, hi], a pure function of label."""
    value = int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")
    return lo + value % (hi - lo + 1)


def twin_delay_us(label):
    """How long after its PVM twin the SVM sends a frame: odd, within 51..499 microseconds."""
    return 51 + 2 * det_int(label, 0, 224)


def even(t_us):
    return t_us & ~1


def odd(t_us):
    return t_us | 1


def fmt_ts(t_us):
    return f"{t_us // 1_000_000}.{t_us % 1_000_000:06d}"


# ---------------------------------------------------------------------------------------------
# pcap files


class Capture:
    """The frames of one pcap file as (timestamp in microseconds, bytes)."""

    def __init__(self):
        self._records = []

    def add(self, t_us, frame):
        self._records.append((t_us, bytes(frame)))

    def __len__(self):
        return len(self._records)

    def records(self):
        # Stable sort: frames with equal timestamps keep the order in which they were added.
        return sorted(self._records, key=lambda record: record[0])

    def write(self, path):
        write_pcap(path, self.records())


def write_pcap(path, records):
    """Classic little-endian microsecond pcap, Ethernet link type, written byte by byte so the
    file does not depend on the host's byte order or on scapy's writer."""
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t_us, frame in records:
            out.write(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)))
            out.write(frame)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Frame builders


class IpIds:
    """A sender's IP identification counter."""

    def __init__(self, start):
        self._next = start

    def take(self):
        value = self._next
        self._next = (self._next + 1) & 0xFFFF
        return value


def _l2(src_mac, dst_mac, vlan):
    eth = Ether(src=src_mac, dst=dst_mac)
    return eth / Dot1Q(vlan=vlan) if vlan is not None else eth


def _l3(src, dst, ip_id, ipv6, vlan, dst_mac=None):
    l2 = _l2(src.mac, dst_mac or dst.mac, vlan)
    if ipv6:
        return l2 / IPv6(src=src.ip6, dst=dst.ip6, hlim=64, fl=0)
    return l2 / IP(src=src.ip4, dst=dst.ip4, id=ip_id, flags="DF", ttl=64)


def syn_options(tsval, tsecr):
    """The option list of a Linux SYN or SYN/ACK."""
    return [("MSS", MSS), ("SAckOK", b""), ("Timestamp", (tsval, tsecr)), ("NOP", None), ("WScale", 7)]


def ts_options(tsval, tsecr, sack=()):
    """NOP,NOP,TS and, when blocks are given, NOP,NOP,SACK (at most three blocks fit beside TS)."""
    options = [("NOP", None), ("NOP", None), ("Timestamp", (tsval, tsecr))]
    if sack:
        assert len(sack) <= 3, "three SACK blocks is the maximum next to a timestamp option"
        edges = tuple(edge & U32 for block in sack for edge in block)
        options += [("NOP", None), ("NOP", None), ("SAck", edges)]
    return options


def tcp_frame(src, dst, sport, dport, *, seq, ack, flags, payload=b"", options=(), ip_id=0,
              window=502, ipv6=False, vlan=None):
    pkt = _l3(src, dst, ip_id, ipv6, vlan) / TCP(
        sport=sport, dport=dport, seq=seq & U32, ack=ack & U32, flags=flags, window=window,
        options=list(options))
    if payload:
        pkt = pkt / payload
    return bytes(pkt)


def udp_frame(src, dst, sport, dport, payload, *, ip_id=0, ipv6=False, vlan=None):
    return bytes(_l3(src, dst, ip_id, ipv6, vlan) / UDP(sport=sport, dport=dport) / payload)


def icmp_echo_frame(src, dst, *, reply, ident, seq, payload, ip_id=0):
    icmp = ICMP(type=0 if reply else 8, id=ident, seq=seq)
    return bytes(_l3(src, dst, ip_id, False, None) / icmp / payload)


def ping_payload(seq):
    """56 bytes like iputils ping: an 8-byte send time, then the bytes 0x10..0x3f."""
    return struct.pack("<II", 1_700_000_000 + seq, seq * 1000) + bytes(range(0x10, 0x40))


def arp_frame(*, reply, sender, target):
    """An ARP request (broadcast, asking for target's address) or a reply sent to target."""
    if reply:
        arp = ARP(op=2, hwsrc=sender.mac, psrc=sender.ip4, hwdst=target.mac, pdst=target.ip4)
        return bytes(Ether(src=sender.mac, dst=target.mac) / arp)
    arp = ARP(op=1, hwsrc=sender.mac, psrc=sender.ip4, hwdst="00:00:00:00:00:00", pdst=target.ip4)
    return bytes(Ether(src=sender.mac, dst=BROADCAST_MAC) / arp)


def dns_query(qid, qname, qtype="A"):
    return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname=qname, qtype=qtype)))


def dns_reply(qid, qname, address, qtype="A", ttl=300):
    answer = DNSRR(rrname=qname, type=qtype, ttl=ttl, rdata=address)
    return bytes(DNS(id=qid, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname=qname, qtype=qtype), an=answer))


class TwinSender:
    """Non-TCP frames that both guests send: the PVM at an even time, the SVM 51..499 us later.
    Each side has its own IP id counter, as two independent kernels would."""

    def __init__(self, label, pri, sec, *, pvm_ip_id=0x2000, svm_ip_id=0x6000):
        self.label = label
        self.pri, self.sec = pri, sec
        self.pvm_ids, self.svm_ids = IpIds(pvm_ip_id), IpIds(svm_ip_id)
        self._count = 0

    def send(self, t_us, build, svm_build=None):
        """build(ip_id) makes the PVM's frame; svm_build (default build) the SVM's.
        Returns (PVM time, SVM time)."""
        self._count += 1
        t_pri = even(t_us)
        t_sec = t_pri + twin_delay_us(f"{self.label}/{self._count}")
        self.pri.add(t_pri, build(self.pvm_ids.take()))
        if self.sec is not None:
            self.sec.add(t_sec, (svm_build or build)(self.svm_ids.take()))
        return t_pri, t_sec


# ---------------------------------------------------------------------------------------------
# Payloads and segmentation


def http_request(path, host=GUEST.ip4):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: colo-pcapgen\r\nAccept: */*\r\n\r\n".encode()


def http_response(total_len, label):
    """An HTTP response of exactly total_len bytes with a deterministic binary body."""
    def header(body_len, pad):
        return (f"HTTP/1.1 200 OK\r\nServer: pcapgen{'-' * pad}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {body_len}\r\n\r\n").encode()
    # The Content-Length digits count toward the total; at a digit boundary (e.g. 99/100) no
    # body length may fit, and one byte of padding in the Server line resolves it.
    for pad in (0, 1):
        for digits in range(1, 10):
            body_len = total_len - len(header(10 ** (digits - 1), pad))
            if body_len >= 0 and len(str(body_len)) == digits:
                return header(body_len, pad) + det_bytes(label, body_len)
    raise ValueError(f"no HTTP response of {total_len} bytes")


def split_sizes(total, pattern):
    """Segment sizes that repeat pattern until total bytes are covered (the last one is cut)."""
    sizes = []
    i = 0
    while total > 0:
        size = min(pattern[i % len(pattern)], total)
        sizes.append(size)
        total -= size
        i += 1
    return sizes


def flip_byte(data, offset):
    changed = bytearray(data)
    changed[offset] ^= 0xFF
    return bytes(changed)


# ---------------------------------------------------------------------------------------------
# TCP


class TcpPeer:
    """One end of a TCP connection: address and port, next sequence number, TS clock (1 kHz,
    TSval = ts_base + milliseconds since T0) and IP id counter."""

    def __init__(self, host, port, isn, ts_base, ip_id, *, ipv6=False, vlan=None):
        self.host = host
        self.port = port
        self.isn = isn & U32
        self.nxt = self.isn
        self.ts_base = ts_base
        self.ip_ids = IpIds(ip_id)
        self.ipv6 = ipv6
        self.vlan = vlan

    def tsval(self, t_us):
        return (self.ts_base + (t_us - T0_US) // 1000) & U32

    def build(self, t_us, peer, flags, payload=b"", *, ack, tsecr, seq=None, sack=(), ts_us=None):
        """A frame to peer. Without seq it continues the stream and advances nxt. The TS clock
        is read at ts_us (default t_us)."""
        if seq is None:
            seq = self.nxt
            self.nxt = (self.nxt + len(payload) + ("S" in flags) + ("F" in flags)) & U32
        tsval = self.tsval(t_us if ts_us is None else ts_us)
        if "S" in flags:
            options = syn_options(tsval, tsecr)
            window = 65160 if "A" in flags else 64240
        else:
            options = ts_options(tsval, tsecr, sack)
            window = 502
        return tcp_frame(self.host, peer.host, self.port, peer.port, seq=seq,
                         ack=ack if "A" in flags else 0, flags=flags, payload=payload,
                         options=options, ip_id=self.ip_ids.take(), window=window,
                         ipv6=self.ipv6, vlan=self.vlan)


@dataclass
class Segment:
    t_us: int
    seq: int          # in the sender's own sequence space
    payload: bytes
    offset: int = 0   # position of the first payload byte in the guest's byte stream


@dataclass
class StreamResult:
    pri: list = field(default_factory=list)   # Segments the PVM sent
    sec: list = field(default_factory=list)   # Segments the SVM sent
    end_us: int = 0                           # time of the last PVM segment


class Conversation:
    """One TCP connection between CLIENT and GUEST as both COLO sides experience it.

    The PVM and the SVM send the same byte stream with their own ISNs, TS clocks and IP ids.
    Frames go to three optional captures:
      cli: what the client sends (it talks to the PVM, so its ACK/SACK/TSecr are PVM space),
      pri: what the PVM sends,
      sec: what the SVM sends (give svm_isn == pvm_isn for frames already seq-translated, as
           colo-compare receives them; a different svm_isn for raw SVM output).
    State advances even for a capture that is None, so a case can leave out any side.
    """

    def __init__(self, label, *, client_port, guest_port=80, client_isn=CLIENT_ISN,
                 pvm_isn=PVM_ISN, svm_isn=PVM_ISN, cli=None, pri=None, sec=None, ipv6=False,
                 vlan=None, pvm_ip_id=0x1000, svm_ip_id=0x7000, client_ip_id=0x3000):
        self.label = label
        self.client = TcpPeer(CLIENT, client_port, client_isn, CLIENT_TS_BASE, client_ip_id,
                              ipv6=ipv6, vlan=vlan)
        self.pvm = TcpPeer(GUEST, guest_port, pvm_isn, PVM_TS_BASE, pvm_ip_id, ipv6=ipv6, vlan=vlan)
        self.svm = TcpPeer(GUEST, guest_port, svm_isn, SVM_TS_BASE, svm_ip_id, ipv6=ipv6, vlan=vlan)
        self.cli, self.pri, self.sec = cli, pri, sec
        # (time, TSval) of every client and PVM frame: a frame echoes the latest TSval the other
        # end sent before it, whatever order the case builds frames in.
        self._client_ts = []
        self._pvm_ts = []
        self.stream_base = (pvm_isn + 1) & U32   # PVM seq of guest stream offset 0
        self._delays = 0

    # -- single frames -------------------------------------------------------------------------

    def client_send(self, t_us, flags, payload=b"", *, ack=None, sack=(), tsecr=None, seq=None):
        """A client frame at even time t_us; ACK defaults to everything the PVM has sent."""
        t_us = even(t_us)
        frame = self.client.build(t_us, self.pvm, flags, payload,
                                  ack=self.pvm.nxt if ack is None else ack,
                                  tsecr=self._echo(self._pvm_ts, t_us) if tsecr is None else tsecr,
                                  seq=seq, sack=sack)
        bisect.insort(self._client_ts, (t_us, self.client.tsval(t_us)))
        if self.cli is not None:
            self.cli.add(t_us, frame)
        return t_us

    def pvm_send(self, t_us, flags, payload=b"", *, seq=None, ack=None):
        t_us = even(t_us)
        frame = self.pvm.build(t_us, self.client, flags, payload,
                               ack=self.client.nxt if ack is None else ack,
                               tsecr=self._echo(self._client_ts, t_us), seq=seq)
        bisect.insort(self._pvm_ts, (t_us, self.pvm.tsval(t_us)))
        if self.pri is not None:
            self.pri.add(t_us, frame)
        return t_us

    def svm_send(self, t_us, flags, payload=b"", *, seq=None, ack=None, twin_us=None):
        """An SVM frame at odd time t_us. twin_us is when the PVM sent the same data: the SVM's
        TS clock is read there, so twins' TSvals differ by exactly the clocks' base difference."""
        t_us = odd(t_us)
        frame = self.svm.build(t_us, self.client, flags, payload,
                               ack=self.client.nxt if ack is None else ack,
                               tsecr=self._echo(self._client_ts, t_us), seq=seq, ts_us=twin_us)
        if self.sec is not None:
            self.sec.add(t_us, frame)
        return t_us

    @staticmethod
    def _echo(log, t_us):
        i = bisect.bisect_left(log, (t_us, -1))
        return log[i - 1][1] if i else 0

    def twin_delay(self):
        self._delays += 1
        return twin_delay_us(f"{self.label}/{self._delays}")

    def guest_send(self, t_us, flags, payload=b"", *, svm_payload=None):
        """The PVM sends at t_us, the SVM the same (or svm_payload) 51..499 us later.
        Returns the SVM's time."""
        t_us = self.pvm_send(t_us, flags, payload)
        return self.svm_send(t_us + self.twin_delay(), flags,
                             payload if svm_payload is None else svm_payload, twin_us=t_us)

    def svm_synack_own_isn(self, t_us, *, isn=SVM_ISN, twin_us=None):
        """The SVM's SYN/ACK as colo-compare really receives it: the secondary's rewriter moves
        every other segment into the PVM's space but leaves SYN and SYN/ACK unchanged
        (docs/rewriter.md), so this one carries the SVM's own ISN. It acknowledges the client's
        SYN even when it is sent after the client's request. The SVM's stream continues in the
        PVM's space (svm_isn == pvm_isn) at ISN + 1. Returns the SVM's time."""
        t_us = self.svm_send(t_us, "SA", seq=isn, ack=(self.client.isn + 1) & U32, twin_us=twin_us)
        self.svm.nxt = (self.svm.isn + 1) & U32
        return t_us

    def checkpoint(self):
        """After a checkpoint the SVM is a copy of the PVM: same sequence numbers, same TS clock."""
        self.svm.nxt = self.pvm.nxt
        self.svm.ts_base = self.pvm.ts_base

    # -- a whole response ----------------------------------------------------------------------

    def guest_stream(self, t_us, data, *, pri_sizes, sec_sizes=None, svm_data=None, gap_us=100,
                     client_acks=True):
        """Both guests send data: the PVM in pri_sizes segments every gap_us, the SVM the same
        bytes (or svm_data) in sec_sizes segments, each sent 51..499 us after the PVM segment
        that completes its last byte. With client_acks the client ACKs every second PVM segment
        (and the last), once both guests have sent it, echoing that segment's TSval. PSH is set on
        each side's last segment."""
        sec_sizes = pri_sizes if sec_sizes is None else sec_sizes
        svm_data = data if svm_data is None else svm_data
        assert sum(pri_sizes) == len(data) and sum(sec_sizes) == len(svm_data) == len(data)
        result = StreamResult()
        t_us = even(t_us)
        offset = 0
        pvm_done = []  # (end offset, send time) per PVM segment
        for i, size in enumerate(pri_sizes):
            flags = "PA" if i == len(pri_sizes) - 1 else "A"
            seq = self.pvm.nxt
            self.pvm_send(t_us, flags, data[offset:offset + size])
            result.pri.append(Segment(t_us, seq, data[offset:offset + size], offset))
            offset += size
            pvm_done.append((offset, t_us))
            result.end_us = t_us
            t_us += gap_us
        offset = 0
        t_svm = 0
        svm_done = []
        for i, size in enumerate(sec_sizes):
            end = offset + size
            twin_t = next(t for stop, t in pvm_done if stop >= end)
            t_svm = odd(max(t_svm + 2, twin_t + self.twin_delay()))
            flags = "PA" if i == len(sec_sizes) - 1 else "A"
            seq = self.svm.nxt
            self.svm_send(t_svm, flags, svm_data[offset:end], twin_us=twin_t)
            result.sec.append(Segment(t_svm, seq, svm_data[offset:end], offset))
            offset = end
            svm_done.append((end, t_svm))
        if client_acks:
            for i, seg in enumerate(result.pri):
                if i % 2 == 1 or i == len(result.pri) - 1:
                    end = seg.offset + len(seg.payload)
                    svm_t = next(t for stop, t in svm_done if stop >= end)
                    self.client_send(max(seg.t_us + 100, svm_t + 51), "A",
                                     ack=(seg.seq + len(seg.payload)) & U32,
                                     tsecr=self.pvm.tsval(seg.t_us))
        return result

    # -- the usual shape of a served request ---------------------------------------------------

    def passive_open(self, t_us):
        """Client SYN, guests' SYN/ACK 100 us later, client ACK once both guests have sent it.
        (Client frames answering the guest always follow both twins, so the secondary's
        rewriter sees a causally ordered exchange.) Returns the client's ACK time."""
        self.client_send(t_us, "S")
        t_svm = self.guest_send(t_us + 100, "SA")
        return self.client_send(max(t_us + 200, t_svm + 51), "A")

    def passive_close(self, t_us):
        """Client FIN|ACK, guests' FIN|ACK, client ACK. Returns the client's last time."""
        self.client_send(t_us, "FA")
        t_svm = self.guest_send(t_us + 100, "FA")
        return self.client_send(max(t_us + 200, t_svm + 51), "A")

    def active_close(self, t_us):
        """Guests' FIN|ACK, client ACK and FIN|ACK, guests' last ACK. Returns the SVM's last time."""
        t_svm = self.guest_send(t_us, "FA")
        t_ack = self.client_send(max(t_us + 100, t_svm + 51), "A")
        self.client_send(t_ack + 20, "FA")
        return self.guest_send(t_ack + 120, "A")
