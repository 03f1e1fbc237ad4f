// FakeGuest: plays the virtio driver for unit tests. It owns a small guest RAM, lays out a
// split virtqueue in it (descriptor table, available and used rings, §2.7), allocates buffers,
// builds ordinary and indirect chains, and drives a VirtioMmioTransport through the §3.1.1
// initialisation sequence — so tests read like a driver. Helpers for malformed input write
// raw descriptors.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "memory/guest_memory.hpp"
#include "virtio/split_virtqueue.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio::test {

inline constexpr uint64_t kRamBase = 0x8000'0000;
inline constexpr uint64_t kRamSize = 1 << 20;

// One buffer of a chain, as the driver sees it.
struct Buf {
    Gpa gpa;
    uint32_t len;
    bool writable;
};

struct UsedElem {
    uint32_t id;
    uint32_t len;
};

class FakeGuest {
public:
    explicit FakeGuest(uint16_t queue_size = 16)
        : mem(GuestMemory::create(Gpa(kRamBase), kRamSize).value()) {
        layout.size = queue_size;
        layout.desc = Gpa(kRamBase);
        layout.avail = Gpa(kRamBase + 0x8000);
        layout.used = Gpa(kRamBase + 0x10000);
        m_next_data = kRamBase + 0x20000;
    }

    GuestMemory mem;
    QueueLayout layout;

    // Buffers come from a bump allocator above the rings.
    Gpa alloc(uint64_t len) {
        const Gpa g(m_next_data);
        m_next_data += (len + 15) & ~uint64_t{15};
        return g;
    }
    Buf readable(std::vector<uint8_t> bytes) {
        const Gpa g = alloc(bytes.size());
        write(g, bytes);
        return {g, static_cast<uint32_t>(bytes.size()), false};
    }
    Buf writable(uint32_t len) {
        const Gpa g = alloc(len);
        std::vector<uint8_t> fill(len, 0xee);  // poison, so tests see what the device wrote
        write(g, fill);
        return {g, len, true};
    }

    template <typename T>
    void put(Gpa g, T v) {
        std::memcpy(mem.span(g, sizeof v).data(), &v, sizeof v);
    }
    template <typename T>
    T get(Gpa g) const {
        T v{};
        std::memcpy(&v, mem.span(g, sizeof v).data(), sizeof v);
        return v;
    }
    void write(Gpa g, const std::vector<uint8_t>& bytes) { require(mem.write(g, bytes)); }
    std::vector<uint8_t> read(Gpa g, uint64_t len) const {
        std::vector<uint8_t> out(len);
        (void)mem.read(g, out);
        return out;
    }

    // Writes descriptor `i` of the table at `table` (the queue's table by default).
    void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next, Gpa table = Gpa()) {
        const Gpa t = table.value != 0 ? table : layout.desc;
        const Gpa d = t + 16ull * i;
        put<uint64_t>(d, addr);
        put<uint32_t>(d + 8, len);
        put<uint16_t>(d + 12, flags);
        put<uint16_t>(d + 14, next);
    }

    // Builds a chain from the next free descriptors; returns its head (not yet published).
    uint16_t add_chain(const std::vector<Buf>& bufs) {
        const uint16_t head = m_next_desc;
        size_t n = 0;
        for (const Buf& b : bufs) {
            const auto i = static_cast<uint16_t>(m_next_desc++ % layout.size);
            const bool last = ++n == bufs.size();
            const uint16_t flags = static_cast<uint16_t>((b.writable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT));
            set_desc(i, b.gpa.value, b.len, flags, static_cast<uint16_t>((i + 1) % layout.size));
        }
        return static_cast<uint16_t>(head % layout.size);
    }

    // Builds an indirect table holding the chain and one descriptor pointing at it.
    uint16_t add_indirect_chain(const std::vector<Buf>& bufs) {
        const Gpa table = alloc(16 * bufs.size());
        uint16_t i = 0;
        for (const Buf& b : bufs) {
            const bool last = i + 1u == bufs.size();
            const uint16_t flags = static_cast<uint16_t>((b.writable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT));
            set_desc(i, b.gpa.value, b.len, flags, static_cast<uint16_t>(i + 1), table);
            ++i;
        }
        const uint16_t head = static_cast<uint16_t>(m_next_desc++ % layout.size);
        set_desc(head, table.value, static_cast<uint32_t>(16 * bufs.size()), VIRTQ_DESC_F_INDIRECT, 0);
        return head;
    }

    // Puts `head` in the available ring and bumps avail->idx (§2.7.13).
    void publish(uint16_t head) {
        put<uint16_t>(layout.avail + 4 + 2ull * (m_avail_idx % layout.size), head);
        set_avail_idx(++m_avail_idx);
    }
    void set_avail_idx(uint16_t idx) {
        m_avail_idx = idx;
        put<uint16_t>(layout.avail + 2, idx);
    }
    void set_avail_flags(uint16_t flags) { put<uint16_t>(layout.avail, flags); }
    void set_used_event(uint16_t v) { put<uint16_t>(layout.avail + 4 + 2ull * layout.size, v); }
    uint16_t avail_event() const { return get<uint16_t>(layout.used + 4 + 8ull * layout.size); }
    uint16_t used_idx() const { return get<uint16_t>(layout.used + 2); }
    UsedElem used(uint16_t i) const {
        const Gpa e = layout.used + 4 + 8ull * (i % layout.size);
        return {get<uint32_t>(e), get<uint32_t>(e + 4)};
    }

    // The §3.1.1 driver initialisation through the transport's registers. Returns the status read
    // back after FEATURES_OK (so tests can see a refusal) and stops there if it was refused.
    uint32_t init(VirtioMmioTransport& t, uint64_t features, bool ready = true) {
        t.mmio_write(0x070, 0, 4);
        t.mmio_write(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
        t.mmio_write(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 4);
        t.mmio_write(0x024, 0, 4);
        t.mmio_write(0x020, features & 0xffff'ffff, 4);
        t.mmio_write(0x024, 1, 4);
        t.mmio_write(0x020, features >> 32, 4);
        uint32_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
        t.mmio_write(0x070, status, 4);
        const auto got = static_cast<uint32_t>(t.mmio_read(0x070, 4));
        if ((got & VIRTIO_CONFIG_S_FEATURES_OK) == 0) return got;
        t.mmio_write(0x030, 0, 4);
        t.mmio_write(0x038, layout.size, 4);
        t.mmio_write(0x080, layout.desc.value & 0xffff'ffff, 4);
        t.mmio_write(0x084, layout.desc.value >> 32, 4);
        t.mmio_write(0x090, layout.avail.value & 0xffff'ffff, 4);
        t.mmio_write(0x094, layout.avail.value >> 32, 4);
        t.mmio_write(0x0a0, layout.used.value & 0xffff'ffff, 4);
        t.mmio_write(0x0a4, layout.used.value >> 32, 4);
        if (ready) t.mmio_write(0x044, 1, 4);
        t.mmio_write(0x070, status | VIRTIO_CONFIG_S_DRIVER_OK, 4);
        return static_cast<uint32_t>(t.mmio_read(0x070, 4));
    }
    static void notify(VirtioMmioTransport& t, uint16_t queue = 0) { t.mmio_write(0x050, queue, 4); }

private:
    static void require(bool ok) {
        if (!ok) std::abort();
    }

    uint64_t m_next_data;
    uint16_t m_next_desc = 0;
    uint16_t m_avail_idx = 0;
};

}  // namespace trapeze::virtio::test
