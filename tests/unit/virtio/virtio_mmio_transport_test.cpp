#include "virtio/virtio_mmio_transport.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "fake_guest.hpp"
#include "virtio/virtio_rng.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint64_t kDeviceOnlyFeature = feature_bit(3);

// A device that records what the transport asks of it.
class RecordingDevice final : public VirtioDevice {
public:
    uint32_t device_id() const override { return 42; }
    uint64_t device_features() const override { return kCommonFeatures | kDeviceOnlyFeature; }
    uint16_t queue_count() const override { return 2; }
    uint16_t queue_max_size(uint16_t) const override { return 16; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override {
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x10 + offset + i);
    }
    void activate(const ActivateContext& ctx) override {
        ++activations;
        features = ctx.features;
        signals = &ctx.signals;
        queues_enabled = ctx.queues.size() == 2 && ctx.queues[0] != nullptr && ctx.queues[1] == nullptr;
    }
    void reset() override { ++resets; }
    void process_queue(uint16_t index) override { notified.push_back(index); }

    int activations = 0;
    int resets = 0;
    uint64_t features = 0;
    bool queues_enabled = false;
    VirtioSignals* signals = nullptr;
    std::vector<uint16_t> notified;
};

class Transport : public ::testing::Test {
protected:
    Transport() {
        irq.connect([this](bool l) { level = l; });
        auto d = std::make_unique<RecordingDevice>();
        dev = d.get();
        t = std::make_unique<VirtioMmioTransport>(g.mem, irq, std::move(d));
    }
    uint32_t reg(uint64_t off) { return static_cast<uint32_t>(t->mmio_read(off, 4)); }
    void set(uint64_t off, uint32_t v) { t->mmio_write(off, v, 4); }

    FakeGuest g;
    IrqLine irq;
    bool level = false;
    RecordingDevice* dev = nullptr;
    std::unique_ptr<VirtioMmioTransport> t;
};

TEST_F(Transport, IdentifiesAsAVersion2VirtioMmioDevice) {
    EXPECT_EQ(reg(0x000), 0x74726976u);
    EXPECT_EQ(reg(0x004), 2u);
    EXPECT_EQ(reg(0x008), 42u);
    EXPECT_EQ(reg(0x00c), VirtioMmioTransport::kVendorId);
    EXPECT_EQ(t->mmio_read(0x000, 1), 0u) << "registers take 32-bit accesses only";
}

TEST_F(Transport, ShowsTheDeviceFeaturesThroughTheSelector) {
    set(0x014, 0);
    EXPECT_EQ(reg(0x010), static_cast<uint32_t>(kCommonFeatures | kDeviceOnlyFeature));
    set(0x014, 1);
    EXPECT_EQ(reg(0x010), 1u) << "VIRTIO_F_VERSION_1 is bit 32";
    set(0x014, 2);
    EXPECT_EQ(reg(0x010), 0u);
}

TEST_F(Transport, AcceptsFeaturesOkForAnOfferedSubsetWithVersion1) {
    const uint32_t status = g.init(*t, feature_bit(VIRTIO_F_VERSION_1) | kDeviceOnlyFeature);
    EXPECT_NE(status & VIRTIO_CONFIG_S_FEATURES_OK, 0u);
    EXPECT_NE(status & VIRTIO_CONFIG_S_DRIVER_OK, 0u);
    EXPECT_EQ(dev->activations, 1);
    EXPECT_EQ(dev->features, feature_bit(VIRTIO_F_VERSION_1) | kDeviceOnlyFeature);
    EXPECT_TRUE(dev->queues_enabled);
}

TEST_F(Transport, RefusesFeaturesOkWhenTheDriverSetsAnUnofferedBit) {
    const uint32_t status = g.init(*t, feature_bit(VIRTIO_F_VERSION_1) | feature_bit(5));
    EXPECT_EQ(status & VIRTIO_CONFIG_S_FEATURES_OK, 0u);
    EXPECT_EQ(dev->activations, 0);
}

TEST_F(Transport, RefusesFeaturesOkWithoutVersion1) {
    const uint32_t status = g.init(*t, kDeviceOnlyFeature);
    EXPECT_EQ(status & VIRTIO_CONFIG_S_FEATURES_OK, 0u);
}

TEST_F(Transport, SetsUpAQueueFromItsRegisters) {
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    set(0x030, 0);
    EXPECT_EQ(reg(0x034), 16u);
    EXPECT_EQ(reg(0x038), 16u);
    EXPECT_EQ(reg(0x044), 1u);
    EXPECT_EQ(reg(0x080), static_cast<uint32_t>(g.layout.desc.value));
    EXPECT_EQ(reg(0x0a0), static_cast<uint32_t>(g.layout.used.value));
    set(0x030, 1);
    EXPECT_EQ(reg(0x044), 0u);
    set(0x030, 7);
    EXPECT_EQ(reg(0x034), 0u) << "a queue the device does not have has size 0";
}

TEST_F(Transport, PassesQueueNotificationsToTheActiveDevice) {
    FakeGuest::notify(*t, 0);
    EXPECT_TRUE(dev->notified.empty()) << "not before DRIVER_OK";
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    FakeGuest::notify(*t, 0);
    FakeGuest::notify(*t, 1);  // not enabled
    FakeGuest::notify(*t, 9);  // does not exist
    EXPECT_EQ(dev->notified, std::vector<uint16_t>{0});
}

TEST_F(Transport, WritingZeroToStatusResetsTheDeviceAndItsQueues) {
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    set(0x070, 0);
    EXPECT_EQ(reg(0x070), 0u);
    EXPECT_EQ(dev->resets, 1);
    set(0x030, 0);
    EXPECT_EQ(reg(0x044), 0u);
    EXPECT_EQ(reg(0x080), 0u);
    FakeGuest::notify(*t, 0);
    EXPECT_TRUE(dev->notified.empty());
}

TEST_F(Transport, RaisesTheLineForAConfigChangeUntilAcknowledged) {
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    dev->signals->notify_used(0);
    EXPECT_FALSE(level) << "nothing was added to the used ring";
    dev->signals->config_changed();
    EXPECT_TRUE(level);
    EXPECT_EQ(reg(0x060), VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG);
    EXPECT_EQ(reg(0x0fc), 1u) << "config generation bumped";
    set(0x064, VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG);
    EXPECT_FALSE(level);
    EXPECT_EQ(reg(0x060), 0u);
}

TEST_F(Transport, ReadsConfigSpaceFromTheDeviceInAnyAccessSize) {
    EXPECT_EQ(t->mmio_read(0x100, 1), 0x10u);
    EXPECT_EQ(t->mmio_read(0x102, 2), 0x1312u);
    EXPECT_EQ(t->mmio_read(0x104, 4), 0x17161514u);
}

TEST_F(Transport, ReportsNoSharedMemoryRegions) {
    set(0x0ac, 0);
    EXPECT_EQ(reg(0x0b0), 0xffff'ffffu);
    EXPECT_EQ(reg(0x0b4), 0xffff'ffffu);
}

TEST_F(Transport, SetsNeedsResetForAQueueOutsideRam) {
    g.layout.used = Gpa(kRamBase + kRamSize);  // the used ring would lie past the end of RAM
    const uint32_t status = g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    EXPECT_NE(status & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    set(0x030, 0);
    EXPECT_EQ(reg(0x044), 0u) << "the malformed queue is not enabled";
}

TEST_F(Transport, SetsNeedsResetForAQueueSizeThatIsNotAPowerOfTwo) {
    g.layout.size = 12;
    const uint32_t status = g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    EXPECT_NE(status & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(Transport, RefusesAQueueSizeAboveSixteenBitsInsteadOfTruncatingIt) {
    // 0x10010 truncated to 16 bits is 16, the device's maximum: it must not become a valid size.
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1), /*ready=*/false);
    set(0x030, 0);
    set(0x038, 0x10010);
    set(0x044, 1);
    EXPECT_EQ(reg(0x044), 0u) << "QueueReady stays 0";
    EXPECT_NE(reg(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(Transport, RefusesAQueueSizeAboveQueueNumMax) {
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1), /*ready=*/false);
    set(0x030, 0);
    set(0x038, 32);  // a power of two, but QueueNumMax is 16
    set(0x044, 1);
    EXPECT_EQ(reg(0x044), 0u);
}

TEST_F(Transport, NeedsResetAfterDriverOkRaisesAConfigInterruptAndStopsNotifications) {
    g.init(*t, feature_bit(VIRTIO_F_VERSION_1));
    dev->signals->needs_reset("test");
    EXPECT_NE(reg(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    EXPECT_EQ(reg(0x060), VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG);
    EXPECT_TRUE(level);
    FakeGuest::notify(*t, 0);
    EXPECT_TRUE(dev->notified.empty());
    set(0x070, 0);
    EXPECT_EQ(reg(0x070), 0u) << "a reset clears NEEDS_RESET";
    EXPECT_FALSE(level);
}

TEST_F(Transport, ReturnsUsedBuffersWithAnInterruptThroughARealDevice) {
    IrqLine line;
    bool rng_level = false;
    line.connect([&](bool l) { rng_level = l; });
    VirtioMmioTransport rng(g.mem, line, std::make_unique<VirtioRng>());
    g.init(rng, kCommonFeatures);
    g.publish(g.add_chain({g.writable(32)}));
    FakeGuest::notify(rng);
    EXPECT_EQ(g.used_idx(), 1);
    EXPECT_TRUE(rng_level);
    EXPECT_EQ(rng.interrupt_status(), VirtioMmioTransport::VIRTIO_MMIO_INT_VRING);
}

TEST_F(Transport, AMalformedChainSetsNeedsResetWithAConfigInterrupt) {
    IrqLine line;
    bool rng_level = false;
    line.connect([&](bool l) { rng_level = l; });
    VirtioMmioTransport rng(g.mem, line, std::make_unique<VirtioRng>());
    g.init(rng, kCommonFeatures);
    g.set_desc(0, g.alloc(4).value, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);  // a one-descriptor loop
    g.publish(0);
    FakeGuest::notify(rng);
    EXPECT_NE(rng.status() & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    EXPECT_EQ(rng.interrupt_status(), VirtioMmioTransport::VIRTIO_MMIO_INT_CONFIG);
    EXPECT_TRUE(rng_level);
    EXPECT_EQ(g.used_idx(), 0);
}

}  // namespace
}  // namespace trapeze::virtio::test
