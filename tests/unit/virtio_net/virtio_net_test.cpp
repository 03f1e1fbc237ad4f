#include "virtio/net/virtio_net.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "fake_backend.hpp"
#include "ring_guest.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint16_t kRx = VirtioNet::kRxQueue;
constexpr uint16_t kTx = VirtioNet::kTxQueue;
constexpr size_t kHdr = VirtioNet::kHeaderSize;

struct NetFixture {
    NetFixture(NetConfig cfg = {}) {
        auto b = std::make_unique<FakeBackend>();
        backend = b.get();
        net = std::make_unique<VirtioNet>(cfg, std::move(b), [this] { return now_ns; });
    }
    // One receive buffer the size Linux posts without MRG_RXBUF (GOOD_PACKET_LEN + header).
    Buf post_rx(uint32_t len = 1518 + kHdr) {
        const Buf b = guest.writable(len);
        guest.post(kRx, {b});
        return b;
    }

    uint64_t now_ns = 1'000'000'000;  // the rate limiters' clock, moved by the tests
    RingGuest guest{2};
    FakeBackend* backend;
    std::unique_ptr<VirtioNet> net;
};

TEST(VirtioNet, OffersMacStatusAndTheCommonFeaturesButNoOffloads) {
    NetFixture f;
    EXPECT_EQ(f.net->device_id(), 1u);
    EXPECT_EQ(f.net->queue_count(), 2);
    const uint64_t features = f.net->device_features();
    EXPECT_EQ(features & kCommonFeatures, kCommonFeatures);
    EXPECT_NE(features & feature_bit(VIRTIO_NET_F_MAC), 0u);
    EXPECT_NE(features & feature_bit(VIRTIO_NET_F_STATUS), 0u);
    EXPECT_EQ(features & 0x3fff, feature_bit(VIRTIO_NET_F_MAC));  // no CSUM/GSO/MTU/... bits
}

TEST(VirtioNet, ConfigSpaceHoldsTheConfiguredMacAndLinkUp) {
    NetConfig cfg;
    cfg.mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    NetFixture f(cfg);
    std::vector<uint8_t> config(10, 0xff);
    f.net->read_config(0, config);
    EXPECT_EQ(config, (std::vector<uint8_t>{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 1, 0, 0, 0}));
    std::vector<uint8_t> status(2);
    f.net->read_config(6, status);
    EXPECT_EQ(status[0], VIRTIO_NET_S_LINK_UP);
}

TEST(VirtioNet, DefaultMacIsQemusFirstNic) {
    NetFixture f;
    EXPECT_EQ(f.net->mac(), (MacAddress{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
}

TEST(VirtioNet, TransmittedFrameReachesTheBackendWithTheHeaderStripped) {
    NetFixture f;
    f.guest.activate(*f.net);
    const auto frame = frame_of(60, 7);
    std::vector<uint8_t> header(kHdr, 0);
    // Linux puts the header and the frame in separate buffers or in one; both are one packet.
    f.guest.post(kTx, {f.guest.readable(header), f.guest.readable(frame)});
    std::vector<uint8_t> together = header;
    together.insert(together.end(), frame.begin(), frame.end());
    f.guest.post(kTx, {f.guest.readable(together)});
    f.net->process_queue(kTx);
    ASSERT_EQ(f.backend->sent.size(), 2u);
    EXPECT_EQ(f.backend->sent[0], frame);
    EXPECT_EQ(f.backend->sent[1], frame);
    ASSERT_EQ(f.guest.used_idx(kTx), 2);
    EXPECT_EQ(f.guest.used(kTx, 0).len, 0u);
    EXPECT_EQ(f.guest.signals.used, std::vector<uint16_t>{kTx});
}

TEST(VirtioNet, TransmitRequestShorterThanTheHeaderIsCompletedButNotSent) {
    NetFixture f;
    f.guest.activate(*f.net);
    f.guest.post(kTx, {f.guest.readable({1, 2, 3})});
    f.net->process_queue(kTx);
    EXPECT_TRUE(f.backend->sent.empty());
    EXPECT_EQ(f.guest.used_idx(kTx), 1);
    EXPECT_EQ(f.net->stats().tx_malformed, 1u);
}

TEST(VirtioNet, ReceivedFrameLandsInAGuestBufferBehindAZeroedHeader) {
    NetFixture f;
    f.guest.activate(*f.net);
    const Buf b = f.post_rx();
    const auto frame = frame_of(1514, 3);
    f.backend->pending.push_back(frame);
    f.net->poll();
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.used(kRx, 0).len, kHdr + frame.size());
    // §5.1.6.4: flags 0, gso_type NONE, num_buffers 1 (no MRG_RXBUF).
    EXPECT_EQ(f.guest.read(b.gpa, kHdr), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}));
    EXPECT_EQ(f.guest.read(b.gpa + kHdr, frame.size()), frame);
    EXPECT_EQ(f.guest.signals.used, std::vector<uint16_t>{kRx});
    EXPECT_EQ(f.net->stats().rx_frames, 1u);
}

TEST(VirtioNet, ReceivedFrameMaySpanSeveralBuffersOfOneChain) {
    NetFixture f;
    f.guest.activate(*f.net);
    const Buf hdr = f.guest.writable(kHdr);
    const Buf body = f.guest.writable(1514);
    f.guest.post(kRx, {hdr, body});
    const auto frame = frame_of(100, 9);
    f.backend->inject(frame);
    f.net->poll();
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.read(body.gpa, frame.size()), frame);
}

TEST(VirtioNet, KeepsFramesWhileTheReceiveRingIsEmptyAndDeliversThemWhenBuffersArrive) {
    NetFixture f;
    f.guest.activate(*f.net);
    const auto first = frame_of(64, 1);
    const auto second = frame_of(80, 2);
    f.backend->inject(first);
    f.backend->inject(second);
    f.net->poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 0);
    EXPECT_EQ(f.net->rx_backlog(), 2u);

    const Buf a = f.post_rx();
    f.net->process_queue(kRx);  // the driver's notification after adding a buffer
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.read(a.gpa + kHdr, first.size()), first);

    const Buf b = f.post_rx();
    f.net->process_queue(kRx);
    ASSERT_EQ(f.guest.used_idx(kRx), 2);
    EXPECT_EQ(f.guest.read(b.gpa + kHdr, second.size()), second);
    EXPECT_EQ(f.net->rx_backlog(), 0u);
    EXPECT_EQ(f.net->stats().rx_dropped, 0u);
}

TEST(VirtioNet, FramesReceivedBeforeTheDriverIsReadyAreDeliveredAtActivation) {
    NetFixture f;
    const auto frame = frame_of(60, 5);
    f.backend->inject(frame);
    const Buf b = f.post_rx();
    f.guest.activate(*f.net);
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.read(b.gpa + kHdr, frame.size()), frame);
}

TEST(VirtioNet, StopsPollingTheBackendWhileTheBacklogIsHalfFull) {
    NetFixture f;
    f.guest.activate(*f.net);
    for (size_t i = 0; i < VirtioNet::kRxBacklogFrames / 2; ++i) f.backend->inject(frame_of(60, 0));
    const int polls = f.backend->polls;
    std::vector<pollfd> fds;
    f.net->poll();
    f.net->fill_pollfds(fds);
    EXPECT_EQ(f.backend->polls, polls);  // the backend's input waits on the host side
    EXPECT_EQ(f.backend->fills, 0);
    EXPECT_EQ(f.net->next_timeout_ns(), EventSource::kNoTimeout);
    f.post_rx();
    f.net->process_queue(kRx);
    f.net->poll();
    EXPECT_EQ(f.backend->polls, polls + 1);
}

TEST(VirtioNet, CountsDropsOnlyWhenTheBacklogOverflows) {
    NetFixture f;
    f.guest.activate(*f.net);
    for (size_t i = 0; i < VirtioNet::kRxBacklogFrames + 3; ++i) f.backend->inject(frame_of(60, 0));
    EXPECT_EQ(f.net->rx_backlog(), VirtioNet::kRxBacklogFrames);
    EXPECT_EQ(f.net->stats().rx_dropped, 3u);
}

TEST(VirtioNet, FrameLargerThanTheGuestsBufferIsCountedAndTheBufferReturnedEmpty) {
    NetFixture f;
    f.guest.activate(*f.net);
    f.post_rx(100);
    f.backend->inject(frame_of(200, 0));
    f.net->poll();
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.used(kRx, 0).len, 0u);
    EXPECT_EQ(f.net->stats().rx_too_big, 1u);
    EXPECT_EQ(f.net->rx_backlog(), 0u);
}

TEST(VirtioNet, MalformedChainAsksForAResetAndStopsServingTheQueue) {
    NetFixture f;
    f.guest.activate(*f.net);
    f.guest.set_desc(kTx, 0, RingGuest::kRamBase, 16, VIRTQ_DESC_F_NEXT, 200);  // next beyond the table
    f.guest.publish(kTx, 0);
    f.net->process_queue(kTx);
    EXPECT_FALSE(f.guest.signals.reset_reason.empty());
    EXPECT_TRUE(f.backend->sent.empty());
    f.guest.signals.reset_reason.clear();
    f.backend->inject(frame_of(60, 0));
    f.net->poll();
    EXPECT_TRUE(f.guest.signals.reset_reason.empty());  // reported once, not on every poll
}

constexpr uint64_t kMs = 1'000'000;

TEST(VirtioNet, TransmitsNoFasterThanItsTxLimiterAllows) {
    NetConfig cfg;
    cfg.tx_rate_limiter = ratelimit::RateLimiterConfig{ratelimit::BucketConfig{120, 0, 1000}, std::nullopt};
    NetFixture f(cfg);
    f.guest.activate(*f.net);
    std::vector<uint8_t> packet(kHdr, 0);
    const auto frame = frame_of(60, 1);
    packet.insert(packet.end(), frame.begin(), frame.end());
    for (int i = 0; i < 3; ++i) f.guest.post(kTx, {f.guest.readable(packet)});
    f.net->process_queue(kTx);
    EXPECT_EQ(f.backend->sent.size(), 2u) << "120 bytes a second: two 60-byte frames";
    EXPECT_EQ(f.guest.used_idx(kTx), 2);
    EXPECT_TRUE(f.net->tx_throttled());
    EXPECT_EQ(f.net->next_timeout_ns(), 500 * kMs);
    f.now_ns += 500 * kMs;
    f.net->poll();
    EXPECT_EQ(f.backend->sent.size(), 3u);
    EXPECT_EQ(f.guest.used_idx(kTx), 3);
    EXPECT_FALSE(f.net->tx_throttled());
}

TEST(VirtioNet, ReceivesNoFasterThanItsRxLimiterAllowsAndKeepsTheRestInTheBacklog) {
    NetConfig cfg;
    cfg.rx_rate_limiter = ratelimit::RateLimiterConfig{std::nullopt, ratelimit::BucketConfig{1, 0, 1000}};
    NetFixture f(cfg);
    f.guest.activate(*f.net);
    for (int i = 0; i < 3; ++i) f.post_rx();
    for (uint8_t i = 0; i < 3; ++i) f.backend->pending.push_back(frame_of(100, i));
    f.net->poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 1) << "one frame a second";
    EXPECT_EQ(f.net->rx_backlog(), 2u);
    EXPECT_EQ(f.net->next_timeout_ns(), 1000 * kMs);
    f.now_ns += 999 * kMs;
    f.net->poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 1);
    f.now_ns += 1 * kMs;
    f.net->poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 2);
    f.now_ns += 1000 * kMs;
    f.net->poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 3);
    EXPECT_EQ(f.net->stats().rx_frames, 3u);
    EXPECT_EQ(f.net->stats().rx_dropped, 0u);
}

}  // namespace
}  // namespace trapeze::virtio::test
