#include "nodes/proto/checksum.hh"

namespace colo {

uint64_t ones_complement_add(uint64_t sum, const uint8_t* data, std::size_t len)
{
    std::size_t i = 0;
    for (; i + 1 < len; i += 2) sum += load_be16(data + i);
    if (i < len) sum += uint64_t(data[i]) << 8;
    return sum;
}

uint16_t fold_ones_complement(uint64_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(sum);
}

uint16_t internet_checksum(const uint8_t* data, std::size_t len)
{
    return uint16_t(~fold_ones_complement(ones_complement_add(0, data, len)));
}

uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value)
{
    uint64_t sum = uint16_t(~checksum);
    sum += uint16_t(~old_value);
    sum += new_value;
    return uint16_t(~fold_ones_complement(sum));
}

namespace {
// Swaps the bytes inside each 16-bit half. In one's-complement arithmetic a
// byte swap is multiplication by 256 (mod 0xffff), so a field at an odd
// offset contributes exactly its swapped value.
uint32_t swap_bytes_in_halves(uint32_t v)
{
    return (v & 0x00ff00ffu) << 8 | (v >> 8 & 0x00ff00ffu);
}
} // namespace

uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value, bool odd_offset)
{
    if (odd_offset) {
        old_value = swap_bytes_in_halves(old_value);
        new_value = swap_bytes_in_halves(new_value);
    }
    uint64_t sum = uint16_t(~checksum);
    sum += uint16_t(~(old_value >> 16)) + uint16_t(~old_value);
    sum += (new_value >> 16) + (new_value & 0xffff);
    return uint16_t(~fold_ones_complement(sum));
}

std::optional<uint16_t> l4_checksum(const uint8_t* data, const ParsedFrame& f)
{
    if (!(f.is_tcp() || f.is_udp()) || f.ip_len_mismatch) return std::nullopt;
    const uint32_t l4_len = f.l3_end - f.l4_off;
    const uint32_t field = f.l4_off + l4_checksum_field(f.l4_proto);

    uint64_t sum = 0;
    if (f.ip_version == 4) {
        sum = ones_complement_add(sum, f.src.data(), 4);
        sum = ones_complement_add(sum, f.dst.data(), 4);
        sum += f.l4_proto;
        sum += l4_len;
    } else {
        sum = ones_complement_add(sum, f.src.data(), 16);
        sum = ones_complement_add(sum, f.dst.data(), 16);
        sum += l4_len >> 16;
        sum += l4_len & 0xffff;
        sum += f.l4_proto;
    }
    sum = ones_complement_add(sum, data + f.l4_off, field - f.l4_off);
    sum = ones_complement_add(sum, data + field + 2, f.l3_end - field - 2);
    const uint16_t value = uint16_t(~fold_ones_complement(sum));
    return (value == 0 && f.l4_proto == 17) ? uint16_t(0xffff) : value;
}

bool l4_checksum_ok(const uint8_t* data, const ParsedFrame& f)
{
    const auto expected = l4_checksum(data, f);
    if (!expected) return false;
    const uint16_t stored = load_be16(data + f.l4_off + l4_checksum_field(f.l4_proto));
    if (f.l4_proto == 17 && f.ip_version == 4 && stored == 0) return true;
    // 0x0000 and 0xffff are the two one's-complement zeros.
    const bool both_zero = (stored == 0 || stored == 0xffff) && (*expected == 0 || *expected == 0xffff);
    return stored == *expected || both_zero;
}

} // namespace colo
