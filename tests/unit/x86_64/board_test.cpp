// The x86 board's small pieces: the port bus, the power-control ports, CPUID filtering.
#include <gtest/gtest.h>

#include <vector>

#include "arch/x86_64/cpuid.hpp"
#include "arch/x86_64/power_control.hpp"
#include "bus/pio_bus.hpp"

namespace trapeze::x86 {
namespace {

class Recorder final : public MmioDevice {
public:
    uint64_t mmio_read(uint64_t offset, unsigned) override { return 0x40 + offset; }
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override { writes.push_back({offset, value, size}); }
    struct W {
        uint64_t offset, value;
        unsigned size;
    };
    std::vector<W> writes;
};

TEST(PioBus, RoutesPortsToWindowOffsets) {
    PioBus bus;
    Recorder uart;
    ASSERT_TRUE(bus.map(0x3f8, 8, uart, "com1").ok());
    EXPECT_EQ(bus.read(0x3fd, 1), 0x45u);
    EXPECT_TRUE(bus.write(0x3f8, 'x', 1));
    ASSERT_EQ(uart.writes.size(), 1u);
    EXPECT_EQ(uart.writes[0].offset, 0u);
    EXPECT_EQ(bus.read(0x3f7, 1), std::nullopt);
    EXPECT_EQ(bus.read(0x3ff, 2), std::nullopt);  // straddles the window end
    EXPECT_FALSE(bus.write(0x2f8, 0, 1));
}

TEST(PioBus, RejectsOverlapsAndWindowsPastTheIoSpace) {
    PioBus bus;
    Recorder a;
    ASSERT_TRUE(bus.map(0x60, 5, a, "a").ok());
    EXPECT_FALSE(bus.map(0x64, 1, a, "b").ok());
    EXPECT_FALSE(bus.map(0xfffe, 4, a, "c").ok());
    EXPECT_FALSE(bus.map(0x100, 0, a, "d").ok());
}

TEST(PowerControl, S5SleepRequestPowersOffOnce) {
    std::vector<PowerEvent> events;
    PowerControl pc([&](PowerEvent e) { events.push_back(e); });
    pc.mmio_write(0, (3 << 2) | PowerControl::kSlpEn, 1);  // S3: not supported, ignored
    pc.mmio_write(0, 5 << 2, 1);                           // S5 without SLP_EN: nothing
    EXPECT_TRUE(events.empty());
    pc.mmio_write(0, (5 << 2) | PowerControl::kSlpEn, 1);
    pc.i8042().mmio_write(0, 0xfe, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], PowerEvent::PowerOff);
}

TEST(PowerControl, I8042PulseResetRequestsReset) {
    std::vector<PowerEvent> events;
    PowerControl pc([&](PowerEvent e) { events.push_back(e); });
    pc.i8042().mmio_write(0, 0xd1, 1);  // write output port: not a reset
    pc.i8042().mmio_write(0, 0xfe, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], PowerEvent::Reset);
}

TEST(Cpuid, SetsApicIdsAndTheHypervisorBitAndHidesMonitor) {
    kvm_cpuid_entry2 leaf1{};
    leaf1.function = 1;
    leaf1.ebx = 0xff00ff08;
    leaf1.ecx = 1u << 3;
    kvm_cpuid_entry2 leafb{};
    leafb.function = 0xb;
    const auto out = filter_cpuid({leaf1, leafb}, {3, 4});
    EXPECT_EQ(out[0].ebx, 0x0304ff08u);
    EXPECT_EQ(out[0].ecx & (1u << 3), 0u);
    EXPECT_NE(out[0].ecx & (1u << 31), 0u);
    EXPECT_NE(out[0].edx & (1u << 28), 0u);
    EXPECT_EQ(out[1].edx, 3u);
}

}  // namespace
}  // namespace trapeze::x86
