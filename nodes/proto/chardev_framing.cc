#include "nodes/proto/chardev_framing.hh"

#include <algorithm>
#include <cstring>
#include <optional>

namespace colo {

// ---------------------------------------------------------------- decoder

bool FrameDecoder::feed(std::span<const uint8_t> input, uint64_t ts_ns, std::vector<Packet>& out)
{
    return feed_from(input.data(), input.data() + input.size(), nullptr, ts_ns, out);
}

bool FrameDecoder::feed(const BufRef& chunk, uint32_t offset, uint32_t n, uint64_t ts_ns, std::vector<Packet>& out)
{
    const uint8_t* p = chunk.get()->data() + offset;
    return feed_from(p, p + n, &chunk, ts_ns, out);
}

bool FrameDecoder::feed_from(const uint8_t* p, const uint8_t* const end, const BufRef* chunk, uint64_t ts_ns,
                             std::vector<Packet>& out)
{
    std::optional<BufRef::Sharer> sharer; // the chunk's references, counted at the end
    if (chunk) sharer.emplace(*chunk);
    while (p < end) {
        switch (state_) {
        case State::failed: return false;

        case State::header: {
            const auto avail = std::size_t(end - p);
            if (header_have_ == 0 && avail >= header_len_) {
                // Common case: the whole header is in this read, parse in place.
                on_header(p);
                p += header_len_;
            } else {
                const auto n = std::min<std::size_t>(header_len_ - header_have_, avail);
                std::memcpy(header_buf_.data() + header_have_, p, n);
                header_have_ += uint32_t(n);
                p += n;
                if (header_have_ == header_len_) {
                    header_have_ = 0;
                    on_header(header_buf_.data());
                }
            }
            break;
        }

        case State::payload: {
            if (!packet_.buf) {
                if (chunk && std::size_t(end - p) >= record_len_) {
                    packet_.buf = sharer->next();
                    packet_.head = uint32_t(p - chunk->get()->data());
                    p += record_len_;
                    finish_payload(ts_ns, out);
                    break;
                }
                packet_ = Packet::with_capacity(record_len_);
            }
            const auto n = std::min<std::size_t>(record_len_ - payload_have_, std::size_t(end - p));
            std::memcpy(packet_.buf.get()->data() + payload_have_, p, n);
            payload_have_ += uint32_t(n);
            p += n;
            if (payload_have_ == record_len_) finish_payload(ts_ns, out);
            break;
        }

        case State::skip: {
            const auto n = std::min<std::size_t>(record_len_ - payload_have_, std::size_t(end - p));
            payload_have_ += uint32_t(n);
            p += n;
            if (payload_have_ == record_len_) state_ = State::header;
            break;
        }
        }
    }
    return state_ != State::failed;
}

void FrameDecoder::on_header(const uint8_t* header)
{
    record_len_ = load_be32(header);
    record_vnet_ = header_len_ == 8 ? load_be32(header + 4) : 0;
    payload_have_ = 0;

    if (record_len_ == 0) {
        ++counters_.zero_length;
        return; // stay in State::header
    }
    if (record_len_ > kMaxFrameLen) {
        ++counters_.oversize;
        state_ = State::failed;
        return;
    }
    if (record_vnet_ > record_len_ || record_vnet_ > kMaxVnetHdrLen) {
        ++counters_.bad_vnet;
        state_ = State::skip;
        return;
    }
    state_ = State::payload;
}

void FrameDecoder::finish_payload(uint64_t ts_ns, std::vector<Packet>& out)
{
    packet_.len = record_len_;
    packet_.vnet_len = record_vnet_;
    packet_.ts_ns = ts_ns;
    ++counters_.frames;
    counters_.bytes += record_len_;
    out.push_back(std::move(packet_));
    packet_ = Packet{};
    state_ = State::header;
}

std::string FrameDecoder::error() const
{
    if (state_ != State::failed) return {};
    return "oversized record (" + std::to_string(record_len_) + " bytes > " + std::to_string(kMaxFrameLen) + ")";
}

bool FrameDecoder::mid_record() const
{
    return header_have_ > 0 || state_ == State::payload || state_ == State::skip;
}

void FrameDecoder::reset()
{
    state_ = State::header;
    header_have_ = 0;
    record_len_ = 0;
    record_vnet_ = 0;
    payload_have_ = 0;
    packet_ = Packet{};
}

// ---------------------------------------------------------------- encoder

bool FrameEncoder::push(Packet packet)
{
    if (packet.len == 0) {
        ++skipped_empty_;
        return false;
    }
    if (packet.len > kMaxFrameLen) {
        ++skipped_oversize_;
        return false;
    }
    Record& r = records_.emplace_back();
    store_be32(r.header.data(), packet.len);
    if (header_len_ == 8) store_be32(r.header.data() + 4, packet.vnet_len);
    pending_wire_bytes_ += header_len_ + packet.len;
    pending_payload_bytes_ += packet.len;
    r.packet = std::move(packet);
    return true;
}

// A packet decoded from a read chunk still has, just before its bytes, the
// header it came with; when that is the header it goes out with (same LEN and
// VNET_LEN), the record is written from where it lies, and records read
// together go out as one iovec, as they came in.
const uint8_t* FrameEncoder::wire_in_place(const Record& r) const
{
    if (r.packet.head < header_len_) return nullptr;
    const uint8_t* const wire = r.packet.data() - header_len_;
    return std::memcmp(wire, r.header.data(), header_len_) == 0 ? wire : nullptr;
}

std::size_t FrameEncoder::fill_iov(std::span<iovec> iov)
{
    if (!gather_) gather_ = std::make_unique<uint8_t[]>(kGatherBytes);
    std::size_t used = 0, gathered = 0;
    auto ends_at = [&](const uint8_t* p) {
        return used > 0 && static_cast<uint8_t*>(iov[used - 1].iov_base) + iov[used - 1].iov_len == p;
    };
    // Adds bytes that stay where they are, extending the last entry when it
    // ends there. False when there is no entry left.
    auto point = [&](const uint8_t* p, std::size_t n) {
        if (ends_at(p)) {
            iov[used - 1].iov_len += n;
        } else {
            if (used == iov.size()) return false;
            iov[used++] = {const_cast<uint8_t*>(p), n};
        }
        return true;
    };
    // Appends bytes to the gather buffer, extending the last entry when it
    // ends there. False when there is no room: the entries so far stand.
    auto gather = [&](const uint8_t* p, std::size_t n) {
        uint8_t* const at = gather_.get() + gathered;
        if (gathered + n > kGatherBytes || !point(at, n)) return false;
        std::memcpy(at, p, n);
        gathered += n;
        return true;
    };
    std::size_t offset = head_offset_;
    const uint8_t* wire = head_ < records_.size() ? wire_in_place(records_[head_]) : nullptr;
    for (std::size_t i = head_; i < records_.size(); ++i, offset = 0) {
        const Record& r = records_[i];
        const uint8_t* const next_wire = i + 1 < records_.size() ? wire_in_place(records_[i + 1]) : nullptr;
        const uint8_t* const end = r.packet.data() + r.packet.len;
        // In place: a large record always (one entry instead of two), a small
        // one when it joins the entry before or after (else it is gathered).
        if (wire && (r.packet.len > kGatherRecord || ends_at(wire + offset) || next_wire == end)) {
            if (!point(wire + offset, header_len_ + r.packet.len - offset)) break;
            wire = next_wire;
            continue;
        }
        wire = next_wire;
        if (offset < header_len_) {
            if (!gather(r.header.data() + offset, header_len_ - offset)) break;
            offset = header_len_;
        }
        const uint8_t* const payload = r.packet.data() + (offset - header_len_);
        const std::size_t left = r.packet.len - (offset - header_len_);
        if (r.packet.len <= kGatherRecord) {
            if (!gather(payload, left)) break;
        } else {
            if (!point(payload, left)) break;
        }
    }
    return used;
}

FrameEncoder::Records FrameEncoder::advance(std::size_t bytes)
{
    Records done;
    BufRef::Releaser released; // the buffers go back to the pool now
    pending_wire_bytes_ -= bytes;
    while (bytes > 0) {
        Record& r = records_[head_];
        const std::size_t left = header_len_ + r.packet.len - head_offset_;
        if (bytes < left) {
            head_offset_ += bytes;
            break;
        }
        bytes -= left;
        ++done.count;
        done.payload_bytes += r.packet.len;
        pending_payload_bytes_ -= r.packet.len;
        released.drop(std::move(r.packet.buf));
        ++head_;
        head_offset_ = 0;
    }
    if (head_ == records_.size()) {
        records_.clear(); // keeps capacity: no allocation in steady state
        head_ = 0;
    } else if (head_ >= 1024 && head_ * 2 >= records_.size()) {
        // A writer that never fully drains must not grow the vector forever.
        records_.erase(records_.begin(), records_.begin() + std::ptrdiff_t(head_));
        head_ = 0;
    }
    return done;
}

FrameEncoder::Records FrameEncoder::clear()
{
    const Records dropped{pending_records(), pending_payload_bytes_};
    records_.clear();
    head_ = 0;
    head_offset_ = 0;
    pending_wire_bytes_ = 0;
    pending_payload_bytes_ = 0;
    return dropped;
}

} // namespace colo
