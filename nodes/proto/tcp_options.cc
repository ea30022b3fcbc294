#include "nodes/proto/tcp_options.hh"

namespace colo {

TcpOptionScan scan_tcp_options(const uint8_t* data, uint32_t begin, uint32_t end)
{
    TcpOptionScan scan;
    uint32_t i = begin;
    while (i < end) {
        const uint8_t kind = data[i];
        if (kind == tcpopt::EOL) break;
        if (kind == tcpopt::NOP) {
            ++i;
            continue;
        }
        if (i + 1 >= end) {
            scan.malformed = true;
            break;
        }
        const uint8_t len = data[i + 1];
        if (len < 2 || len > end - i) {
            scan.malformed = true;
            break;
        }
        if (kind == tcpopt::TIMESTAMP) {
            if (len != tcpopt::kTimestampLen || scan.tsval_off) {
                scan.malformed = true;
                break;
            }
            scan.tsval_off = i + 2;
        } else if (kind == tcpopt::SACK) {
            const uint32_t blocks = (len - 2u) / tcpopt::kSackBlockLen;
            const bool whole_blocks = (len - 2u) % tcpopt::kSackBlockLen == 0;
            if (!whole_blocks || blocks == 0 || blocks > tcpopt::kMaxSackBlocks || scan.sack_off) {
                scan.malformed = true;
                break;
            }
            scan.sack_off = i + 2;
            scan.sack_blocks = uint8_t(blocks);
        }
        i += len;
    }
    if (scan.malformed) {
        scan.tsval_off.reset();
        scan.sack_off.reset();
        scan.sack_blocks = 0;
    }
    return scan;
}

TcpOptionScan scan_tcp_options(const uint8_t* data, const ParsedFrame& f)
{
    if (!f.is_tcp()) return {};
    return scan_tcp_options(data, f.l4_off + 20, f.payload_off);
}

} // namespace colo
