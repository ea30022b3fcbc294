#!/usr/bin/python3
"""Checks that every TCP segment in the given pcaps carries a valid checksum.

    tcp_checksums.py FILE.pcap...

For each TCP segment, scapy rebuilds the packet with the TCP checksum (and,
for IPv4, the header checksum) deleted, which makes it compute them afresh;
the stored values must equal the fresh ones. IP fragments and frames cut by
the snaplen cannot be checked and are counted as skipped. A file without a
single checkable TCP segment is an error too, so a broken graph cannot pass
by writing nothing.

Exit status: 0 when all are valid, 1 otherwise (each bad segment is listed).
"""
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import PcapReader


def fresh_checksums(frame):
    """(tcp, ip) checksums as scapy computes them; ip is None for IPv6."""
    rebuilt = frame.copy()
    del rebuilt[TCP].chksum
    if IP in rebuilt:
        del rebuilt[IP].chksum
    rebuilt = Ether(bytes(rebuilt))
    return rebuilt[TCP].chksum, rebuilt[IP].chksum if IP in rebuilt else None


def check_file(path):
    checked = skipped = 0
    bad = []
    with PcapReader(path) as reader:
        for index, frame in enumerate(reader):
            if TCP not in frame:
                continue
            if frame.wirelen is not None and frame.wirelen > len(frame):
                skipped += 1
                continue
            if IP in frame and (frame[IP].flags.MF or frame[IP].frag):
                skipped += 1
                continue
            tcp_sum, ip_sum = fresh_checksums(frame)
            checked += 1
            if frame[TCP].chksum != tcp_sum:
                bad.append(f"{path}: frame {index + 1}: TCP checksum 0x{frame[TCP].chksum:04x}, should be 0x{tcp_sum:04x}"
                           f" ({frame.summary()})")
            if ip_sum is not None and frame[IP].chksum != ip_sum:
                bad.append(f"{path}: frame {index + 1}: IPv4 header checksum 0x{frame[IP].chksum:04x},"
                           f" should be 0x{ip_sum:04x}")
    if checked == 0:
        bad.append(f"{path}: no TCP segment to check")
    return checked, skipped, bad


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        checked, skipped, bad = check_file(path)
        for line in bad:
            print(line)
        failed |= bool(bad)
        print(f"{path}: {checked} TCP segments, {len(bad)} problems, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
