#include "virtio/virtio_mmio_transport.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "base/log.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

namespace {

// Register offsets, virtio 1.2 §4.2.2 (names as in the spec's table).
constexpr uint64_t MagicValue = 0x000;
constexpr uint64_t Version = 0x004;
constexpr uint64_t DeviceID = 0x008;
constexpr uint64_t VendorID = 0x00c;
constexpr uint64_t DeviceFeatures = 0x010;
constexpr uint64_t DeviceFeaturesSel = 0x014;
constexpr uint64_t DriverFeatures = 0x020;
constexpr uint64_t DriverFeaturesSel = 0x024;
constexpr uint64_t QueueSel = 0x030;
constexpr uint64_t QueueNumMax = 0x034;
constexpr uint64_t QueueNum = 0x038;
constexpr uint64_t QueueReady = 0x044;
constexpr uint64_t QueueNotify = 0x050;
constexpr uint64_t InterruptStatus = 0x060;
constexpr uint64_t InterruptACK = 0x064;
constexpr uint64_t Status = 0x070;
constexpr uint64_t QueueDescLow = 0x080;
constexpr uint64_t QueueDescHigh = 0x084;
constexpr uint64_t QueueDriverLow = 0x090;
constexpr uint64_t QueueDriverHigh = 0x094;
constexpr uint64_t QueueDeviceLow = 0x0a0;
constexpr uint64_t QueueDeviceHigh = 0x0a4;
constexpr uint64_t SHMSel = 0x0ac;
constexpr uint64_t SHMLenLow = 0x0b0;
constexpr uint64_t SHMLenHigh = 0x0b4;
constexpr uint64_t SHMBaseLow = 0x0b8;
constexpr uint64_t SHMBaseHigh = 0x0bc;
constexpr uint64_t ConfigGeneration = 0x0fc;
constexpr uint64_t Config = 0x100;

constexpr uint64_t kLow32 = 0xffff'ffffull;

void set_half(Gpa& addr, bool high, uint32_t v) {
    addr.value = high ? (addr.value & kLow32) | (uint64_t{v} << 32) : (addr.value & ~kLow32) | v;
}

constexpr uint32_t kInterruptBits =
    VirtioMmioTransport::VIRTIO_MMIO_INT_VRING | VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG;

// Device type names, virtio 1.2 §5.
std::string device_name(uint32_t id) {
    switch (id) {
        case 1: return "virtio-net";
        case VIRTIO_ID_BLOCK: return "virtio-blk";
        case 3: return "virtio-console";
        case VIRTIO_ID_RNG: return "virtio-rng";
        default: return fmt::format("virtio device type {}", id);
    }
}

void write_queue(snapshot::StateWriter& w, const VirtioMmioTransport::State::Queue& q) {
    w.u32(q.num);
    w.boolean(q.ready);
    w.u16(q.layout.size);
    w.u64(q.layout.desc.value);
    w.u64(q.layout.avail.value);
    w.u64(q.layout.used.value);
    w.boolean(q.positions.has_value());
    if (q.positions) q.positions->write(w);
}

VirtioMmioTransport::State::Queue read_queue(snapshot::StateReader& r) {
    VirtioMmioTransport::State::Queue q;
    q.num = r.u32();
    q.ready = r.boolean();
    q.layout.size = r.u16();
    q.layout.desc = Gpa(r.u64());
    q.layout.avail = Gpa(r.u64());
    q.layout.used = Gpa(r.u64());
    if (r.boolean()) q.positions = QueuePositions::read(r);
    if (!r.failed() && q.ready != q.positions.has_value()) r.fail("a ready queue without positions, or the reverse");
    return q;
}

constexpr size_t kQueueStateMinBytes = 4 + 1 + 2 + 3 * 8 + 1;

}  // namespace

VirtioMmioTransport::VirtioMmioTransport(GuestMemory& memory, IrqLine& irq, std::unique_ptr<VirtioDevice> device)
    : m_memory(memory), m_irq(irq), m_device(std::move(device)) {
    m_queues.resize(m_device->queue_count());
    m_active.assign(m_queues.size(), nullptr);
    reset();
}

VirtioMmioTransport::~VirtioMmioTransport() {
    if (m_activated) m_device->reset();
}

uint64_t VirtioMmioTransport::mmio_read(uint64_t offset, unsigned size) {
    if (offset >= Config) return read_config(offset - Config, size);
    // §4.2.2: registers take 32-bit aligned accesses only.
    if (size != 4 || offset % 4 != 0) return 0;
    return read_register(offset);
}

void VirtioMmioTransport::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (offset >= Config) {
        write_config(offset - Config, value, size);
        return;
    }
    if (size != 4 || offset % 4 != 0) return;
    write_register(offset, static_cast<uint32_t>(value));
}

uint32_t VirtioMmioTransport::read_register(uint64_t offset) {
    Queue* q = selected_queue();
    switch (offset) {
        case MagicValue: return kMagicValue;
        case Version: return kVersion;
        case DeviceID: return m_device->device_id();
        case VendorID: return kVendorId;
        case DeviceFeatures:
            if (m_device_features_sel > 1) return 0;
            return static_cast<uint32_t>(m_device->device_features() >> (32 * m_device_features_sel));
        case QueueNumMax: return q != nullptr ? m_device->queue_max_size(static_cast<uint16_t>(m_queue_sel)) : 0;
        case QueueNum: return q != nullptr ? q->num : 0;
        case QueueReady: return q != nullptr && q->ready ? 1 : 0;
        case InterruptStatus: return m_interrupt_status;
        case Status: return m_status;
        case QueueDescLow: return q != nullptr ? static_cast<uint32_t>(q->layout.desc.value) : 0;
        case QueueDescHigh: return q != nullptr ? static_cast<uint32_t>(q->layout.desc.value >> 32) : 0;
        case QueueDriverLow: return q != nullptr ? static_cast<uint32_t>(q->layout.avail.value) : 0;
        case QueueDriverHigh: return q != nullptr ? static_cast<uint32_t>(q->layout.avail.value >> 32) : 0;
        case QueueDeviceLow: return q != nullptr ? static_cast<uint32_t>(q->layout.used.value) : 0;
        case QueueDeviceHigh: return q != nullptr ? static_cast<uint32_t>(q->layout.used.value >> 32) : 0;
        // §4.2.2: no shared memory regions; a non-existent region has length (and base) -1.
        case SHMLenLow:
        case SHMLenHigh:
        case SHMBaseLow:
        case SHMBaseHigh: return 0xffff'ffffu;
        case ConfigGeneration: return m_config_generation;
        default: return 0;
    }
}

void VirtioMmioTransport::write_register(uint64_t offset, uint32_t value) {
    Queue* q = selected_queue();
    // §4.2.3.2: queue registers may only change while the queue is not ready.
    Queue* writable_q = q != nullptr && !q->ready ? q : nullptr;
    switch (offset) {
        case DeviceFeaturesSel: m_device_features_sel = value; return;
        case DriverFeatures:
            // §3.1.1 step 5: features are written after DRIVER and before FEATURES_OK.
            if ((m_status & VIRTIO_CONFIG_S_FEATURES_OK) != 0 || m_driver_features_sel > 1) return;
            m_driver_features = (m_driver_features & ~(kLow32 << (32 * m_driver_features_sel))) |
                                (uint64_t{value} << (32 * m_driver_features_sel));
            return;
        case DriverFeaturesSel: m_driver_features_sel = value; return;
        case QueueSel: m_queue_sel = value; return;
        case QueueNum:
            // Kept whole: a size above 65535 must be refused at QueueReady, not truncated into range.
            if (writable_q != nullptr) writable_q->num = value;
            return;
        case QueueReady: set_queue_ready(value != 0); return;
        case QueueNotify: {
            const auto index = static_cast<uint16_t>(value);  // no VIRTIO_F_NOTIFICATION_DATA
            if (!m_activated || (m_status & VIRTIO_CONFIG_S_NEEDS_RESET) != 0) return;
            if (index >= m_active.size() || m_active[index] == nullptr) return;
            m_device->process_queue(index);
            return;
        }
        case InterruptACK:
            m_interrupt_status &= ~value;
            update_irq();
            return;
        case Status: write_status(value); return;
        case QueueDescLow:
        case QueueDescHigh:
            if (writable_q != nullptr) set_half(writable_q->layout.desc, offset == QueueDescHigh, value);
            return;
        case QueueDriverLow:
        case QueueDriverHigh:
            if (writable_q != nullptr) set_half(writable_q->layout.avail, offset == QueueDriverHigh, value);
            return;
        case QueueDeviceLow:
        case QueueDeviceHigh:
            if (writable_q != nullptr) set_half(writable_q->layout.used, offset == QueueDeviceHigh, value);
            return;
        case SHMSel:
        default: return;
    }
}

uint64_t VirtioMmioTransport::read_config(uint64_t offset, unsigned size) const {
    if (size != 1 && size != 2 && size != 4 && size != 8) return 0;
    std::array<uint8_t, 8> bytes{};
    m_device->read_config(offset, std::span(bytes).first(size));
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= uint64_t{bytes[i]} << (8 * i);  // config is little-endian
    return v;
}

void VirtioMmioTransport::write_config(uint64_t offset, uint64_t value, unsigned size) {
    if (size != 1 && size != 2 && size != 4 && size != 8) return;
    std::array<uint8_t, 8> bytes{};
    for (unsigned i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    m_device->write_config(offset, std::span<const uint8_t>(bytes).first(size));
}

void VirtioMmioTransport::write_status(uint32_t value) {
    if (value == 0) {  // §4.2.2: writing 0 resets the device
        reset();
        return;
    }
    const uint32_t added = value & ~m_status;
    // NEEDS_RESET is the device's bit; the driver cannot clear it (only a reset does).
    uint32_t next = (value & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (m_status & VIRTIO_CONFIG_S_NEEDS_RESET);
    // §2.2.2: FEATURES_OK sticks only if the device accepts the driver's feature subset.
    if ((added & VIRTIO_CONFIG_S_FEATURES_OK) != 0 && !features_acceptable()) next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    m_status = next;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) != 0 && (m_status & VIRTIO_CONFIG_S_FEATURES_OK) != 0 && !m_activated)
        activate();
}

bool VirtioMmioTransport::features_acceptable() const {
    // Only offered bits, and VIRTIO_F_VERSION_1: this is a modern-only device (§6.1).
    if ((m_driver_features & ~m_device->device_features()) != 0) return false;
    return (m_driver_features & feature_bit(VIRTIO_F_VERSION_1)) != 0;
}

void VirtioMmioTransport::set_queue_ready(bool ready) {
    Queue* q = selected_queue();
    if (q == nullptr) return;
    if (!ready) {
        q->ready = false;
        q->vq.reset();
        m_active[m_queue_sel] = nullptr;
        return;
    }
    if (q->ready) return;
    const bool event_idx = (m_driver_features & feature_bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
    const uint16_t max = m_device->queue_max_size(static_cast<uint16_t>(m_queue_sel));
    QueueLayout layout = q->layout;
    layout.size = static_cast<uint16_t>(std::min<uint32_t>(q->num, max));
    // §4.2.3.2 / §2.7: the size must not exceed QueueNumMax and must be a power of two
    // (check_layout); a bad one leaves QueueReady at 0 and the device needing a reset.
    if (q->num > max || SplitVirtqueue::check_layout(m_memory, layout, event_idx) != QueueError::None) {
        needs_reset(fmt::format("queue {}: size {} (max {}) or ring addresses {:#x}/{:#x}/{:#x} invalid", m_queue_sel,
                                q->num, max, layout.desc.value, layout.avail.value, layout.used.value));
        return;
    }
    q->vq.emplace(m_memory, layout, event_idx);
    q->layout.size = layout.size;  // as built: what a snapshot rebuilds
    q->ready = true;
    m_active[m_queue_sel] = &*q->vq;
}

void VirtioMmioTransport::activate() {
    m_activated = true;
    m_device->activate(ActivateContext{m_memory, m_driver_features, m_active, *this});
}

void VirtioMmioTransport::reset() {
    if (m_activated) m_device->reset();
    m_activated = false;
    for (size_t i = 0; i < m_queues.size(); ++i) {
        Queue& q = m_queues[i];
        q.vq.reset();
        q.ready = false;
        q.layout = QueueLayout{};
        q.num = m_device->queue_max_size(static_cast<uint16_t>(i));
        m_active[i] = nullptr;
    }
    m_device_features_sel = 0;
    m_driver_features_sel = 0;
    m_driver_features = 0;
    m_queue_sel = 0;
    m_status = 0;
    m_interrupt_status = 0;
    update_irq();
}

VirtioMmioTransport::Queue* VirtioMmioTransport::selected_queue() {
    return m_queue_sel < m_queues.size() ? &m_queues[m_queue_sel] : nullptr;
}

void VirtioMmioTransport::set_interrupt(uint32_t bits) {
    m_interrupt_status |= bits;
    update_irq();
}

void VirtioMmioTransport::update_irq() {
    const bool level = m_interrupt_status != 0;
    if (level == m_irq_level) return;
    m_irq_level = level;
    m_irq.set_level(level);
}

void VirtioMmioTransport::notify_used(uint16_t index) {
    if (index >= m_active.size() || m_active[index] == nullptr) return;
    if (m_active[index]->needs_notification()) set_interrupt(VIRTIO_MMIO_INT_VRING);
}

void VirtioMmioTransport::config_changed() {
    ++m_config_generation;
    if ((m_status & VIRTIO_CONFIG_S_DRIVER_OK) != 0) set_interrupt(VIRTIO_MMIO_INT_CONFIG);
}

void VirtioMmioTransport::needs_reset(std::string_view why) {
    if ((m_status & VIRTIO_CONFIG_S_NEEDS_RESET) != 0) return;
    if (!m_reset_logged) {
        // Once per transport: a guest must not be able to flood the host's log.
        spdlog::warn("virtio-mmio device {}: guest error, device needs reset: {}", m_device->device_id(), why);
        m_reset_logged = true;
    }
    m_status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    // §2.1.2: with DRIVER_OK set, NEEDS_RESET comes with a configuration change notification.
    if ((m_status & VIRTIO_CONFIG_S_DRIVER_OK) != 0) set_interrupt(VIRTIO_MMIO_INT_CONFIG);
}

void VirtioMmioTransport::State::write(snapshot::StateWriter& w) const {
    w.u32(device_id);
    w.u32(device_features_sel);
    w.u32(driver_features_sel);
    w.u64(driver_features);
    w.u32(queue_sel);
    w.u32(status);
    w.u32(interrupt_status);
    w.u32(config_generation);
    w.boolean(activated);
    w.boolean(irq_level);
    w.boolean(reset_logged);
    w.u32(static_cast<uint32_t>(queues.size()));
    for (const Queue& q : queues) write_queue(w, q);
    w.bytes(device);
}

VirtioMmioTransport::State VirtioMmioTransport::State::read(snapshot::StateReader& r) {
    State s;
    s.device_id = r.u32();
    s.device_features_sel = r.u32();
    s.driver_features_sel = r.u32();
    s.driver_features = r.u64();
    s.queue_sel = r.u32();
    s.status = r.u32();
    s.interrupt_status = r.u32();
    s.config_generation = r.u32();
    s.activated = r.boolean();
    s.irq_level = r.boolean();
    s.reset_logged = r.boolean();
    s.queues.resize(r.count(UINT16_MAX, kQueueStateMinBytes));
    for (Queue& q : s.queues) q = read_queue(r);
    s.device = r.bytes(kMaxDeviceStateBytes);
    if (r.failed()) return s;
    if ((s.interrupt_status & ~kInterruptBits) != 0 || s.irq_level != (s.interrupt_status != 0))
        r.fail(fmt::format("interrupt status {:#x} or irq level invalid", s.interrupt_status));
    else if (s.activated && s.status == 0)
        r.fail("an activated device with status 0");
    return s;
}

VirtioMmioTransport::State VirtioMmioTransport::save() const {
    State s;
    s.device_id = m_device->device_id();
    s.device_features_sel = m_device_features_sel;
    s.driver_features_sel = m_driver_features_sel;
    s.driver_features = m_driver_features;
    s.queue_sel = m_queue_sel;
    s.status = m_status;
    s.interrupt_status = m_interrupt_status;
    s.config_generation = m_config_generation;
    s.activated = m_activated;
    s.irq_level = m_irq_level;
    s.reset_logged = m_reset_logged;
    for (const Queue& q : m_queues) {
        s.queues.push_back({q.num, q.ready, q.layout, {}});
        if (q.vq) s.queues.back().positions = q.vq->positions();
    }
    snapshot::StateWriter w;
    m_device->save_state(w);
    s.device = w.take();
    return s;
}

Result<void> VirtioMmioTransport::check(const State& s) const {
    if (s.device_id != m_device->device_id())
        return make_error("virtio slot holds a {}, the snapshot has a {}", device_name(m_device->device_id()),
                          device_name(s.device_id));
    if (s.queues.size() != m_queues.size())
        return make_error("{}: the snapshot has {} queues, the device {}", device_name(s.device_id), s.queues.size(),
                          m_queues.size());
    // The negotiated features must still be on offer (a disk now read-only offers no DISCARD).
    if ((s.status & VIRTIO_CONFIG_S_FEATURES_OK) != 0 && (s.driver_features & ~m_device->device_features()) != 0)
        return make_error("{}: negotiated features {:#x} are not all offered ({:#x})", device_name(s.device_id),
                          s.driver_features, m_device->device_features());
    const bool event_idx = (s.driver_features & feature_bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
    for (size_t i = 0; i < s.queues.size(); ++i) {
        const State::Queue& q = s.queues[i];
        const uint16_t max = m_device->queue_max_size(static_cast<uint16_t>(i));
        if (q.layout.size > max || (q.ready && (q.num != q.layout.size || !q.positions)))
            return make_error("{} queue {}: size {} (num {}, max {}) invalid", device_name(s.device_id), i,
                              q.layout.size, q.num, max);
        if (!q.ready) continue;
        if (SplitVirtqueue::check_layout(m_memory, q.layout, event_idx) != QueueError::None)
            return make_error("{} queue {}: ring addresses {:#x}/{:#x}/{:#x} invalid in this RAM",
                              device_name(s.device_id), i, q.layout.desc.value, q.layout.avail.value,
                              q.layout.used.value);
        SplitVirtqueue probe(m_memory, q.layout, event_idx);
        TRAPEZE_TRY(probe.set_positions(*q.positions).context(fmt::format("{} queue {}", device_name(s.device_id), i)));
    }
    return ok();
}

Result<void> VirtioMmioTransport::restore(const State& s) {
    TRAPEZE_TRY(check(s));
    reset();
    m_device_features_sel = s.device_features_sel;
    m_driver_features_sel = s.driver_features_sel;
    m_driver_features = s.driver_features;
    m_queue_sel = s.queue_sel;
    const bool event_idx = (m_driver_features & feature_bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
    for (size_t i = 0; i < m_queues.size(); ++i) {
        Queue& q = m_queues[i];
        const State::Queue& saved = s.queues[i];
        q.num = saved.num;
        q.ready = saved.ready;
        q.layout = saved.layout;
        if (!q.ready) continue;
        q.vq.emplace(m_memory, q.layout, event_idx);
        TRAPEZE_TRY(q.vq->set_positions(*saved.positions));  // check() tried these already
        m_active[i] = &*q.vq;
    }
    m_status = s.status;
    if (s.activated) activate();
    snapshot::StateReader device_state(s.device, device_name(s.device_id) + " state");
    TRAPEZE_TRY(m_device->restore_state(device_state));
    // Set last: activation is not the driver's doing and must leave no trace here.
    m_status = s.status;
    m_interrupt_status = s.interrupt_status;
    m_config_generation = s.config_generation;
    m_reset_logged = s.reset_logged;
    m_irq_level = m_interrupt_status != 0;
    m_irq.set_level(m_irq_level);  // IrqLine has no memory: drive it whatever the level
    return ok();
}

void VirtioMmioTransport::kick() {
    for (size_t i = 0; i < m_active.size(); ++i) {
        // As a QueueNotify: only while active, and not once the device needs a reset.
        if (!m_activated || (m_status & VIRTIO_CONFIG_S_NEEDS_RESET) != 0) return;
        if (m_active[i] != nullptr) m_device->process_queue(static_cast<uint16_t>(i));
    }
}

}  // namespace trapeze::virtio
