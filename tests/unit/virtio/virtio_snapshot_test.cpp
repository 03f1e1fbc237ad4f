// Snapshots of the virtio core: a SplitVirtqueue's positions, and a VirtioMmioTransport saved,
// sent through its byte encoding and restored into a fresh transport and device over the same
// RAM (which is what a restored machine's RAM is), then driven on as the old one would be.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../snapshot/state_roundtrip.hpp"
#include "fake_guest.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_rng.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint64_t QueueSel = 0x030, QueueNum = 0x038, QueueReady = 0x044, InterruptStatus = 0x060,
                   InterruptACK = 0x064, Status = 0x070, QueueDescLow = 0x080, QueueDriverLow = 0x090,
                   QueueDeviceLow = 0x0a0, ConfigGeneration = 0x0fc;

constexpr uint64_t kFeatures = kCommonFeatures;  // with EVENT_IDX
constexpr uint32_t kRunning =
    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

using snapshot::test::decode;
using snapshot::test::encode;

VirtioMmioTransport::State round_trip(const VirtioMmioTransport::State& s) {
    auto d = decode<VirtioMmioTransport::State>(encode(s));
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
    return d.ok() ? std::move(d.value()) : VirtioMmioTransport::State{};
}

uint32_t reg(VirtioMmioTransport& t, uint64_t off) {
    return static_cast<uint32_t>(t.mmio_read(off, 4));
}

// A transport over the guest's RAM with its own irq line; `reopen` replaces both by fresh ones
// (the old device is dropped, as when the VMM process that saved it exits).
struct Slot {
    explicit Slot(FakeGuest& guest) : g(guest) {
        irq.connect([this](bool l) {
            level = l;
            ++changes;
        });
    }
    template <typename Device>
    Device* open(std::unique_ptr<Device> d) {
        Device* raw = d.get();
        t.reset();
        t = std::make_unique<VirtioMmioTransport>(g.mem, irq, std::move(d));
        level = false;
        changes = 0;
        return raw;
    }

    FakeGuest& g;
    IrqLine irq;
    bool level = false;
    int changes = 0;
    std::unique_ptr<VirtioMmioTransport> t;
};

// ---- SplitVirtqueue --------------------------------------------------------------------

TEST(QueuePositions, RoundTripAndRefuseAnUnknownError) {
    const QueuePositions p{7, 5, 4, true, QueueError::ChainTooLong};
    auto d = decode<QueuePositions>(encode(p));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->next_avail, 7);
    EXPECT_EQ(d->next_used, 5);
    EXPECT_EQ(d->signalled_used, 4);
    EXPECT_TRUE(d->signalled_valid);
    EXPECT_EQ(d->error, QueueError::ChainTooLong);
    auto bytes = encode(p);
    bytes.back() = static_cast<uint8_t>(QueueError::ReadableAfterWritable) + 1;
    EXPECT_FALSE(decode<QueuePositions>(bytes).ok());
    bytes[6] = 2;  // signalled_valid
    EXPECT_FALSE(decode<QueuePositions>(bytes).ok());
    const auto whole = encode(p);
    EXPECT_FALSE(decode<QueuePositions>(std::span(whole).first(6)).ok());
}

TEST(QueuePositions, AQueueRebuiltWithThemGoesOnWhereTheOldOneStopped) {
    FakeGuest g;
    SplitVirtqueue a(g.mem, g.layout, true);
    DescriptorChain chain;
    for (int i = 0; i < 3; ++i) g.publish(g.add_chain({g.writable(8)}));
    ASSERT_EQ(a.pop(chain), PopStatus::Chain);
    a.add_used(chain, 8);
    ASSERT_TRUE(a.needs_notification());
    ASSERT_EQ(a.pop(chain), PopStatus::Chain);
    a.add_used(chain, 8);

    SplitVirtqueue b(g.mem, g.layout, true);
    ASSERT_TRUE(b.set_positions(a.positions()).ok());
    ASSERT_EQ(b.pop(chain), PopStatus::Chain);
    EXPECT_EQ(chain.head, 2);
    b.add_used(chain, 8);
    EXPECT_EQ(g.used_idx(), 3);
    EXPECT_EQ(g.used(2).id, 2u);
    g.set_used_event(0);  // the driver heard of the first completion and asks for no more
    EXPECT_FALSE(b.needs_notification()) << "signalled_used came back: 0 is not in (1, 3]";
    EXPECT_EQ(b.pop(chain), PopStatus::Empty);
}

TEST(QueuePositions, MoreChainsInFlightThanTheQueueHoldsAreRefused) {
    FakeGuest g(16);
    SplitVirtqueue q(g.mem, g.layout, false);
    EXPECT_FALSE(q.set_positions({17, 0, 0, false, QueueError::None}).ok());
    EXPECT_TRUE(q.set_positions({16, 0, 0, false, QueueError::None}).ok());
    QueueLayout bad = g.layout;
    bad.desc = Gpa(kRamBase + 8);
    SplitVirtqueue broken(g.mem, bad, false);
    EXPECT_FALSE(broken.set_positions({}).ok()) << "a queue on a bad layout must stay broken";
}

// ---- Transport, with virtio-rng --------------------------------------------------------

TEST(TransportSnapshot, RestoresRegistersQueueAndInterruptAndServesWhatWasWaiting) {
    FakeGuest g;
    Slot slot(g);
    slot.open(std::make_unique<VirtioRng>());
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    g.publish(g.add_chain({g.writable(16)}));
    g.publish(g.add_chain({g.writable(16)}));
    FakeGuest::notify(*slot.t);
    ASSERT_EQ(g.used_idx(), 2);
    ASSERT_TRUE(slot.level);
    g.publish(g.add_chain({g.writable(24)}));  // made available, not yet notified
    slot.t->mmio_write(QueueSel, 3, 4);        // a selector left pointing nowhere
    const auto s = round_trip(slot.t->save());
    EXPECT_EQ(s.device_id, VIRTIO_ID_RNG);

    slot.open(std::make_unique<VirtioRng>());
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_TRUE(slot.level);
    EXPECT_EQ(slot.changes, 1);
    EXPECT_EQ(reg(*slot.t, Status), kRunning);
    EXPECT_EQ(reg(*slot.t, InterruptStatus), VirtioMmioTransport::VIRTIO_MMIO_INT_VRING);
    EXPECT_EQ(reg(*slot.t, ConfigGeneration), 0u);
    EXPECT_EQ(slot.t->driver_features(), kFeatures);
    EXPECT_EQ(reg(*slot.t, QueueNum), 0u) << "queue 3 does not exist";
    slot.t->mmio_write(QueueSel, 0, 4);
    EXPECT_EQ(reg(*slot.t, QueueReady), 1u);
    EXPECT_EQ(reg(*slot.t, QueueNum), g.layout.size);
    EXPECT_EQ(reg(*slot.t, QueueDescLow), g.layout.desc.value & 0xffff'ffff);
    EXPECT_EQ(reg(*slot.t, QueueDriverLow), g.layout.avail.value & 0xffff'ffff);
    EXPECT_EQ(reg(*slot.t, QueueDeviceLow), g.layout.used.value & 0xffff'ffff);

    slot.t->mmio_write(InterruptACK, 1, 4);
    EXPECT_FALSE(slot.level);
    g.set_used_event(2);  // interrupt me for the next completion (§2.7.10)
    slot.t->kick();       // the request made available before the snapshot
    ASSERT_EQ(g.used_idx(), 3);
    EXPECT_EQ(g.used(2).id, 2u);
    EXPECT_EQ(g.used(2).len, 24u);
    EXPECT_TRUE(slot.level);
    g.publish(g.add_chain({g.writable(8)}));
    FakeGuest::notify(*slot.t);
    EXPECT_EQ(g.used_idx(), 4);
    EXPECT_EQ(g.used(3).id, 3u);
}

TEST(TransportSnapshot, AResetDeviceRestoresAsReset) {
    FakeGuest g;
    Slot slot(g);
    slot.open(std::make_unique<VirtioRng>());
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    slot.t->mmio_write(Status, 0, 4);
    const auto s = round_trip(slot.t->save());
    EXPECT_FALSE(s.activated);

    // Restored into a transport whose device is running: it is reset, not left running.
    slot.open(std::make_unique<VirtioRng>());
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_EQ(reg(*slot.t, Status), 0u);
    EXPECT_EQ(reg(*slot.t, QueueReady), 0u);
    EXPECT_FALSE(slot.level);
    g.publish(g.add_chain({g.writable(8)}));
    FakeGuest::notify(*slot.t);
    slot.t->kick();
    EXPECT_EQ(g.used_idx(), 0);
}

TEST(TransportSnapshot, ADeviceThatNeededAResetStillDoes) {
    FakeGuest g;
    Slot slot(g);
    slot.open(std::make_unique<VirtioRng>());
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    g.publish(g.layout.size + 1);  // a head past the table
    FakeGuest::notify(*slot.t);
    ASSERT_NE(reg(*slot.t, Status) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    const auto s = round_trip(slot.t->save());
    ASSERT_TRUE(s.queues[0].positions.has_value());
    EXPECT_EQ(s.queues[0].positions->error, QueueError::DescIndexOutOfRange);

    slot.open(std::make_unique<VirtioRng>());
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_NE(reg(*slot.t, Status) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    EXPECT_EQ(reg(*slot.t, InterruptStatus), VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG);
    EXPECT_TRUE(slot.level);
    slot.t->kick();
    EXPECT_EQ(g.used_idx(), 0);
    // A driver reset brings it back, as on the old device.
    EXPECT_EQ(g.init(*slot.t, kFeatures), kRunning);
}

TEST(TransportSnapshot, ARequestHeldByTheRateLimiterIsServedAfterRestore) {
    FakeGuest g;
    Slot slot(g);
    uint64_t now_ns = 1'000'000'000;
    ratelimit::RateLimiterConfig cfg;
    cfg.bandwidth = ratelimit::BucketConfig{64, 0, 1000};  // 64 bytes a second
    auto* rng = slot.open(std::make_unique<VirtioRng>(cfg, [&now_ns] { return now_ns; }));
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    g.publish(g.add_chain({g.writable(48)}));
    g.publish(g.add_chain({g.writable(48)}));
    FakeGuest::notify(*slot.t);
    ASSERT_EQ(g.used_idx(), 1);
    ASSERT_TRUE(rng->throttled());
    const auto s = round_trip(slot.t->save());

    rng = slot.open(std::make_unique<VirtioRng>(cfg, [&now_ns] { return now_ns; }));
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_TRUE(rng->throttled());
    EXPECT_EQ(rng->next_timeout_ns(), 0u) << "the new limiter starts full";
    slot.t->kick();
    ASSERT_EQ(g.used_idx(), 2);
    EXPECT_EQ(g.used(1).len, 48u);
    EXPECT_FALSE(rng->throttled());
}

// ---- Refusals --------------------------------------------------------------------------

// A temporary 64 KiB disk image.
struct TempImage {
    TempImage() {
        path = ::testing::TempDir() + "trapeze-snap-XXXXXX";
        const int fd = ::mkstemp(path.data());
        std::vector<uint8_t> bytes(64 * 1024);
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13);
        if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::abort();
        ::close(fd);
    }
    ~TempImage() { ::unlink(path.c_str()); }
    std::string path;
};

BlkConfig disk(const std::string& path) {
    BlkConfig c;
    c.path = path;
    return c;
}

class TransportRefusal : public ::testing::Test {
protected:
    TransportRefusal() : slot(g) {
        slot.open(std::make_unique<VirtioRng>());
        if (g.init(*slot.t, kFeatures) != kRunning) std::abort();
        good = slot.t->save();
        slot.open(std::make_unique<VirtioRng>());
    }
    std::string refusal(const VirtioMmioTransport::State& s) {
        const auto r = slot.t->restore(s);
        return r.ok() ? "accepted" : r.error().message;
    }

    FakeGuest g;
    Slot slot;
    VirtioMmioTransport::State good;
};

TEST_F(TransportRefusal, AnotherDeviceType) {
    TempImage image;
    slot.open(VirtioBlk::create(disk(image.path)).value());
    EXPECT_EQ(refusal(good), "virtio slot holds a virtio-blk, the snapshot has a virtio-rng");
}

TEST_F(TransportRefusal, MoreQueuesThanTheDeviceHas) {
    auto s = good;
    s.queues.push_back({});
    EXPECT_NE(refusal(s).find("2 queues, the device 1"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, AQueueLargerThanTheDeviceAllows) {
    auto s = good;
    s.queues[0].num = s.queues[0].layout.size = 2 * VirtioRng::kQueueSize;
    EXPECT_NE(refusal(s).find("size 128"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, RingsMisalignedOrOutsideThisRam) {
    auto s = good;
    s.queues[0].layout.desc = Gpa(kRamBase + 8);
    EXPECT_NE(refusal(s).find("ring addresses"), std::string::npos) << refusal(s);
    s = good;
    s.queues[0].layout.used = Gpa(kRamBase + kRamSize);
    EXPECT_NE(refusal(s).find("ring addresses"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, FeaturesTheDeviceNoLongerOffers) {
    auto s = good;
    s.driver_features |= feature_bit(5);
    EXPECT_NE(refusal(s).find("not all offered"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, PositionsTheQueueCannotHold) {
    auto s = good;
    s.queues[0].positions->next_avail = static_cast<uint16_t>(s.queues[0].layout.size + 1);
    EXPECT_NE(refusal(s).find("in flight"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, DeviceStateTheDeviceDoesNotRead) {
    auto s = good;
    s.device.push_back(0);
    EXPECT_NE(refusal(s).find("left over"), std::string::npos) << refusal(s);
    s.device = {2};
    EXPECT_NE(refusal(s).find("boolean"), std::string::npos) << refusal(s);
}

TEST_F(TransportRefusal, BadEncodings) {
    const auto bytes = encode(good);
    for (size_t n : {size_t{0}, size_t{10}, bytes.size() - 1})
        EXPECT_FALSE(decode<VirtioMmioTransport::State>(std::span(bytes).first(n)).ok()) << n;
    auto b = bytes;
    b[4 * 4 + 8 + 4 * 3] = 2;  // activated
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(b).ok());
    b = bytes;
    for (size_t i = 39; i < 43; ++i) b[i] = 0xff;  // the queue count
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(b).ok());

    auto s = good;
    s.queues[0].positions.reset();  // ready without positions
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(encode(s)).ok());
    s = good;
    s.irq_level = true;  // with no interrupt bit
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(encode(s)).ok());
    s = good;
    s.interrupt_status = 4;
    s.irq_level = true;
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(encode(s)).ok());
    s = good;
    s.activated = true;
    s.status = 0;
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(encode(s)).ok());
    // A device-state length beyond the bound, whatever the data holds.
    s = good;
    s.device.clear();
    auto long_device = encode(s);
    const uint32_t huge = VirtioMmioTransport::kMaxDeviceStateBytes + 1;
    std::memcpy(long_device.data() + long_device.size() - 4, &huge, 4);
    EXPECT_FALSE(decode<VirtioMmioTransport::State>(long_device).ok());
}

// ---- virtio-blk ------------------------------------------------------------------------

std::vector<uint8_t> blk_header(uint32_t type, uint64_t sector) {
    std::vector<uint8_t> h(16, 0);
    std::memcpy(h.data(), &type, 4);
    std::memcpy(h.data() + 8, &sector, 8);
    return h;
}

TEST(BlkSnapshot, AReadAfterRestoreCompletesAtTheNextUsedIndex) {
    TempImage image;
    FakeGuest g;
    Slot slot(g);
    slot.open(VirtioBlk::create(disk(image.path)).value());
    ASSERT_EQ(g.init(*slot.t, kFeatures), kRunning);
    for (uint64_t sector : {uint64_t{0}, uint64_t{1}}) {
        g.publish(
            g.add_chain({g.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_IN, sector)), g.writable(512), g.writable(1)}));
        FakeGuest::notify(*slot.t);
    }
    ASSERT_EQ(g.used_idx(), 2);
    const auto s = round_trip(slot.t->save());

    slot.t.reset();  // lets go of the image's lock
    slot.open(VirtioBlk::create(disk(image.path)).value());
    ASSERT_TRUE(slot.t->restore(s).ok());
    const Buf data = g.writable(512);
    const Buf status = g.writable(1);
    g.publish(g.add_chain({g.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_IN, 3)), data, status}));
    FakeGuest::notify(*slot.t);
    ASSERT_EQ(g.used_idx(), 3);
    EXPECT_EQ(g.used(2).len, 513u);
    EXPECT_EQ(g.read(status.gpa, 1)[0], VirtioBlk::VIRTIO_BLK_S_OK);
    EXPECT_EQ(g.read(data.gpa, 1)[0], static_cast<uint8_t>(3 * 512 * 13));
}

}  // namespace
}  // namespace trapeze::virtio::test
