// RingGuest: plays a virtio driver with several split virtqueues (§2.7) in a small guest RAM,
// and hands a device its queues directly (ActivateContext), without a transport — so device
// tests read like a driver posting buffers and reading the used rings. RecordingSignals
// records what the device asks of its transport.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "memory/guest_memory.hpp"
#include "virtio/split_virtqueue.hpp"
#include "virtio/virtio_device.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio::test {

class RecordingSignals final : public VirtioSignals {
public:
    void notify_used(uint16_t index) override { used.push_back(index); }
    void config_changed() override { ++config_changes; }
    void needs_reset(std::string_view why) override { reset_reason = std::string(why); }

    std::vector<uint16_t> used;
    int config_changes = 0;
    std::string reset_reason;
};

struct Buf {
    Gpa gpa;
    uint32_t len;
    bool writable;
};

struct UsedElem {
    uint32_t id;
    uint32_t len;
};

class RingGuest {
public:
    static constexpr uint64_t kRamBase = 0x8000'0000;
    static constexpr uint64_t kRamSize = 4 << 20;

    explicit RingGuest(unsigned queues, uint16_t queue_size = 16)
        : mem(GuestMemory::create(Gpa(kRamBase), kRamSize).value()), m_rings(queues) {
        uint64_t at = kRamBase;
        for (Ring& r : m_rings) {
            r.layout.size = queue_size;
            r.layout.desc = Gpa(at);
            r.layout.avail = Gpa(at + 0x4000);
            r.layout.used = Gpa(at + 0x8000);
            at += 0x10000;
        }
        m_next_data = at;
    }

    GuestMemory mem;
    RecordingSignals signals;

    // DRIVER_OK: every queue enabled, `features` negotiated.
    void activate(VirtioDevice& dev, uint64_t features = kCommonFeatures) {
        m_vqs.clear();
        m_queue_ptrs.clear();
        const bool event_idx = (features & feature_bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
        for (const Ring& r : m_rings) m_vqs.push_back(std::make_unique<SplitVirtqueue>(mem, r.layout, event_idx));
        for (auto& vq : m_vqs) m_queue_ptrs.push_back(vq.get());
        dev.activate(ActivateContext{mem, features, m_queue_ptrs, signals});
    }

    Gpa alloc(uint64_t len) {
        const Gpa g(m_next_data);
        m_next_data += (len + 15) & ~uint64_t{15};
        if (m_next_data > kRamBase + kRamSize) std::abort();
        return g;
    }
    Buf readable(const std::vector<uint8_t>& bytes) {
        const Gpa g = alloc(bytes.size());
        write(g, bytes);
        return {g, static_cast<uint32_t>(bytes.size()), false};
    }
    Buf writable(uint32_t len) {
        const Gpa g = alloc(len);
        write(g, std::vector<uint8_t>(len, 0xee));  // poison, so tests see what the device wrote
        return {g, len, true};
    }
    void write(Gpa g, const std::vector<uint8_t>& bytes) {
        if (!mem.write(g, bytes)) std::abort();
    }
    std::vector<uint8_t> read(Gpa g, uint64_t len) const {
        std::vector<uint8_t> out(len);
        (void)mem.read(g, out);
        return out;
    }

    // Writes a chain of `bufs` into queue `q`'s descriptor table and publishes it (§2.7.13).
    uint16_t post(uint16_t q, const std::vector<Buf>& bufs) {
        Ring& r = m_rings[q];
        const auto head = static_cast<uint16_t>(r.next_desc % r.layout.size);
        for (size_t n = 0; n < bufs.size(); ++n) {
            const auto i = static_cast<uint16_t>(r.next_desc++ % r.layout.size);
            const bool last = n + 1 == bufs.size();
            const auto flags = static_cast<uint16_t>((bufs[n].writable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT));
            set_desc(q, i, bufs[n].gpa.value, bufs[n].len, flags, static_cast<uint16_t>((i + 1) % r.layout.size));
        }
        publish(q, head);
        return head;
    }
    void set_desc(uint16_t q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
        const Gpa d = m_rings[q].layout.desc + 16ull * i;
        put<uint64_t>(d, addr);
        put<uint32_t>(d + 8, len);
        put<uint16_t>(d + 12, flags);
        put<uint16_t>(d + 14, next);
    }
    void publish(uint16_t q, uint16_t head) {
        Ring& r = m_rings[q];
        put<uint16_t>(r.layout.avail + 4 + 2ull * (r.avail_idx % r.layout.size), head);
        ++r.avail_idx;
        put<uint16_t>(r.layout.avail + 2, r.avail_idx);
    }

    const QueueLayout& layout(uint16_t q) const { return m_rings[q].layout; }
    uint16_t used_idx(uint16_t q) const { return get<uint16_t>(m_rings[q].layout.used + 2); }
    UsedElem used(uint16_t q, uint16_t i) const {
        const Gpa e = m_rings[q].layout.used + 4 + 8ull * (i % m_rings[q].layout.size);
        return {get<uint32_t>(e), get<uint32_t>(e + 4)};
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

private:
    struct Ring {
        QueueLayout layout;
        uint16_t next_desc = 0;
        uint16_t avail_idx = 0;
    };

    std::vector<Ring> m_rings;
    std::vector<std::unique_ptr<SplitVirtqueue>> m_vqs;
    std::vector<SplitVirtqueue*> m_queue_ptrs;
    uint64_t m_next_data;
};

}  // namespace trapeze::virtio::test
