#!/usr/bin/python3
"""Lists what a rewriter changed in each TCP segment, and checks it changed nothing else.

    tcp_deltas.py INPUT.pcap OUTPUT.pcap

INPUT and OUTPUT hold the same frames in the same order (what went into one
rewriter port and what came out of it). One line per frame:

    0.000250 S.  =                               nothing changed
    0.000411 .   ack +40000 tsecr +4000000       fields moved by these amounts (mod 2^32)
    0.000990 .   ack +40000 sack(6) +40000       all six SACK edges moved by +40000

The dump sink's text shows SEQ and ACK but not TCP options, so this listing is
what makes timestamp and SACK translation visible to a golden test. Frames are
parsed here independently of colo-graph's parser.

Exit status 1 (with a message) when the files differ in frame count or
timestamps, or when any byte other than SEQ, ACK, TSval, TSecr, SACK edges and
the TCP checksum changed; non-TCP frames must be identical.
"""
import struct
import sys

from scapy.utils import RawPcapReader

FLAG_NAMES = ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"), (0x10, "."))   # as the dump sink writes them


def tcp_layout(frame):
    """Offsets of the translatable fields of a TCP segment, or None for other frames."""
    off, ethertype = 12, None
    while off + 2 <= len(frame):
        ethertype = struct.unpack_from("!H", frame, off)[0]
        if ethertype not in (0x8100, 0x88A8):
            break
        off += 4
    l3 = off + 2
    if ethertype == 0x0800 and len(frame) >= l3 + 20:
        ihl = (frame[l3] & 0x0F) * 4
        fragment = struct.unpack_from("!H", frame, l3 + 6)[0] & 0x3FFF
        if frame[l3 + 9] != 6 or fragment:
            return None
        l4 = l3 + ihl
    elif ethertype == 0x86DD and len(frame) >= l3 + 40:
        if frame[l3 + 6] != 6:
            return None
        l4 = l3 + 40
    else:
        return None
    if len(frame) < l4 + 20:
        return None
    header_len = (frame[l4 + 12] >> 4) * 4
    layout = {"flags": frame[l4 + 13], "seq": l4 + 4, "ack": l4 + 8, "checksum": l4 + 16, "sack": []}
    pos, end = l4 + 20, min(l4 + header_len, len(frame))
    while pos < end:
        kind = frame[pos]
        if kind == 0:
            break
        if kind == 1:
            pos += 1
            continue
        if pos + 1 >= end or frame[pos + 1] < 2:
            break
        length = frame[pos + 1]
        if kind == 8 and length == 10:
            layout["tsval"], layout["tsecr"] = pos + 2, pos + 6
        elif kind == 5 and (length - 2) % 8 == 0:
            layout["sack"] = [pos + 2 + 4 * i for i in range((length - 2) // 4)]
        pos += length
    return layout


def flag_text(flags):
    return "".join(name for bit, name in FLAG_NAMES if flags & bit) or "none"


def delta(before, after, offset):
    d = (struct.unpack_from("!I", after, offset)[0] - struct.unpack_from("!I", before, offset)[0]) % 2**32
    return d - 2**32 if d >= 2**31 else d


def describe(before, after, layout):
    """The field changes as text, and the set of byte offsets they account for."""
    parts, covered = [], set(range(layout["checksum"], layout["checksum"] + 2))
    for name in ("seq", "ack", "tsval", "tsecr"):
        if name in layout:
            covered.update(range(layout[name], layout[name] + 4))
            if d := delta(before, after, layout[name]):
                parts.append(f"{name} {d:+d}")
    edges = [delta(before, after, o) for o in layout["sack"]]
    for o in layout["sack"]:
        covered.update(range(o, o + 4))
    if any(edges):
        moved = f"{edges[0]:+d}" if len(set(edges)) == 1 else ",".join(f"{d:+d}" for d in edges)
        parts.append(f"sack({len(edges)}) {moved}")
    return " ".join(parts) or "=", covered


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    inputs, outputs = list(RawPcapReader(argv[0])), list(RawPcapReader(argv[1]))
    if len(inputs) != len(outputs):
        print(f"{argv[1]}: {len(outputs)} frames, but {argv[0]} has {len(inputs)}")
        return 1
    errors, base = [], None
    for index, ((before, meta_in), (after, meta_out)) in enumerate(zip(inputs, outputs)):
        t_in = meta_in.sec * 1_000_000 + meta_in.usec
        t_out = meta_out.sec * 1_000_000 + meta_out.usec
        base = t_in if base is None else base
        where = f"frame {index + 1}"
        if t_in != t_out or len(before) != len(after):
            errors.append(f"{where}: time or length differs; the files are not paired frame by frame")
            continue
        layout = tcp_layout(before)
        if layout is None:
            if before != after:
                errors.append(f"{where}: a non-TCP frame was changed")
            print(f"{(t_in - base) // 1_000_000}.{(t_in - base) % 1_000_000:06d} not-tcp {'=' if before == after else '!'}")
            continue
        text, covered = describe(before, after, layout)
        stray = [i for i in range(len(before)) if before[i] != after[i] and i not in covered]
        if stray:
            errors.append(f"{where}: bytes {stray[:8]} changed outside the translated fields")
        print(f"{(t_in - base) // 1_000_000}.{(t_in - base) % 1_000_000:06d} {flag_text(layout['flags']):<3} {text}")
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
