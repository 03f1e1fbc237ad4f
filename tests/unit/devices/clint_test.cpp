#include "devices/clint.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "irq_probe.hpp"

namespace trapeze {
namespace {

constexpr uint64_t kMtimecmp = 0x4000;
constexpr uint64_t kMtime = 0xbff8;

class Clint : public ::testing::Test {
protected:
    Clint() {
        clint.msip(0).connect([this](bool l) { msip[0] = l; });
        clint.msip(1).connect([this](bool l) { msip[1] = l; });
        clint.mtip(0).connect([this](bool l) { mtip[0] = l; });
        clint.mtip(1).connect([this](bool l) { mtip[1] = l; });
    }
    uint64_t mtime() { return clint.mmio_read(kMtime, 8); }
    void set_mtimecmp(unsigned hart, uint64_t v) { clint.mmio_write(kMtimecmp + 8 * hart, v, 8); }

    GuestClock clock;
    devices::Clint clint{clock, 2};
    bool msip[2] = {};
    bool mtip[2] = {};
};

TEST_F(Clint, MtimeFollowsTheGuestClock) {
    const uint64_t before = clock.ticks();
    const uint64_t t1 = mtime();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const uint64_t t2 = mtime();
    EXPECT_GE(t1, before);
    EXPECT_GT(t2, t1);
    EXPECT_LE(t2, clock.ticks());
}

TEST_F(Clint, MtimeReadsAsTwoHalves) {
    const uint64_t whole = mtime();
    const uint64_t high = clint.mmio_read(kMtime + 4, 4);
    const uint64_t low = clint.mmio_read(kMtime, 4);
    EXPECT_EQ(high, whole >> 32);  // 2^32 ticks at 10 MHz is over seven minutes
    EXPECT_LE(low, 0xffff'ffffu);
}

TEST_F(Clint, IgnoresWritesToMtime) {
    clint.mmio_write(kMtime, 1ull << 60, 8);
    EXPECT_LT(mtime(), 1ull << 60);
}

TEST_F(Clint, MtimecmpInThePastRaisesMtip) {
    set_mtimecmp(0, 0);
    EXPECT_TRUE(mtip[0]);
    EXPECT_FALSE(mtip[1]);
}

TEST_F(Clint, MtimecmpInTheFutureLowersMtipAtOnce) {
    set_mtimecmp(1, 0);
    ASSERT_TRUE(mtip[1]);
    set_mtimecmp(1, UINT64_MAX);
    EXPECT_FALSE(mtip[1]);
}

TEST_F(Clint, UpdateRaisesMtipOnceTheDeadlinePasses) {
    set_mtimecmp(0, clock.ticks() + 100);  // 10 us ahead
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    clint.update();
    EXPECT_TRUE(mtip[0]);
}

TEST_F(Clint, ResetsWithMtipLow) {
    clint.update();
    EXPECT_FALSE(mtip[0]);
    EXPECT_EQ(clint.mmio_read(kMtimecmp, 8), UINT64_MAX);
}

TEST_F(Clint, MtimecmpHalvesAreWrittenSeparately) {
    clint.mmio_write(kMtimecmp + 8, 0x89ab'cdef, 4);
    clint.mmio_write(kMtimecmp + 12, 0x0123'4567, 4);
    EXPECT_EQ(clint.mmio_read(kMtimecmp + 8, 8), 0x0123'4567'89ab'cdefull);
    EXPECT_EQ(clint.mmio_read(kMtimecmp + 12, 4), 0x0123'4567u);
}

TEST_F(Clint, MsipDrivesOnlyItsHartsLine) {
    clint.mmio_write(4, 1, 4);
    EXPECT_TRUE(msip[1]);
    EXPECT_FALSE(msip[0]);
    EXPECT_EQ(clint.mmio_read(4, 4), 1u);
    clint.mmio_write(4, 0, 4);
    EXPECT_FALSE(msip[1]);
}

TEST_F(Clint, MsipKeepsOnlyBitZero) {
    clint.mmio_write(0, 0xffff'fffe, 4);
    EXPECT_FALSE(msip[0]);
    EXPECT_EQ(clint.mmio_read(0, 4), 0u);
}

TEST_F(Clint, NextDeadlineIsTheEarliestFutureMtimecmp) {
    const uint64_t now = clock.ticks();
    set_mtimecmp(0, now + 1'000'000'000);
    set_mtimecmp(1, now + 2'000'000'000);
    EXPECT_EQ(clint.next_deadline(), now + 1'000'000'000);
    set_mtimecmp(0, 0);  // reached: no longer a deadline to wait for
    EXPECT_EQ(clint.next_deadline(), now + 2'000'000'000);
    set_mtimecmp(1, UINT64_MAX);
    EXPECT_EQ(clint.next_deadline(), UINT64_MAX);
}

TEST_F(Clint, IgnoresMisalignedOddSizedAndOutOfRangeAccesses) {
    for (uint64_t off :
         {0x2ull, 0x8ull, 0x4002ull, 0x4004ull, 0x4010ull, 0xbff0ull, 0xbffcull, 0xfff8ull, 0x10000ull, ~0ull}) {
        for (unsigned size : {1u, 2u, 8u}) {
            clint.mmio_write(off, ~0ull, size);
            if (off != 0x4004 && off != 0xbffc) {
                EXPECT_EQ(clint.mmio_read(off, size), 0u) << std::hex << off << " size " << size;
            }
        }
    }
    EXPECT_EQ(clint.mmio_read(0, 8), 0u);  // msip takes 32-bit accesses only
    EXPECT_FALSE(msip[0] || msip[1] || mtip[0] || mtip[1]);
    EXPECT_EQ(clint.mmio_read(kMtimecmp, 8), UINT64_MAX);
}

}  // namespace
}  // namespace trapeze
