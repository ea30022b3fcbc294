"""Small pcap writer for the CLI tests: no scapy, fast enough for 100,000
flows. `python3 pcapfile.py KIND OUT [N]` writes one of the kinds below."""
import struct
import sys


def header(linktype=1):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)


def record(ts_us, frame):
    return struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)) + frame


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_frame(src_port, dst_port, payload, src_ip=(10, 0, 0, 2), dst_ip=(10, 0, 0, 1)):
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src_ip), bytes(dst_ip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("525400abcdef525400123456") + b"\x08\x00"
    return eth + ip + udp


def main():
    kind, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    t0 = 1_700_000_000_000_000
    with open(out, "wb") as f:
        if kind == "raw-linktype":          # LINKTYPE_RAW (101): not Ethernet
            f.write(header(101))
            f.write(record(t0, udp_frame(1, 2, b"x")[14:]))
        elif kind == "flows":               # n distinct UDP flows, 10 µs apart
            f.write(header())
            for i in range(n):
                f.write(record(t0 + 10 * i, udp_frame(1024 + i % 60000, 9 + i // 60000, b"flow%08d" % i)))
        elif kind == "one-flow":            # n packets of one UDP flow, 10 µs apart
            f.write(header())
            for i in range(n):
                f.write(record(t0 + 10 * i, udp_frame(5000, 53, b"pkt%08d" % i)))
        elif kind == "empty":
            f.write(header())
        else:
            raise SystemExit("unknown kind " + kind)


if __name__ == "__main__":
    main()
