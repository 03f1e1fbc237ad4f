#include <gtest/gtest.h>

#include "bus/mmio_bus.hpp"

namespace trapeze {
namespace {

class Recorder : public MmioDevice {
public:
    uint64_t mmio_read(uint64_t offset, unsigned size) override { return offset * 100 + size; }
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override {
        last_offset = offset;
        last_value = value;
        last_size = size;
    }
    uint64_t last_offset = 0, last_value = 0;
    unsigned last_size = 0;
};

TEST(MmioBus, RoutesAccessesWithOffsetsRelativeToTheWindow) {
    MmioBus bus;
    Recorder a, b;
    ASSERT_TRUE(bus.map(Gpa(0x1000), 0x100, a, "a").ok());
    ASSERT_TRUE(bus.map(Gpa(0x2000), 0x100, b, "b").ok());
    EXPECT_EQ(bus.read(Gpa(0x1010), 4), 0x10u * 100 + 4);
    EXPECT_TRUE(bus.write(Gpa(0x2008), 0xab, 1));
    EXPECT_EQ(b.last_offset, 8u);
    EXPECT_EQ(b.last_value, 0xabu);
}

TEST(MmioBus, UnmappedAndStraddlingAccessesFindNoDevice) {
    MmioBus bus;
    Recorder a;
    ASSERT_TRUE(bus.map(Gpa(0x1000), 0x100, a, "a").ok());
    EXPECT_FALSE(bus.read(Gpa(0x0fff), 1).has_value());
    EXPECT_FALSE(bus.read(Gpa(0x10fe), 4).has_value());  // runs past the window end
    EXPECT_FALSE(bus.write(Gpa(0x1100), 0, 1));
}

TEST(MmioBus, RefusesOverlappingWindows) {
    MmioBus bus;
    Recorder a, b;
    ASSERT_TRUE(bus.map(Gpa(0x1000), 0x100, a, "a").ok());
    auto r = bus.map(Gpa(0x10f0), 0x100, b, "b");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("overlaps 'a'"), std::string::npos);
}

}  // namespace
}  // namespace trapeze
