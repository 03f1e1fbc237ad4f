#include "devices/goldfish_rtc.hpp"

#include <gtest/gtest.h>

#include "irq_probe.hpp"

namespace trapeze {
namespace {

constexpr uint64_t TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c, IRQ_ENABLED = 0x10,
                   CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c;

class GoldfishRtc : public ::testing::Test {
protected:
    uint64_t read_time() {
        const uint64_t low = rtc.mmio_read(TIME_LOW, 4);
        return (rtc.mmio_read(TIME_HIGH, 4) << 32) | low;
    }
    void set_alarm(uint64_t t) {
        rtc.mmio_write(ALARM_HIGH, t >> 32, 4);  // Linux's order: high, then low (which arms)
        rtc.mmio_write(ALARM_LOW, t & 0xffff'ffff, 4);
    }

    uint64_t host_ns = 0x1'ffff'fff0;  // fake host clock
    devices::test::IrqProbe irq;
    devices::GoldfishRtc rtc{irq.line, [this] { return host_ns; }};
};

TEST_F(GoldfishRtc, ReadsHostRealtimeInNanosecondsByDefault) {
    devices::test::IrqProbe line;
    devices::GoldfishRtc real(line.line);
    const uint64_t before = devices::GoldfishRtc::host_realtime_ns();
    const uint64_t low = real.mmio_read(TIME_LOW, 4);
    const uint64_t t = (real.mmio_read(TIME_HIGH, 4) << 32) | low;
    EXPECT_GE(t, before);
    EXPECT_LT(t - before, 1'000'000'000u);
}

TEST_F(GoldfishRtc, TimeNeverRunsBackwards) {
    devices::test::IrqProbe line;
    devices::GoldfishRtc real(line.line);
    uint64_t prev = 0;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t low = real.mmio_read(TIME_LOW, 4);
        const uint64_t t = (real.mmio_read(TIME_HIGH, 4) << 32) | low;
        EXPECT_GE(t, prev);
        prev = t;
    }
}

TEST_F(GoldfishRtc, ReadingTimeLowLatchesTimeHigh) {
    EXPECT_EQ(rtc.mmio_read(TIME_LOW, 4), 0xffff'fff0u);
    host_ns += 0x20;                             // the high half moves on to 2 ...
    EXPECT_EQ(rtc.mmio_read(TIME_HIGH, 4), 1u);  // ... but the latched value is still 1
    EXPECT_EQ(read_time(), 0x2'0000'0010u);
}

TEST_F(GoldfishRtc, WritingTheTimeMovesTheGuestClockOnly) {
    rtc.mmio_write(TIME_HIGH, 0, 4);
    rtc.mmio_write(TIME_LOW, 1000, 4);
    EXPECT_EQ(read_time(), 1000u);
    host_ns += 5;
    EXPECT_EQ(read_time(), 1005u);
}

TEST_F(GoldfishRtc, AlarmFiresOnUpdateOnceReached) {
    rtc.mmio_write(IRQ_ENABLED, 1, 4);
    set_alarm(host_ns + 100);
    EXPECT_EQ(rtc.mmio_read(ALARM_STATUS, 4), 1u);
    EXPECT_EQ(rtc.ns_until_alarm(), 100u);
    rtc.update();
    EXPECT_FALSE(irq.level);
    host_ns += 100;
    EXPECT_EQ(rtc.ns_until_alarm(), 0u);
    rtc.update();
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rtc.mmio_read(ALARM_STATUS, 4), 0u);
    EXPECT_EQ(rtc.ns_until_alarm(), UINT64_MAX);
    rtc.mmio_write(CLEAR_INTERRUPT, 1, 4);
    EXPECT_FALSE(irq.level);
}

TEST_F(GoldfishRtc, AlarmInThePastFiresAtOnce) {
    rtc.mmio_write(IRQ_ENABLED, 1, 4);
    set_alarm(host_ns - 1);
    EXPECT_TRUE(irq.level);
}

TEST_F(GoldfishRtc, ClearAlarmDisarmsIt) {
    rtc.mmio_write(IRQ_ENABLED, 1, 4);
    set_alarm(host_ns + 10);
    rtc.mmio_write(CLEAR_ALARM, 1, 4);
    EXPECT_EQ(rtc.mmio_read(ALARM_STATUS, 4), 0u);
    host_ns += 10;
    rtc.update();
    EXPECT_FALSE(irq.level);
}

TEST_F(GoldfishRtc, IrqEnabledGatesTheLine) {
    set_alarm(host_ns);
    EXPECT_FALSE(irq.level);
    rtc.mmio_write(IRQ_ENABLED, 1, 4);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rtc.mmio_read(IRQ_ENABLED, 4), 1u);
    rtc.mmio_write(IRQ_ENABLED, 0, 4);
    EXPECT_FALSE(irq.level);
}

TEST_F(GoldfishRtc, AlarmIsReadableBack) {
    set_alarm(0x1234'5678'9abc'def0);
    EXPECT_EQ(rtc.mmio_read(ALARM_LOW, 4), 0x9abc'def0u);
    EXPECT_EQ(rtc.mmio_read(ALARM_HIGH, 4), 0x1234'5678u);
}

TEST_F(GoldfishRtc, IgnoresOddSizesAndUnknownOffsets) {
    for (uint64_t off = 0; off < devices::GoldfishRtc::kWindowSize; off += 2) {
        for (unsigned size : {1u, 2u, 8u}) {
            rtc.mmio_write(off, ~0ull, size);
            EXPECT_EQ(rtc.mmio_read(off, size), 0u);
        }
        if (off >= 0x20) {
            rtc.mmio_write(off, ~0ull, 4);
            EXPECT_EQ(rtc.mmio_read(off, 4), 0u);
        }
    }
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(read_time(), host_ns);
}

}  // namespace
}  // namespace trapeze
