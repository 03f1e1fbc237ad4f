// libFuzzer target: the virtio-mmio register file (virtio 1.2 §4.2.2) in front of a real
// device, driven by a sequence of register accesses.
//
// Input:
//   byte 0          bit 0 picks the device: 0 virtio-rng (one queue), 1 virtio-console (two)
//   u16 n, n bytes  the start of guest RAM (64 KiB at GPA 0, so small ring addresses are RAM)
//   then accesses until the input ends, each an op byte and its operands:
//     op & 3 == 0   register write: u8 register (offset = 4 * (u8 % 64)), u32 value
//     op & 3 == 1   register read:  u8 register
//     op & 3 == 2   config access at 0x100 + u8, size 1 << ((op >> 2) & 3), a write of u64
//                   value if op bit 4 is set, else a read
//     op & 3 == 3   any access: u16 offset (% 0x200), u8 size (any, even invalid ones),
//                   a write of u64 value if op bit 2 is set, else a read
//
// Each input gets a fresh transport and device (no state leaks between inputs). Besides the
// sanitizers and RAM's guard pages, the run checks what a driver can rely on:
//   * the identification registers never change (§4.2.2);
//   * the interrupt line is high exactly while InterruptStatus != 0, which holds only bits
//     0 and 1;
//   * a queue that reads ready has the size the driver last wrote while it was not ready, a
//     power of two not above QueueNumMax, and rings inside RAM (§4.2.3.2, §2.7);
//   * FEATURES_OK reads set only for an offered feature subset with VERSION_1 (§2.2.2);
//   * NEEDS_RESET is cleared only by a reset, and a reset clears status and interrupts;
//   * every write the device reports lies inside RAM (fuzz::DirtyPages).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_guest.hpp"
#include "virtio/console/virtio_console.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_rng.hpp"
#include "virtio/virtio_spec.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

namespace {

// Register offsets, virtio 1.2 §4.2.2.
constexpr uint64_t MagicValue = 0x000;
constexpr uint64_t Version = 0x004;
constexpr uint64_t DeviceID = 0x008;
constexpr uint64_t VendorID = 0x00c;
constexpr uint64_t QueueSel = 0x030;
constexpr uint64_t QueueNumMax = 0x034;
constexpr uint64_t QueueNum = 0x038;
constexpr uint64_t QueueReady = 0x044;
constexpr uint64_t Status = 0x070;
constexpr uint64_t QueueDescLow = 0x080;
constexpr uint64_t QueueDriverLow = 0x090;
constexpr uint64_t QueueDeviceLow = 0x0a0;

constexpr uint64_t kRamSize = 64 * 1024;
constexpr uint32_t kIrqBits = VirtioMmioTransport::VIRTIO_MMIO_INT_VRING | VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

GuestMemory& ram() {
    static GuestMemory& mem = fuzz::make_guarded_ram(Gpa(0), kRamSize);
    return mem;
}

std::unique_ptr<VirtioDevice> make_device(bool console) {
    if (!console) return std::make_unique<VirtioRng>();
    return std::make_unique<VirtioConsole>([](std::span<const uint8_t> out) {
        // Touch every byte, so a span that is not real memory faults here.
        require(!out.empty());
        volatile uint8_t sum = 0;
        for (const uint8_t b : out) sum = static_cast<uint8_t>(sum + b);
    });
}

// One driver session against a fresh transport, with the model of what the driver wrote.
class Session {
public:
    Session(GuestMemory& mem, std::unique_ptr<VirtioDevice> device) : m_mem(mem) {
        m_irq.connect([this](bool level) { m_level = level; });
        m_device_id = device->device_id();
        m_device_features = device->device_features();
        m_t = std::make_unique<VirtioMmioTransport>(mem, m_irq, std::move(device));
        m_num.resize(m_t->device().queue_count());
        reset_model();
    }

    void write_register(uint64_t offset, uint32_t value) {
        const bool was_ready = reg(QueueReady) != 0;
        const uint32_t status_before = m_t->status();
        m_t->mmio_write(offset, value, 4);
        if (offset == QueueSel) m_sel = value;
        if (offset == QueueNum && !was_ready && m_sel < m_num.size()) m_num[m_sel] = value;
        if (offset == Status) check_status_write(value, status_before);
        if (offset == QueueReady && value != 0 && !was_ready && reg(QueueReady) != 0) check_ready_queue();
    }

    uint32_t reg(uint64_t offset) { return static_cast<uint32_t>(m_t->mmio_read(offset, 4)); }
    void access(uint64_t offset, uint64_t value, unsigned size, bool write) {
        if (write && offset < 0x100) {
            if (size == 4 && offset % 4 == 0) return write_register(offset, static_cast<uint32_t>(value));
            m_t->mmio_write(offset, value, size);  // §4.2.2: ignored
            return;
        }
        if (write) return m_t->mmio_write(offset, value, size);
        (void)m_t->mmio_read(offset, size);
    }

    // What holds after any access.
    void check() {
        require(m_level == (m_t->interrupt_status() != 0));
        require((m_t->interrupt_status() & ~kIrqBits) == 0);
        if ((m_t->status() & VIRTIO_CONFIG_S_FEATURES_OK) != 0) {
            require((m_t->driver_features() & ~m_device_features) == 0);
            require((m_t->driver_features() & feature_bit(VIRTIO_F_VERSION_1)) != 0);
        }
    }

    void check_identity() {
        require(reg(MagicValue) == VirtioMmioTransport::kMagicValue);
        require(reg(Version) == VirtioMmioTransport::kVersion);
        require(reg(DeviceID) == m_device_id);
        require(reg(VendorID) == VirtioMmioTransport::kVendorId);
    }

private:
    void reset_model() {
        m_sel = 0;
        for (size_t i = 0; i < m_num.size(); ++i) m_num[i] = m_t->device().queue_max_size(static_cast<uint16_t>(i));
    }

    void check_status_write(uint32_t value, uint32_t status_before) {
        if (value == 0) {  // §4.2.2: a reset
            require(m_t->status() == 0 && m_t->interrupt_status() == 0);
            reset_model();
            return;
        }
        // §2.1.2: only the device clears NEEDS_RESET, and only on a reset.
        if ((status_before & VIRTIO_CONFIG_S_NEEDS_RESET) != 0)
            require((m_t->status() & VIRTIO_CONFIG_S_NEEDS_RESET) != 0);
    }

    // §4.2.3.2, §2.7: the queue the driver just enabled is the one it described.
    void check_ready_queue() {
        require(m_sel < m_num.size());
        const uint32_t num = m_num[m_sel];
        require(num <= reg(QueueNumMax) && std::has_single_bit(num) && reg(QueueNum) == num);
        QueueLayout layout;
        layout.size = static_cast<uint16_t>(num);
        layout.desc = Gpa(reg(QueueDescLow) | uint64_t{reg(QueueDescLow + 4)} << 32);
        layout.avail = Gpa(reg(QueueDriverLow) | uint64_t{reg(QueueDriverLow + 4)} << 32);
        layout.used = Gpa(reg(QueueDeviceLow) | uint64_t{reg(QueueDeviceLow + 4)} << 32);
        const bool event_idx = (m_t->driver_features() & feature_bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
        require(SplitVirtqueue::check_layout(m_mem, layout, event_idx) == QueueError::None);
    }

    GuestMemory& m_mem;
    IrqLine m_irq;
    bool m_level = false;
    uint32_t m_device_id = 0;
    uint64_t m_device_features = 0;
    std::unique_ptr<VirtioMmioTransport> m_t;
    uint32_t m_sel = 0;
    std::vector<uint32_t> m_num;  // per queue: the size the driver last wrote while not ready
};

void run_access(Session& s, fuzz::ByteReader& in) {
    const uint8_t op = in.u8();
    switch (op & 3) {
        case 0: {
            const uint64_t offset = 4u * (in.u8() % 64u);
            s.write_register(offset, in.u32());
            return;
        }
        case 1: (void)s.reg(4u * (in.u8() % 64u)); return;
        case 2: {
            const uint64_t offset = 0x100u + in.u8();
            const unsigned size = 1u << ((op >> 2) & 3);
            const bool write = (op & 0x10) != 0;
            s.access(offset, write ? in.u64() : 0, size, write);
            return;
        }
        default: {
            const uint64_t offset = in.u16() % VirtioMmioTransport::kWindowSize;
            const unsigned size = in.u8();
            const bool write = (op & 4) != 0;
            s.access(offset, write ? in.u64() : 0, size, write);
            return;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::ByteReader in(data, size);
    const bool console = (in.u8() & 1) != 0;
    GuestMemory& mem = ram();
    const auto image = in.bytes(in.u16());
    fuzz::load_ram(mem, image.data(), image.size());
    fuzz::DirtyPages writes(mem);  // checks every write the device reports
    Session s(mem, make_device(console));
    s.check_identity();
    while (!in.empty()) {
        run_access(s, in);
        s.check();
    }
    s.check_identity();
    return 0;
}
