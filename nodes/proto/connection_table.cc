#include "nodes/proto/connection_table.hh"

namespace colo {

uint32_t ConnectionTable::find(const FlowKey& key) const
{
    if (count_ == 0) return npos;
    const uint32_t h = uint32_t(key.hash());
    for (uint32_t i = h & mask();; i = (i + 1) & mask()) {
        const Slot& s = index_[i];
        if (s.id_plus1 == 0) return npos;
        if (s.hash == h && slab_[s.id_plus1 - 1].key == key) return s.id_plus1 - 1;
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
        id = uint32_t(slab_.size());
        slab_.emplace_back();
    }
    slab_[id].key = key;

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
    const uint32_t h = uint32_t(slab_[id].key.hash());
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
    slab_[id] = CompareConnection{}; // frees queues and divergence storage
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
    (slab_[id].*links) = ConnectionLinks{list.tail, npos};
    if (list.tail != npos) (slab_[list.tail].*links).next = id;
    else list.head = id;
    list.tail = id;
}

void ConnectionTable::unlink(List& list, ConnectionLinks CompareConnection::*links, uint32_t id)
{
    const ConnectionLinks l = slab_[id].*links;
    if (l.prev != npos) (slab_[l.prev].*links).next = l.next;
    else list.head = l.next;
    if (l.next != npos) (slab_[l.next].*links).prev = l.prev;
    else list.tail = l.prev;
}

} // namespace colo
