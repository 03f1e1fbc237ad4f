#include "devices/sifive_test.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>

namespace trapeze {
namespace {

using Event = devices::SifiveTest::Event;

class SifiveTest : public ::testing::Test {
protected:
    std::optional<std::pair<Event, uint16_t>> last;
    devices::SifiveTest dev{[this](Event e, uint16_t code) { last = {e, code}; }};
};

TEST_F(SifiveTest, PassCodePowersOff) {
    dev.mmio_write(0, 0x5555, 4);
    EXPECT_EQ(last, std::make_pair(Event::Poweroff, uint16_t{0}));
}

TEST_F(SifiveTest, ResetCodeResets) {
    dev.mmio_write(0, 0x7777, 4);
    EXPECT_EQ(last, std::make_pair(Event::Reset, uint16_t{0}));
}

TEST_F(SifiveTest, FailCodeCarriesTheExitCodeInTheHighHalf) {
    dev.mmio_write(0, (42u << 16) | 0x3333, 4);
    EXPECT_EQ(last, std::make_pair(Event::Fail, uint16_t{42}));
}

TEST_F(SifiveTest, IgnoresOtherValuesOffsetsAndSizes) {
    dev.mmio_write(0, 0x1234, 4);
    dev.mmio_write(4, 0x5555, 4);
    dev.mmio_write(0, 0x5555, 1);
    dev.mmio_write(0, 0x5555, 8);
    EXPECT_FALSE(last.has_value());
    EXPECT_EQ(dev.mmio_read(0, 4), 0u);
}

}  // namespace
}  // namespace trapeze
