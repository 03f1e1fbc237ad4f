#include "ratelimit/token_bucket.hpp"

#include <gtest/gtest.h>

#include "fake_clock.hpp"

namespace trapeze::ratelimit::test {
namespace {

TEST(TokenBucket, StartsFullAndRefusesMoreThanIsLeft) {
    TokenBucket b({1000, 0, 1000}, 0);
    EXPECT_EQ(b.budget(), 1000u);
    ASSERT_TRUE(b.can_take(600));
    b.take(600);
    EXPECT_FALSE(b.can_take(500));
    EXPECT_TRUE(b.can_take(400));
}

TEST(TokenBucket, RefillsInProportionToTheTimeElapsedUpToItsSize) {
    TokenBucket b({1000, 0, 1000}, 0);
    b.take(1000);
    b.refill(250 * kMs);
    EXPECT_EQ(b.budget(), 250u);
    b.refill(500 * kMs);
    EXPECT_EQ(b.budget(), 500u);
    b.refill(10'000 * kMs);
    EXPECT_EQ(b.budget(), 1000u) << "never more than the size";
}

TEST(TokenBucket, KeepsFractionsOfATokenAcrossRefills) {
    // 3 tokens a second: one per 333.3 ms, so no single 100 ms step earns a whole token.
    TokenBucket b({3, 0, 1000}, 0);
    b.take(3);
    for (uint64_t t = 100; t <= 1000; t += 100) b.refill(t * kMs);
    EXPECT_EQ(b.budget(), 3u);
}

TEST(TokenBucket, IgnoresAClockThatGoesBack) {
    TokenBucket b({1000, 0, 1000}, 500 * kMs);
    b.take(1000);
    b.refill(100 * kMs);
    EXPECT_EQ(b.budget(), 0u);
    b.refill(600 * kMs);
    EXPECT_EQ(b.budget(), 100u);
}

TEST(TokenBucket, SpendsTheOneTimeBurstFirstAndNeverGetsItBack) {
    TokenBucket b({100, 50, 1000}, 0);
    b.take(40);
    EXPECT_EQ(b.one_time_burst(), 10u);
    EXPECT_EQ(b.budget(), 100u);
    b.take(30);  // 10 from the burst, 20 from the budget
    EXPECT_EQ(b.one_time_burst(), 0u);
    EXPECT_EQ(b.budget(), 80u);
    EXPECT_FALSE(b.can_take(81));
    b.refill(5000 * kMs);
    EXPECT_EQ(b.budget(), 100u);
    EXPECT_EQ(b.one_time_burst(), 0u);
}

TEST(TokenBucket, LetsARequestLargerThanItsSizeThroughOnlyWhenFullAndChargesTheExcess) {
    TokenBucket b({100, 0, 1000}, 0);  // 100 tokens a second: 10 ms each
    b.take(10);
    EXPECT_FALSE(b.can_take(250)) << "not full";
    EXPECT_EQ(b.ns_until(250), 100 * kMs) << "the 10 missing tokens";
    b.refill(100 * kMs);
    ASSERT_TRUE(b.can_take(250));
    b.take(250);
    EXPECT_EQ(b.budget(), 0u);
    EXPECT_EQ(b.debt(), 150u);
    EXPECT_FALSE(b.can_take(1));
    // The debt first, then the token: 151 tokens.
    EXPECT_EQ(b.ns_until(1), 1510 * kMs);
    b.refill(1100 * kMs);
    EXPECT_EQ(b.debt(), 50u);
    EXPECT_FALSE(b.can_take(1));
    b.refill(1610 * kMs);
    EXPECT_EQ(b.debt(), 0u);
    EXPECT_TRUE(b.can_take(1));
}

TEST(TokenBucket, SaysExactlyWhenARequestWillFit) {
    // Odd numbers, so that the answer needs the carried fraction: 7 tokens per 3 ms.
    for (uint64_t want : {1u, 5u, 7u, 20u}) {
        TokenBucket b({7, 0, 3}, 0);
        b.take(7);
        b.refill(1);  // leaves a fraction behind
        const uint64_t wait = b.ns_until(want);
        ASSERT_GT(wait, 0u);
        TokenBucket early = b;
        early.refill(1 + wait - 1);
        EXPECT_FALSE(early.can_take(want)) << want;
        b.refill(1 + wait);
        EXPECT_TRUE(b.can_take(want)) << want;
    }
}

TEST(TokenBucket, SurvivesHugeSizesAndRefillTimes) {
    TokenBucket b({UINT64_MAX, 0, UINT64_MAX}, 0);
    b.take(UINT64_MAX);
    b.refill(UINT64_MAX / 2);
    EXPECT_GT(b.budget(), UINT64_MAX / 4);
    EXPECT_LT(b.budget(), UINT64_MAX);
    EXPECT_GT(b.ns_until(UINT64_MAX), 0u);
    b.refill(UINT64_MAX);
    EXPECT_EQ(b.budget(), UINT64_MAX);
}

}  // namespace
}  // namespace trapeze::ratelimit::test
