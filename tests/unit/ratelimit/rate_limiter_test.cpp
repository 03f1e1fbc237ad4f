#include "ratelimit/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "fake_clock.hpp"

namespace trapeze::ratelimit::test {
namespace {

RateLimiterConfig config(std::optional<BucketConfig> bandwidth, std::optional<BucketConfig> ops) {
    RateLimiterConfig c;
    c.bandwidth = bandwidth;
    c.ops = ops;
    return c;
}

TEST(RateLimiter, WithoutBucketsLetsEverythingThroughWithoutReadingTheClock) {
    RateLimiter l(config(BucketConfig{0, 0, 1000}, BucketConfig{100, 0, 0}), [] {
        ADD_FAILURE() << "clock read";
        return uint64_t{0};
    });
    EXPECT_FALSE(l.limits());
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(l.consume(1 << 20));
    EXPECT_FALSE(l.blocked());
    EXPECT_EQ(l.stats().ops, 1000u);
    EXPECT_EQ(l.stats().bytes, 1000ull << 20);
}

TEST(RateLimiter, TakesFromBothBucketsOrFromNeither) {
    FakeClock c;
    RateLimiter l(config(BucketConfig{1000, 0, 1000}, BucketConfig{3, 0, 1000}), c.clock());
    ASSERT_TRUE(l.consume(600));
    EXPECT_FALSE(l.consume(600)) << "the bytes are missing";
    EXPECT_EQ(l.ops()->budget(), 2u) << "so no op was taken";
    ASSERT_TRUE(l.consume(400));
    ASSERT_TRUE(l.consume(0));
    EXPECT_FALSE(l.consume(0)) << "the ops are missing";
    EXPECT_EQ(l.bandwidth()->budget(), 0u);
    EXPECT_EQ(l.stats().refusals, 2u);
    EXPECT_EQ(l.stats().bytes, 1000u);
}

TEST(RateLimiter, StaysBlockedUntilTheRefusedRequestFits) {
    FakeClock c;
    RateLimiter l(config(BucketConfig{1000, 0, 1000}, std::nullopt), c.clock());
    EXPECT_EQ(l.ns_until_ready(), 0u) << "not blocked";
    ASSERT_TRUE(l.consume(900));
    ASSERT_FALSE(l.consume(500));
    EXPECT_TRUE(l.blocked());
    EXPECT_EQ(l.ns_until_ready(), 400 * kMs);
    c.advance(399 * kMs);
    EXPECT_EQ(l.ns_until_ready(), 1 * kMs);
    EXPECT_FALSE(l.consume(500));
    c.advance(1 * kMs);
    EXPECT_EQ(l.ns_until_ready(), 0u);
    EXPECT_TRUE(l.consume(500));
    EXPECT_FALSE(l.blocked());
}

TEST(RateLimiter, WaitsForTheSlowerOfItsBuckets) {
    FakeClock c;
    RateLimiter l(config(BucketConfig{1000, 0, 1000}, BucketConfig{1, 0, 2000}), c.clock());
    ASSERT_TRUE(l.consume(1000));
    ASSERT_FALSE(l.consume(100));
    EXPECT_EQ(l.ns_until_ready(), 2000 * kMs) << "one op every 2 s; 100 bytes take 100 ms";
}

TEST(RateLimiter, UpdateKeepsLeftOutBucketsRemovesZeroOnesAndRestartsChangedOnes) {
    FakeClock c;
    const BucketConfig bw{1000, 0, 1000};
    RateLimiter l(config(bw, BucketConfig{10, 0, 1000}), c.clock());
    ASSERT_TRUE(l.consume(1000));
    // A PATCH naming only ops: the bandwidth bucket stays empty; ops start over, burst and all.
    l.update(config(std::nullopt, BucketConfig{20, 5, 1000}));
    EXPECT_FALSE(l.consume(1));
    EXPECT_EQ(l.ops()->budget(), 20u);
    EXPECT_EQ(l.ops()->one_time_burst(), 5u);
    // The same bandwidth configuration again is no way to refill early.
    l.update(config(bw, std::nullopt));
    EXPECT_FALSE(l.consume(1));
    EXPECT_EQ(l.config(), config(bw, BucketConfig{20, 5, 1000}));
    // A changed one starts full.
    l.update(config(BucketConfig{2000, 0, 1000}, std::nullopt));
    EXPECT_TRUE(l.consume(2000));
    // Size 0 removes it.
    l.update(config(BucketConfig{0, 0, 0}, std::nullopt));
    EXPECT_FALSE(l.bandwidth().has_value());
    EXPECT_TRUE(l.consume(1 << 30));
    l.update(config(std::nullopt, BucketConfig{}));
    EXPECT_FALSE(l.limits());
}

TEST(RateLimiter, UpdateCanStartLimitingAnUnlimitedDevice) {
    FakeClock c;
    RateLimiter l(RateLimiterConfig{}, c.clock());
    EXPECT_FALSE(l.limits());
    l.update(config(BucketConfig{100, 0, 1000}, std::nullopt));
    EXPECT_TRUE(l.consume(100));
    EXPECT_FALSE(l.consume(1));
}

// A saturating requester (always a request waiting, retried whenever the limiter says it
// would fit) against random request sizes, some larger than the bucket: at every step what
// went through is within the configuration's bound, and over the run it is no less than the
// rate allows.
TEST(RateLimiter, HoldsASaturatingRequesterToItsConfiguredRate) {
    FakeClock c;
    const uint64_t start = c.now;
    const BucketConfig bw{64 * 1024, 256 * 1024, 250};                // 256 KiB/s; 320 KiB at the start
    RateLimiter l(config(bw, BucketConfig{500, 0, 100}), c.clock());  // 5000 ops/s
    std::mt19937_64 rng(22);
    std::uniform_int_distribution<uint64_t> size(0, 96 * 1024);
    std::uniform_int_distribution<uint64_t> step(0, 3 * kMs);
    uint64_t largest = 0;
    uint64_t request = size(rng);
    for (int i = 0; i < 200'000; ++i) {
        if (!l.consume(request)) {
            // The limiter's answer is exact: it fits then, not a nanosecond before.
            const uint64_t wait = l.ns_until_ready();
            ASSERT_GT(wait, 0u);
            c.advance(wait - 1);
            ASSERT_FALSE(l.consume(request));
            c.advance(1);
            ASSERT_EQ(l.ns_until_ready(), 0u);
            continue;
        }
        largest = std::max(largest, request);
        request = size(rng);
        c.advance(step(rng));
        const uint64_t earned = (c.now - start) * bw.size / (bw.refill_time_ms * kMs);  // < 2^64 here
        const uint64_t excess = largest > bw.size ? largest - bw.size : 0;
        ASSERT_LE(l.stats().bytes, bw.size + bw.one_time_burst + earned + excess) << "step " << i;
    }
    const uint64_t earned = (c.now - start) * bw.size / (bw.refill_time_ms * kMs);
    EXPECT_GE(l.stats().bytes + bw.size + 96 * 1024, earned) << "tokens were lost";
    EXPECT_GT(l.stats().refusals, 0u);
}

}  // namespace
}  // namespace trapeze::ratelimit::test
