#include "devices/goldfish_rtc.hpp"

#include <time.h>

#include <utility>

namespace trapeze::devices {

namespace {

constexpr uint64_t TIME_LOW = 0x00;
constexpr uint64_t TIME_HIGH = 0x04;
constexpr uint64_t ALARM_LOW = 0x08;
constexpr uint64_t ALARM_HIGH = 0x0c;
constexpr uint64_t IRQ_ENABLED = 0x10;
constexpr uint64_t CLEAR_ALARM = 0x14;
constexpr uint64_t ALARM_STATUS = 0x18;
constexpr uint64_t CLEAR_INTERRUPT = 0x1c;

constexpr uint64_t kLow32 = 0xffff'ffffull;

uint64_t with_half(uint64_t v, bool high, uint32_t half) {
    if (high) return (v & kLow32) | (uint64_t{half} << 32);
    return (v & ~kLow32) | half;
}

}  // namespace

GoldfishRtc::GoldfishRtc(IrqLine& irq, HostClock host_clock)
    : m_irq(irq), m_host_clock(host_clock ? std::move(host_clock) : HostClock(&GoldfishRtc::host_realtime_ns)) {}

uint64_t GoldfishRtc::mmio_read(uint64_t offset, unsigned size) {
    if (size != 4) return 0;
    switch (offset) {
        case TIME_LOW: {
            // Latch the high half so a TIME_LOW/TIME_HIGH pair reads one consistent instant.
            const uint64_t t = now();
            m_time_high = static_cast<uint32_t>(t >> 32);
            return t & kLow32;
        }
        case TIME_HIGH:
            return m_time_high;
        case ALARM_LOW:
            return m_alarm_next & kLow32;
        case ALARM_HIGH:
            return m_alarm_next >> 32;
        case IRQ_ENABLED:
            return m_irq_enabled ? 1 : 0;
        case ALARM_STATUS:
            return m_alarm_running ? 1 : 0;
        default:
            return 0;
    }
}

void GoldfishRtc::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (size != 4) return;
    const auto v = static_cast<uint32_t>(value);
    switch (offset) {
        case TIME_LOW:
            set_time_half(false, v);
            return;
        case TIME_HIGH:
            set_time_half(true, v);
            return;
        case ALARM_LOW:
            m_alarm_next = with_half(m_alarm_next, false, v);
            arm_alarm();
            return;
        case ALARM_HIGH:
            m_alarm_next = with_half(m_alarm_next, true, v);
            return;
        case IRQ_ENABLED:
            m_irq_enabled = (v & 1) != 0;
            update_irq();
            return;
        case CLEAR_ALARM:
            m_alarm_running = false;
            return;
        case CLEAR_INTERRUPT:
            m_irq_pending = false;
            update_irq();
            return;
        default:
            return;
    }
}

void GoldfishRtc::update() {
    if (!m_alarm_running || now() < m_alarm_next) return;
    m_alarm_running = false;
    m_irq_pending = true;
    update_irq();
}

uint64_t GoldfishRtc::ns_until_alarm() const {
    if (!m_alarm_running) return UINT64_MAX;
    const uint64_t t = now();
    return t >= m_alarm_next ? 0 : m_alarm_next - t;
}

uint64_t GoldfishRtc::host_realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t GoldfishRtc::now() const {
    return m_host_clock() + m_offset;
}

// Setting one half keeps the other half of the current time (Linux writes TIME_HIGH, then
// TIME_LOW); the difference becomes the guest's offset from host time.
void GoldfishRtc::set_time_half(bool high, uint32_t value) {
    const uint64_t current = now();
    m_offset += with_half(current, high, value) - current;
}

// An alarm already in the past fires immediately, as on QEMU.
void GoldfishRtc::arm_alarm() {
    m_alarm_running = true;
    update();
}

void GoldfishRtc::update_irq() {
    const bool level = m_irq_pending && m_irq_enabled;
    if (level == m_irq_level) return;
    m_irq_level = level;
    m_irq.set_level(level);
}

void GoldfishRtc::State::write(snapshot::StateWriter& w) const {
    w.u64(offset);
    w.u32(time_high);
    w.u64(alarm_next);
    w.boolean(alarm_running);
    w.boolean(irq_pending);
    w.boolean(irq_enabled);
    w.boolean(irq_level);
}

GoldfishRtc::State GoldfishRtc::State::read(snapshot::StateReader& r) {
    State s;
    s.offset = r.u64();
    s.time_high = r.u32();
    s.alarm_next = r.u64();
    s.alarm_running = r.boolean();
    s.irq_pending = r.boolean();
    s.irq_enabled = r.boolean();
    s.irq_level = r.boolean();
    if (!r.failed() && s.irq_level != (s.irq_pending && s.irq_enabled))
        r.fail("RTC irq level does not follow from pending and enabled");
    return s;
}

GoldfishRtc::State GoldfishRtc::save() const {
    return State{m_offset, m_time_high, m_alarm_next, m_alarm_running, m_irq_pending, m_irq_enabled, m_irq_level};
}

Result<void> GoldfishRtc::restore(const State& s) {
    m_offset = s.offset;
    m_time_high = s.time_high;
    m_alarm_next = s.alarm_next;
    m_alarm_running = s.alarm_running;
    m_irq_pending = s.irq_pending;
    m_irq_enabled = s.irq_enabled;
    m_irq_level = s.irq_pending && s.irq_enabled;
    m_irq.set_level(m_irq_level);  // IrqLine has no memory: drive it whatever the level
    return ok();
}

}  // namespace trapeze::devices
