#include "virtio/virtio_rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "fake_guest.hpp"

namespace trapeze::virtio::test {
namespace {

TEST(VirtioRng, FillsTheGuestsBufferWithRandomBytes) {
    FakeGuest g;
    IrqLine irq;
    VirtioMmioTransport t(g.mem, irq, std::make_unique<VirtioRng>());
    EXPECT_EQ(t.mmio_read(0x008, 4), VIRTIO_ID_RNG);
    g.init(t, kCommonFeatures);
    const Buf a = g.writable(64);
    const Buf b = g.writable(64);
    g.publish(g.add_chain({a, b}));
    FakeGuest::notify(t);
    ASSERT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.used(0).len, 128u);
    const auto bytes_a = g.read(a.gpa, 64);
    const auto bytes_b = g.read(b.gpa, 64);
    // The poison was 0xee everywhere; 64 random bytes all equal to it has probability 2^-512.
    EXPECT_FALSE(std::all_of(bytes_a.begin(), bytes_a.end(), [](uint8_t v) { return v == 0xee; }));
    EXPECT_FALSE(std::all_of(bytes_b.begin(), bytes_b.end(), [](uint8_t v) { return v == 0xee; }));
    EXPECT_NE(bytes_a, bytes_b);
}

TEST(VirtioRng, WritesAtMostItsPerRequestLimit) {
    FakeGuest g;
    IrqLine irq;
    VirtioMmioTransport t(g.mem, irq, std::make_unique<VirtioRng>());
    g.init(t, kCommonFeatures);
    g.publish(g.add_chain({g.writable(VirtioRng::kMaxBytesPerRequest + 4096)}));
    FakeGuest::notify(t);
    ASSERT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.used(0).len, VirtioRng::kMaxBytesPerRequest);
}

TEST(VirtioRng, HandsOutEntropyNoFasterThanItsRateLimiterAllows) {
    FakeGuest g;
    IrqLine irq;
    uint64_t now_ns = 1'000'000'000;
    ratelimit::RateLimiterConfig cfg;
    cfg.bandwidth = ratelimit::BucketConfig{64, 0, 1000};  // 64 bytes a second
    auto owned = std::make_unique<VirtioRng>(cfg, [&now_ns] { return now_ns; });
    VirtioRng* rng = owned.get();
    VirtioMmioTransport t(g.mem, irq, std::move(owned));
    g.init(t, kCommonFeatures);
    g.publish(g.add_chain({g.writable(32)}));
    g.publish(g.add_chain({g.writable(32)}));
    g.publish(g.add_chain({g.writable(48)}));
    FakeGuest::notify(t);
    EXPECT_EQ(g.used_idx(), 2);
    EXPECT_TRUE(rng->throttled());
    EXPECT_EQ(rng->next_timeout_ns(), 750'000'000u) << "48 bytes at 64 bytes a second";
    now_ns += 749'999'999;
    rng->poll();
    EXPECT_EQ(g.used_idx(), 2);
    now_ns += 1;
    rng->poll();
    ASSERT_EQ(g.used_idx(), 3);
    EXPECT_EQ(g.used(2).len, 48u);
    EXPECT_EQ(rng->next_timeout_ns(), EventSource::kNoTimeout);
}

}  // namespace
}  // namespace trapeze::virtio::test
