// virtio-net across a snapshot: frames waiting in the receive backlog survive and reach the
// guest's next buffers; both rings go on at the used index the old device reached.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "fake_backend.hpp"
#include "ring_transport.hpp"
#include "virtio/net/virtio_net.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint16_t kRx = VirtioNet::kRxQueue;
constexpr uint16_t kTx = VirtioNet::kTxQueue;
constexpr size_t kHdr = VirtioNet::kHeaderSize;

std::vector<uint8_t> with_header(const std::vector<uint8_t>& frame) {
    std::vector<uint8_t> out(kHdr + frame.size(), 0);
    std::copy(frame.begin(), frame.end(), out.begin() + kHdr);
    return out;
}

// One net slot over the guest's RAM; reopen() drops the device (and its backend) for fresh ones.
struct NetSlot {
    explicit NetSlot(RingGuest& guest) : g(guest) { reopen(); }
    void reopen() {
        t.reset();
        auto b = std::make_unique<FakeBackend>();
        backend = b.get();
        auto n = std::make_unique<VirtioNet>(NetConfig{}, std::move(b), [this] { return now_ns; });
        net = n.get();
        t = std::make_unique<VirtioMmioTransport>(g.mem, irq, std::move(n));
    }

    RingGuest& g;
    IrqLine irq;
    uint64_t now_ns = 1'000'000'000;
    FakeBackend* backend = nullptr;
    VirtioNet* net = nullptr;
    std::unique_ptr<VirtioMmioTransport> t;
};

TEST(VirtioNetSnapshot, BackloggedFramesReachTheGuestAfterRestore) {
    RingGuest g{2};
    NetSlot slot(g);
    ASSERT_EQ(init_transport(*slot.t, g, 2, kCommonFeatures), kDriverOkStatus);
    g.post(kTx, {g.readable(with_header(frame_of(60, 1)))});
    notify(*slot.t, kTx);
    ASSERT_EQ(slot.backend->sent.size(), 1u);
    const auto f1 = frame_of(1514, 3);
    const auto f2 = frame_of(80, 9);
    slot.backend->inject(f1);
    slot.backend->inject(f2);
    ASSERT_EQ(slot.net->rx_backlog(), 2u);  // the guest has posted no receive buffer yet
    const auto s = through_bytes(slot.t->save());

    slot.reopen();
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_EQ(slot.net->rx_backlog(), 2u);
    slot.t->kick();  // no buffer yet: the frames wait
    EXPECT_EQ(g.used_idx(kRx), 0);
    const Buf b1 = g.writable(1518 + kHdr);
    g.post(kRx, {b1});
    notify(*slot.t, kRx);
    ASSERT_EQ(g.used_idx(kRx), 1);
    EXPECT_EQ(g.used(kRx, 0).len, kHdr + f1.size());
    EXPECT_EQ(g.read(b1.gpa + kHdr, f1.size()), f1);
    const Buf b2 = g.writable(1518 + kHdr);
    g.post(kRx, {b2});
    notify(*slot.t, kRx);
    ASSERT_EQ(g.used_idx(kRx), 2);
    EXPECT_EQ(g.read(b2.gpa + kHdr, f2.size()), f2);
    EXPECT_EQ(slot.net->rx_backlog(), 0u);

    g.post(kTx, {g.readable(with_header(frame_of(70, 5)))});
    notify(*slot.t, kTx);
    ASSERT_EQ(slot.backend->sent.size(), 1u);
    EXPECT_EQ(slot.backend->sent[0], frame_of(70, 5));
    EXPECT_EQ(g.used_idx(kTx), 2);
}

TEST(VirtioNetSnapshot, RefusesTooManyFramesAnOversizedFrameABadBooleanAndTruncatedState) {
    auto backend = std::make_unique<FakeBackend>();
    VirtioNet net(NetConfig{}, std::move(backend));
    const auto refused = [&net](const std::vector<uint8_t>& state) {
        snapshot::StateReader r(state, "net");
        return !net.restore_state(r).ok();
    };
    const auto flags = [](snapshot::StateWriter& w, uint8_t broken) {
        w.u8(broken);
        w.boolean(false);
        w.boolean(false);
    };
    snapshot::StateWriter many;
    many.u32(VirtioNet::kRxBacklogFrames + 1);
    for (size_t i = 0; i <= VirtioNet::kRxBacklogFrames; ++i) many.bytes(frame_of(1, 0));
    flags(many, 0);
    EXPECT_TRUE(refused(many.take()));
    snapshot::StateWriter big;
    big.u32(1);
    big.bytes(std::vector<uint8_t>(VirtioNet::kMaxFrameSize + 1));
    flags(big, 0);
    EXPECT_TRUE(refused(big.take()));
    snapshot::StateWriter bad;
    bad.u32(0);
    flags(bad, 2);
    EXPECT_TRUE(refused(bad.take()));
    snapshot::StateWriter cut;
    cut.u32(1);
    cut.bytes(frame_of(10, 0));
    EXPECT_TRUE(refused(cut.take()));
    EXPECT_EQ(net.rx_backlog(), 0u) << "a refused state changes nothing";
    snapshot::StateWriter good;
    good.u32(1);
    good.bytes(frame_of(10, 0));
    flags(good, 0);
    EXPECT_FALSE(refused(good.take()));
    EXPECT_EQ(net.rx_backlog(), 1u);
}

}  // namespace
}  // namespace trapeze::virtio::test
