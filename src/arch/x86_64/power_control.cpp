#include "arch/x86_64/power_control.hpp"

namespace trapeze::x86 {

void PowerControl::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    (void)size;
    if (offset != 0) return;  // the sleep status register: write-1-to-clear, nothing to clear
    const auto v = static_cast<uint8_t>(value);
    const auto slp_typ = static_cast<uint8_t>((v >> 2) & 7);
    if ((v & kSlpEn) != 0 && slp_typ == kS5SleepType) report(PowerEvent::PowerOff);
}

void PowerControl::I8042Window::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (offset == 0 && size == 1 && static_cast<uint8_t>(value) == kI8042Reset) m_owner.report(PowerEvent::Reset);
}

void PowerControl::report(PowerEvent e) {
    if (m_reported) return;
    m_reported = true;
    if (m_on_event) m_on_event(e);
}

}  // namespace trapeze::x86
