#include "devices/sifive_test.hpp"

#include <utility>

namespace trapeze::devices {

SifiveTest::SifiveTest(Callback on_event) : m_on_event(std::move(on_event)) {}

uint64_t SifiveTest::mmio_read(uint64_t /*offset*/, unsigned /*size*/) {
    return 0;
}

void SifiveTest::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (offset != 0 || size != 4 || !m_on_event) return;
    const auto status = static_cast<uint32_t>(value & 0xffff);
    const auto code = static_cast<uint16_t>((value >> 16) & 0xffff);
    switch (status) {
        case FINISHER_PASS:
            m_on_event(Event::Poweroff, 0);
            return;
        case FINISHER_RESET:
            m_on_event(Event::Reset, 0);
            return;
        case FINISHER_FAIL:
            m_on_event(Event::Fail, code);
            return;
        default:
            return;
    }
}

}  // namespace trapeze::devices
