#include "nodes/proto/connection_table.hh"

namespace colo {

uint32_t ConnectionTable::find(const FlowKey& key) const
{
    if (count_ == 0) return npos;
    const uint32_t h = uint32_t(key.hash());
    for (uint32_t i = h & mask();; i = (i + 1) & mask()) {
        const Slot& s = index_[i];
        if (s.id_plus1 == 0) return npos;
        if (s.hash == h && (*this)[s.id_plus1 - 1].key == key) return s.id_plus1 - 1;
    }
}

void ConnectionTable::rehash(uint32_t capacity)
{
    std::vector<Slot> old = std::move(index_);
    index_.assign(capacity, Slot{});
    for (const Slot& s : old) {
        if (s.id_plus1 == 0) continue;
        uint32_t i = s.hash & mask();
        while (index_[i].id_plus1 != 0) i = (i + 1) & mask();
        index_[i] = s;
    }
}

uint32_t ConnectionTable::insert(const FlowKey& key)
{
    // Load factor at most 1/2 keeps probe sequences short.
    if (2 * (uint64_t(count_) + 1) > index_.size()) rehash(index_.empty() ? 16 : uint32_t(index_.size() * 2));

    uint32_t id;
    if (!free_ids_.empty()) {
        id = free_ids_.back();
        free_ids_.pop_back();
    } else {
        id = ids_used_++;
        if ((id & kChunkMask) == 0) chunks_.push_back(std::make_unique<CompareConnection[]>(kChunkMask + 1));
    }
    (*this)[id].key = key;

    const uint32_t h = uint32_t(key.hash());
    uint32_t i = h & mask();
    while (index_[i].id_plus1 != 0) i = (i + 1) & mask();
    index_[i] = Slot{id + 1, h};
    ++count_;
    link(age_, &CompareConnection::by_age, id);
    link(activity_, &CompareConnection::by_activity, id);
    return id;
}

void ConnectionTable::erase(uint32_t id)
{
    const uint32_t h = uint32_t((*this)[id].key.hash());
    uint32_t hole = h & mask();
    while (index_[hole].id_plus1 != id + 1) hole = (hole + 1) & mask();
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole unless that would move them before their home slot.
    for (uint32_t j = (hole + 1) & mask(); index_[j].id_plus1 != 0; j = (j + 1) & mask()) {
        const uint32_t home = index_[j].hash & mask();
        const bool home_in_gap = ((j - home) & mask()) < ((j - hole) & mask());
        if (home_in_gap) continue;
        index_[hole] = index_[j];
        hole = j;
    }
    index_[hole] = Slot{};
    --count_;

    unlink(age_, &CompareConnection::by_age, id);
    unlink(activity_, &CompareConnection::by_activity, id);
    (*this)[id] = CompareConnection{}; // frees queues and divergence storage
    free_ids_.push_back(id);
}

void ConnectionTable::touch(uint32_t id)
{
    if (activity_.tail == id) return;
    unlink(activity_, &CompareConnection::by_activity, id);
    link(activity_, &CompareConnection::by_activity, id);
}

void ConnectionTable::link(List& list, ConnectionLinks CompareConnection::*links, uint32_t id)
{
    ((*this)[id].*links) = ConnectionLinks{list.tail, npos};
    if (list.tail != npos) ((*this)[list.tail].*links).next = id;
    else list.head = id;
    list.tail = id;
}

void ConnectionTable::unlink(List& list, ConnectionLinks CompareConnection::*links, uint32_t id)
{
    const ConnectionLinks l = (*this)[id].*links;
    if (l.prev != npos) ((*this)[l.prev].*links).next = l.next;
    else list.head = l.next;
    if (l.next != npos) ((*this)[l.next].*links).prev = l.prev;
    else list.tail = l.prev;
}

} // namespace colo
