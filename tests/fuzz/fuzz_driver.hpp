// FuzzDriver: a virtio driver for the device fuzz targets (net, console) whose every move
// comes from the fuzz input. It drives a VirtioMmioTransport in front of the device through
// the §3.1.1 initialisation, posts descriptor chains (direct or indirect, §2.7.5) the way a
// driver does, notifies, acknowledges interrupts, resets — and also writes raw bytes anywhere
// in the rings, so malformed queues are as reachable as well-formed ones.
//
// Guest RAM is 64 MiB at GPA 0 (large, so that a chain of buffers covering all of RAM many
// times over is possible; sparse, so a run costs only the pages written: fuzz::DirtyPages).
// Queue q (0 or 1) has its descriptor table at q * 0x4000, available ring at + 0x1000, used
// ring at + 0x2000 (room for 256 entries); indirect tables go at 0x10000 + q * 0x8000.
//
// Ops shared by the targets (op byte, then operands; see run_op):
//   0 post a chain   op bit 3: queue; u8 n-1 (descriptors); u32 addr; u16 stride; u32 len;
//                    u8 first writable descriptor; u8 flags (bit 0 indirect, bit 1 notify)
//   1 notify         queue (op >> 3) & 3 (2 and 3 do not exist)
//   2 raw RAM write  u16 offset (in the first 64 KiB: the rings), u8 n, n bytes
//   5 reset          Status = 0, then the §3.1.1 initialisation again (init's operands)
//   6 interrupts     u8: InterruptACK value; reads InterruptStatus
//   7 avail idx      op bit 3: queue; u16 written to avail->idx (a driver running ahead)
// Ops 3 (the host side: input, backend frames) and 4 (the device's EventSource::poll) belong
// to the target: run_op returns false for them.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_guest.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::fuzz {

class FuzzDriver {
public:
    static constexpr uint64_t kRamSize = 64ull << 20;
    static constexpr unsigned kQueues = 2;
    static constexpr uint64_t kQueueStride = 0x4000;
    static constexpr uint64_t kIndirectBase = 0x10000;
    static constexpr uint64_t kRingBytes = 0x10000;  // what op 2 may write

    static GuestMemory& ram() {
        static GuestMemory& mem = make_guarded_ram(Gpa(0), kRamSize);
        return mem;
    }

    // A fresh transport for `device` in front of a RAM left clean by the previous run.
    explicit FuzzDriver(std::unique_ptr<virtio::VirtioDevice> device) : m_mem(ram()), m_pages(dirty_pages()) {
        m_pages.clear();
        m_irq.connect([this](bool level) { m_level = level; });
        m_t = std::make_unique<virtio::VirtioMmioTransport>(m_mem, m_irq, std::move(device));
    }

    virtio::VirtioMmioTransport& transport() { return *m_t; }
    GuestMemory& mem() { return m_mem; }

    // §3.1.1 with operands from the input: u8 feature choice (bit 0 drops EVENT_IDX, bit 1
    // drops INDIRECT_DESC, bit 2 sets a device feature bit the device did not offer), then per
    // queue u8 size code (size 1 << (code % 10): up to 512, above some devices' maximum).
    void init(ByteReader& in) {
        write32(Status, 0);
        const uint8_t choice = in.u8();
        uint64_t features = m_t->device().device_features();
        if ((choice & 1) != 0) features &= ~virtio::feature_bit(virtio::VIRTIO_RING_F_EVENT_IDX);
        if ((choice & 2) != 0) features &= ~virtio::feature_bit(virtio::VIRTIO_RING_F_INDIRECT_DESC);
        if ((choice & 4) != 0) features |= virtio::feature_bit(23);  // refused at FEATURES_OK
        write32(Status, virtio::VIRTIO_CONFIG_S_ACKNOWLEDGE | virtio::VIRTIO_CONFIG_S_DRIVER);
        write32(DriverFeaturesSel, 0);
        write32(DriverFeatures, static_cast<uint32_t>(features));
        write32(DriverFeaturesSel, 1);
        write32(DriverFeatures, static_cast<uint32_t>(features >> 32));
        const uint32_t status =
            virtio::VIRTIO_CONFIG_S_ACKNOWLEDGE | virtio::VIRTIO_CONFIG_S_DRIVER | virtio::VIRTIO_CONFIG_S_FEATURES_OK;
        write32(Status, status);
        for (unsigned q = 0; q < kQueues; ++q) setup_queue(q, static_cast<uint16_t>(1u << (in.u8() % 10)));
        write32(Status, status | virtio::VIRTIO_CONFIG_S_DRIVER_OK);
    }

    // The shared ops; false for an op the target handles itself.
    bool run_op(uint8_t op, ByteReader& in) {
        switch (op % 8) {
            case 0: post_chain((op >> 3) & 1, in); return true;
            case 1: notify((op >> 3) & 3); return true;
            case 2: poke_rings(in); return true;
            case 5: init(in); return true;
            case 6:
                write32(InterruptACK, in.u8());
                (void)m_t->mmio_read(InterruptStatus, 4);
                return true;
            case 7: set_avail_idx((op >> 3) & 1, in.u16()); return true;
            default: return false;
        }
    }

    void notify(unsigned q) { write32(QueueNotify, q); }

    // Runs the rest of the input as ops: op % 8 == 4 polls the device's host side (`poll()`),
    // the shared ops run here, any other goes to `host_op(op, in)`; `check()` after every op,
    // together with the driver's own check.
    template <typename Poll, typename HostOp, typename Check>
    void run(ByteReader& in, Poll poll, HostOp host_op, Check check_device) {
        init(in);
        while (!in.empty()) {
            const uint8_t op = in.u8();
            if (op % 8 == 4)
                poll();
            else if (!run_op(op, in))
                host_op(op, in);
            check();
            check_device();
        }
    }

    // What holds after every op: the line is high exactly while InterruptStatus != 0.
    void check() const {
        if (m_level != (m_t->interrupt_status() != 0)) __builtin_trap();
    }

private:
    // Register offsets, virtio 1.2 §4.2.2.
    static constexpr uint64_t DriverFeatures = 0x020;
    static constexpr uint64_t DriverFeaturesSel = 0x024;
    static constexpr uint64_t QueueSel = 0x030;
    static constexpr uint64_t QueueNum = 0x038;
    static constexpr uint64_t QueueReady = 0x044;
    static constexpr uint64_t QueueNotify = 0x050;
    static constexpr uint64_t InterruptStatus = 0x060;
    static constexpr uint64_t InterruptACK = 0x064;
    static constexpr uint64_t Status = 0x070;
    static constexpr uint64_t QueueDescLow = 0x080;
    static constexpr uint64_t QueueDriverLow = 0x090;
    static constexpr uint64_t QueueDeviceLow = 0x0a0;

    struct Ring {
        uint16_t size = 0;
        uint16_t next_desc = 0;
        uint16_t avail_idx = 0;
    };

    static DirtyPages& dirty_pages() {
        static DirtyPages pages(ram());
        return pages;
    }
    static uint64_t desc_addr(unsigned q) { return q * kQueueStride; }
    static uint64_t avail_addr(unsigned q) { return q * kQueueStride + 0x1000; }
    static uint64_t used_addr(unsigned q) { return q * kQueueStride + 0x2000; }

    void write32(uint64_t offset, uint32_t v) { m_t->mmio_write(offset, v, 4); }

    template <typename T>
    void put(uint64_t gpa, T v) {
        (void)m_mem.write(Gpa(gpa), {reinterpret_cast<const uint8_t*>(&v), sizeof v});
    }

    void setup_queue(unsigned q, uint16_t size) {
        m_rings[q] = Ring{size, 0, 0};
        std::vector<uint8_t> zero(kQueueStride, 0);  // a driver starts from clean rings
        (void)m_mem.write(Gpa(desc_addr(q)), zero);
        write32(QueueSel, q);
        write32(QueueNum, size);
        write32(QueueDescLow, static_cast<uint32_t>(desc_addr(q)));
        write32(QueueDriverLow, static_cast<uint32_t>(avail_addr(q)));
        write32(QueueDeviceLow, static_cast<uint32_t>(used_addr(q)));
        write32(QueueReady, 1);
    }

    void put_desc(uint64_t at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
        put<uint64_t>(at, addr);
        put<uint32_t>(at + 8, len);
        put<uint16_t>(at + 12, flags);
        put<uint16_t>(at + 14, next);
    }

    // §2.7.13: descriptors first, then the ring entry, then idx.
    void post_chain(unsigned q, ByteReader& in) {
        Ring& r = m_rings[q];
        const unsigned n = 1u + in.u8() % 64u;
        const uint64_t addr = in.u32();
        const uint16_t stride = in.u16();
        const uint32_t len = in.u32();
        const unsigned first_writable = in.u8();
        const uint8_t flags = in.u8();
        if (r.size == 0) return;
        const auto head = static_cast<uint16_t>(r.next_desc % r.size);
        const auto flag_of = [&](unsigned i) {
            const uint16_t w = i >= first_writable ? virtio::VIRTQ_DESC_F_WRITE : 0;
            return static_cast<uint16_t>(w | (i + 1 < n ? virtio::VIRTQ_DESC_F_NEXT : 0));
        };
        if ((flags & 1) != 0) {
            // §2.7.5.3: one descriptor naming a table; the table's entries chain by index.
            const uint64_t table = kIndirectBase + q * 0x8000 + (head % 8) * 0x1000;
            for (unsigned i = 0; i < n; ++i)
                put_desc(table + 16ull * i, addr + uint64_t{stride} * i, len, flag_of(i), static_cast<uint16_t>(i + 1));
            put_desc(desc_addr(q) + 16ull * head, table, 16 * n, virtio::VIRTQ_DESC_F_INDIRECT, 0);
            ++r.next_desc;
        } else {
            for (unsigned i = 0; i < n; ++i) {
                const auto slot = static_cast<uint16_t>(r.next_desc++ % r.size);
                put_desc(desc_addr(q) + 16ull * slot, addr + uint64_t{stride} * i, len, flag_of(i),
                         static_cast<uint16_t>(r.next_desc % r.size));
            }
        }
        put<uint16_t>(avail_addr(q) + 4 + 2ull * (r.avail_idx % r.size), head);
        set_avail_idx(q, static_cast<uint16_t>(r.avail_idx + 1));
        if ((flags & 2) != 0) notify(q);
    }

    void set_avail_idx(unsigned q, uint16_t idx) {
        m_rings[q].avail_idx = idx;
        put<uint16_t>(avail_addr(q) + 2, idx);
    }

    void poke_rings(ByteReader& in) {
        const uint64_t offset = in.u16() % kRingBytes;
        const auto bytes = in.bytes(in.u8());
        (void)m_mem.write(Gpa(offset), bytes);  // may run past kRingBytes: still RAM
    }

    GuestMemory& m_mem;
    DirtyPages& m_pages;
    IrqLine m_irq;
    bool m_level = false;
    std::unique_ptr<virtio::VirtioMmioTransport> m_t;
    Ring m_rings[kQueues];
};

}  // namespace trapeze::fuzz
