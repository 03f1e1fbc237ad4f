#include "devices/plic.hpp"

#include <gtest/gtest.h>

#include <array>

namespace trapeze {
namespace {

constexpr uint64_t kPending = 0x1000;
constexpr uint64_t kEnable = 0x2000;
constexpr uint64_t kContext = 0x200000;

// Two harts: contexts 0 (hart 0 M), 1 (hart 0 S), 2 (hart 1 M), 3 (hart 1 S).
class Plic : public ::testing::Test {
protected:
    Plic() {
        for (unsigned c = 0; c < 4; ++c) plic.context_irq(c).connect([this, c](bool l) { eip[c] = l; });
    }
    void set_priority(unsigned src, uint32_t p) { plic.mmio_write(4 * src, p, 4); }
    void enable(unsigned ctx, unsigned src) {
        const uint64_t off = kEnable + 0x80 * ctx + 4 * (src / 32);
        plic.mmio_write(off, plic.mmio_read(off, 4) | (1u << (src % 32)), 4);
    }
    void set_threshold(unsigned ctx, uint32_t t) { plic.mmio_write(kContext + 0x1000 * ctx, t, 4); }
    uint32_t claim(unsigned ctx) { return static_cast<uint32_t>(plic.mmio_read(kContext + 0x1000 * ctx + 4, 4)); }
    void complete(unsigned ctx, uint32_t id) { plic.mmio_write(kContext + 0x1000 * ctx + 4, id, 4); }
    bool pending(unsigned src) { return (plic.mmio_read(kPending + 4 * (src / 32), 4) >> (src % 32)) & 1; }

    // Source `src` at priority 1, enabled for the S-mode context of hart 0.
    void route_to_hart0_s(unsigned src) {
        set_priority(src, 1);
        enable(1, src);
    }

    devices::Plic plic{2};
    std::array<bool, 4> eip{};
};

TEST_F(Plic, RaisesTheContextLineForAnEnabledSourceAboveThreshold) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    EXPECT_EQ(eip, (std::array<bool, 4>{false, true, false, false}));
}

TEST_F(Plic, RoutesOnlyToContextsThatEnableTheSource) {
    set_priority(1, 1);
    enable(0, 1);  // hart 0 M-mode
    enable(3, 1);  // hart 1 S-mode
    plic.source(1).raise();
    EXPECT_TRUE(eip[0]);
    EXPECT_FALSE(eip[1]);
    EXPECT_FALSE(eip[2]);
    EXPECT_TRUE(eip[3]);
    EXPECT_EQ(&plic.meip(1), &plic.context_irq(2));
    EXPECT_EQ(&plic.seip(1), &plic.context_irq(3));
}

TEST_F(Plic, PriorityZeroNeverInterrupts) {
    enable(1, 5);
    plic.source(5).raise();
    EXPECT_TRUE(pending(5));
    EXPECT_FALSE(eip[1]);
    EXPECT_EQ(claim(1), 0u);
}

TEST_F(Plic, ThresholdMasksPrioritiesAtOrBelowIt) {
    set_priority(7, 3);
    enable(1, 7);
    set_threshold(1, 3);
    plic.source(7).raise();
    EXPECT_FALSE(eip[1]);
    set_threshold(1, 2);
    EXPECT_TRUE(eip[1]);
}

TEST_F(Plic, DisabledSourceStaysPendingWithoutInterrupting) {
    set_priority(4, 1);
    plic.source(4).raise();
    EXPECT_TRUE(pending(4));
    EXPECT_FALSE(eip[1]);
    enable(1, 4);
    EXPECT_TRUE(eip[1]);
}

TEST_F(Plic, ClaimReturnsHighestPriorityThenLowestId) {
    for (unsigned src : {5u, 40u, 70u}) enable(1, src);
    set_priority(5, 2);
    set_priority(40, 3);
    set_priority(70, 3);
    for (unsigned src : {70u, 5u, 40u}) plic.source(src).raise();
    EXPECT_EQ(claim(1), 40u);
    EXPECT_EQ(claim(1), 70u);
    EXPECT_EQ(claim(1), 5u);
    EXPECT_EQ(claim(1), 0u);
    EXPECT_FALSE(eip[1]);
}

TEST_F(Plic, ClaimClearsPendingAndLowersTheLine) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    EXPECT_EQ(claim(1), 10u);
    EXPECT_FALSE(pending(10));
    EXPECT_FALSE(eip[1]);
}

TEST_F(Plic, ClaimedSourceIsNotPendingAgainUntilCompleted) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    ASSERT_EQ(claim(1), 10u);
    plic.source(10).lower();
    plic.source(10).raise();
    EXPECT_FALSE(eip[1]);
    complete(1, 10);
    EXPECT_TRUE(eip[1]);
}

TEST_F(Plic, CompleteWithTheLineStillHighMakesTheSourcePendingAgain) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    ASSERT_EQ(claim(1), 10u);
    complete(1, 10);
    EXPECT_TRUE(pending(10));
    EXPECT_TRUE(eip[1]);
}

TEST_F(Plic, CompleteAfterTheLineDroppedLeavesTheSourceIdle) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    ASSERT_EQ(claim(1), 10u);
    plic.source(10).lower();
    complete(1, 10);
    EXPECT_FALSE(pending(10));
    EXPECT_FALSE(eip[1]);
}

TEST_F(Plic, LoweringTheLineBeforeClaimWithdrawsTheRequest) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    plic.source(10).lower();
    EXPECT_FALSE(pending(10));
    EXPECT_FALSE(eip[1]);
    EXPECT_EQ(claim(1), 0u);
}

TEST_F(Plic, IgnoresCompletionForASourceTheContextDoesNotEnable) {
    route_to_hart0_s(10);
    plic.source(10).raise();
    ASSERT_EQ(claim(1), 10u);
    complete(0, 10);  // hart 0 M-mode does not enable source 10
    EXPECT_FALSE(eip[1]);
    complete(1, 10);
    EXPECT_TRUE(eip[1]);
}

TEST_F(Plic, PrioritiesAndThresholdsKeepThreeBits) {
    set_priority(3, 0xffff'ffff);
    set_threshold(2, 0xffff'ffff);
    EXPECT_EQ(plic.mmio_read(4 * 3, 4), 7u);
    EXPECT_EQ(plic.mmio_read(kContext + 0x2000, 4), 7u);
}

TEST_F(Plic, SourceZeroCannotBePrioritisedEnabledOrRaised) {
    set_priority(0, 7);
    plic.mmio_write(kEnable + 0x80, 0xffff'ffff, 4);
    EXPECT_EQ(plic.mmio_read(0, 4), 0u);
    EXPECT_EQ(plic.mmio_read(kEnable + 0x80, 4), 0xffff'fffeu);
    complete(1, 0);
    EXPECT_FALSE(eip[1]);
}

TEST_F(Plic, PendingBitsAreReadOnly) {
    plic.mmio_write(kPending, 0xffff'ffff, 4);
    EXPECT_EQ(plic.mmio_read(kPending, 4), 0u);
}

TEST_F(Plic, IgnoresBadAccessesAnywhereInItsWindow) {
    route_to_hart0_s(10);
    for (uint64_t off = 0; off < devices::Plic::kWindowSize; off += 0x3f1) {
        for (unsigned size : {1u, 2u, 4u, 8u}) {
            if (size == 4 && off % 4 == 0) continue;
            plic.mmio_write(off, ~0ull, size);
            EXPECT_EQ(plic.mmio_read(off, size), 0u);
        }
    }
    // Contexts that do not exist, sources past 95, completion ids out of range.
    plic.mmio_write(kEnable + 0x80 * 4, ~0ull, 4);
    plic.mmio_write(kContext + 0x1000 * 4 + 4, 10, 4);
    EXPECT_EQ(plic.mmio_read(kContext + 0x1000 * 4 + 4, 4), 0u);
    EXPECT_EQ(plic.mmio_read(kEnable + 0x80 + 12, 4), 0u);
    complete(1, 96);
    complete(1, 0xffff'ffff);
    plic.source(10).raise();
    EXPECT_TRUE(eip[1]);
}

}  // namespace
}  // namespace trapeze
