// FlowTable<Entry>: per-connection state keyed by FlowKey, for the
// comparator's and the rewriter's connection tracking.
//
// Entries live in chunks addressed by a 32-bit id and never move. An
// open-addressing index (8 bytes per slot, linear probing, load at most 1/2,
// backward-shift deletion) maps a FlowKey to its id, and two intrusive lists
// order the entries: by insertion (scans that must walk connections in the
// order they appeared) and by last activity (eviction and idle expiry pick
// the least recently active). Entry needs the members `FlowKey key` and
// `FlowLinks by_age, by_activity`; erase() resets an entry to Entry{}.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nodes/proto/flow_key.hh"

namespace colo {

struct FlowLinks {
    uint32_t prev, next;
};

template <class Entry>
class FlowTable {
public:
    static constexpr uint32_t npos = UINT32_MAX;

    uint32_t size() const { return count_; }
    Entry& operator[](uint32_t id) { return chunks_[id >> kChunkShift][id & kChunkMask]; }
    const Entry& operator[](uint32_t id) const { return chunks_[id >> kChunkShift][id & kChunkMask]; }

    uint32_t find(const FlowKey& key) const // npos when absent
    {
        if (count_ == 0) return npos;
        const uint32_t h = uint32_t(key.hash());
        for (uint32_t i = h & mask();; i = (i + 1) & mask()) {
            const Slot& s = index_[i];
            if (s.id_plus1 == 0) return npos;
            if (s.hash == h && (*this)[s.id_plus1 - 1].key == key) return s.id_plus1 - 1;
        }
    }

    // Hints for a find() soon, with h = uint32_t(key.hash()); they change
    // nothing. In a large table the index slot and the entry are each a cache
    // miss: a caller with packets queued ahead asks for the slot a few packets
    // early, then, once the slot has arrived, for the entry it names.
    void prefetch_slot(uint32_t h) const
    {
        if (!index_.empty()) __builtin_prefetch(&index_[h & mask()]);
    }
    void prefetch_entry(uint32_t h) const
    {
        if (count_ == 0) return;
        for (uint32_t i = h & mask(); index_[i].id_plus1 != 0; i = (i + 1) & mask()) {
            if (index_[i].hash != h) continue;
            const char* e = reinterpret_cast<const char*>(&(*this)[index_[i].id_plus1 - 1]);
            for (std::size_t line = 0; line < sizeof(Entry); line += 64) __builtin_prefetch(e + line, 1);
            __builtin_prefetch(e + sizeof(Entry) - 1, 1);
            return;
        }
    }

    // Adds an absent key as the newest and most recently active entry.
    // Entries never move: ids and references to others stay valid.
    uint32_t insert(const FlowKey& key)
    {
        if (2 * (uint64_t(count_) + 1) > index_.size()) rehash(index_.empty() ? 16 : uint32_t(index_.size() * 2));
        uint32_t id;
        if (!free_ids_.empty()) {
            id = free_ids_.back();
            free_ids_.pop_back();
        } else {
            id = ids_used_++;
            if ((id & kChunkMask) == 0) chunks_.push_back(std::make_unique<Entry[]>(kChunkMask + 1));
        }
        (*this)[id].key = key;
        const uint32_t h = uint32_t(key.hash());
        uint32_t i = h & mask();
        while (index_[i].id_plus1 != 0) i = (i + 1) & mask();
        index_[i] = Slot{id + 1, h};
        ++count_;
        link(age_, &Entry::by_age, id);
        link(activity_, &Entry::by_activity, id);
        return id;
    }

    void erase(uint32_t id)
    {
        const uint32_t h = uint32_t((*this)[id].key.hash());
        uint32_t hole = h & mask();
        while (index_[hole].id_plus1 != id + 1) hole = (hole + 1) & mask();
        // Backward-shift deletion: pull later entries of the probe run into
        // the hole unless that would move them before their home slot.
        for (uint32_t j = (hole + 1) & mask(); index_[j].id_plus1 != 0; j = (j + 1) & mask()) {
            const uint32_t home = index_[j].hash & mask();
            if (((j - home) & mask()) < ((j - hole) & mask())) continue;
            index_[hole] = index_[j];
            hole = j;
        }
        index_[hole] = Slot{};
        --count_;
        unlink(age_, &Entry::by_age, id);
        unlink(activity_, &Entry::by_activity, id);
        (*this)[id] = Entry{}; // frees what the entry owns
        free_ids_.push_back(id);
    }

    void touch(uint32_t id) // now the most recently active
    {
        if (activity_.tail == id) return;
        unlink(activity_, &Entry::by_activity, id);
        link(activity_, &Entry::by_activity, id);
    }

    // Oldest first by insertion / by last activity; npos ends.
    uint32_t oldest() const { return age_.head; }
    uint32_t next_by_age(uint32_t id) const { return (*this)[id].by_age.next; }
    uint32_t least_active() const { return activity_.head; }
    uint32_t next_by_activity(uint32_t id) const { return (*this)[id].by_activity.next; }
    uint32_t most_active() const { return activity_.tail; }
    uint32_t prev_by_activity(uint32_t id) const { return (*this)[id].by_activity.prev; }

private:
    // 256 entries per chunk: the waste is bounded by one chunk, small against
    // the tens of thousands of connections a guest may open.
    static constexpr uint32_t kChunkShift = 8;
    static constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;

    struct List {
        uint32_t head = npos, tail = npos;
    };
    struct Slot {
        uint32_t id_plus1 = 0; // 0: empty
        uint32_t hash = 0;     // low 32 bits of the key hash; also gives the home slot
    };

    uint32_t mask() const { return uint32_t(index_.size() - 1); }

    void rehash(uint32_t capacity)
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

    void link(List& list, FlowLinks Entry::*links, uint32_t id)
    {
        ((*this)[id].*links) = FlowLinks{list.tail, npos};
        if (list.tail != npos) ((*this)[list.tail].*links).next = id;
        else list.head = id;
        list.tail = id;
    }

    void unlink(List& list, FlowLinks Entry::*links, uint32_t id)
    {
        const FlowLinks l = (*this)[id].*links;
        if (l.prev != npos) ((*this)[l.prev].*links).next = l.next;
        else list.head = l.next;
        if (l.next != npos) ((*this)[l.next].*links).prev = l.prev;
        else list.tail = l.prev;
    }

    std::vector<std::unique_ptr<Entry[]>> chunks_;
    uint32_t ids_used_ = 0; // ids below this were handed out at least once
    std::vector<uint32_t> free_ids_;
    std::vector<Slot> index_;
    uint32_t count_ = 0;
    List age_, activity_;
};

} // namespace colo
