#include "virtio/virtio_blk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "fake_guest.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint64_t kSectors = 128;
constexpr uint64_t kImageBytes = kSectors * 512;

uint8_t pattern(uint64_t offset) { return static_cast<uint8_t>(offset * 7 + (offset >> 9)); }

// A raw image file filled with a known pattern, removed at the end of the test.
class TempImage {
public:
    TempImage() {
        path = ::testing::TempDir() + "trapeze-blk-XXXXXX";
        const int fd = ::mkstemp(path.data());
        std::vector<uint8_t> bytes(kImageBytes);
        for (uint64_t i = 0; i < kImageBytes; ++i) bytes[i] = pattern(i);
        if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::abort();
        ::close(fd);
    }
    ~TempImage() { ::unlink(path.c_str()); }
    std::vector<uint8_t> contents() const {
        std::vector<uint8_t> out(kImageBytes + 512);
        const int fd = ::open(path.c_str(), O_RDONLY);
        const ssize_t n = ::read(fd, out.data(), out.size());
        ::close(fd);
        out.resize(n < 0 ? 0 : static_cast<size_t>(n));
        return out;
    }

    std::string path;
};

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
    std::vector<uint8_t> h(16, 0);
    std::memcpy(h.data(), &type, 4);
    std::memcpy(h.data() + 8, &sector, 8);
    return h;
}

std::vector<uint8_t> segment(uint64_t sector, uint32_t sectors, uint32_t flags) {
    std::vector<uint8_t> s(16, 0);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &sectors, 4);
    std::memcpy(s.data() + 12, &flags, 4);
    return s;
}

class Blk : public ::testing::Test {
protected:
    void open(bool read_only = false, std::string id = "trapeze-disk-0",
              std::optional<ratelimit::RateLimiterConfig> limiter = {}) {
        auto created = VirtioBlk::create(BlkConfig{image.path, read_only, std::move(id), limiter},
                                         [this] { return now_ns; });
        ASSERT_TRUE(created.ok()) << created.error().message;
        blk = created->get();
        t = std::make_unique<VirtioMmioTransport>(g.mem, irq, std::move(created.value()));
        const uint32_t status = g.init(*t, t->device().device_features());
        ASSERT_NE(status & VIRTIO_CONFIG_S_DRIVER_OK, 0u);
    }

    struct Reply {
        uint8_t status;
        uint32_t used_len;
    };
    // Submits one request: `bufs` then a status byte. Returns what the device answered.
    Reply submit(std::vector<Buf> bufs) {
        const Buf status = g.writable(1);
        bufs.push_back(status);
        g.publish(g.add_chain(bufs));
        const uint16_t before = g.used_idx();
        FakeGuest::notify(*t);
        EXPECT_EQ(g.used_idx(), static_cast<uint16_t>(before + 1));
        return {g.read(status.gpa, 1)[0], g.used(before).len};
    }

    // Queues a read of `bytes` at `sector` without notifying; returns its data buffer.
    Buf queue_read(uint64_t sector, uint32_t bytes) {
        const Buf data = g.writable(bytes);
        g.publish(g.add_chain({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, sector)), data, g.writable(1)}));
        return data;
    }
    // The rate limiter's clock, moved by the tests.
    uint64_t now_ns = 5'000'000'000;

    TempImage image;
    FakeGuest g{64};
    IrqLine irq;
    VirtioBlk* blk = nullptr;
    std::unique_ptr<VirtioMmioTransport> t;
};

TEST_F(Blk, ReportsCapacityInSectorsFromTheFileSize) {
    open();
    EXPECT_EQ(blk->capacity_sectors(), kSectors);
    EXPECT_EQ(t->mmio_read(0x100, 8), kSectors);
    EXPECT_EQ(t->mmio_read(0x100 + 20, 4), 512u) << "blk_size";
    EXPECT_EQ(t->mmio_read(0x008, 4), VIRTIO_ID_BLOCK);
}

TEST_F(Blk, ReadsSectorsFromTheImage) {
    open();
    const Buf data = g.writable(1024);
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, 3)), data});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_OK);
    EXPECT_EQ(r.used_len, 1025u);
    const auto got = g.read(data.gpa, 1024);
    for (uint64_t i = 0; i < 1024; ++i) ASSERT_EQ(got[i], pattern(3 * 512 + i)) << i;
}

TEST_F(Blk, ReadsIntoManySmallBuffersThroughAnIndirectTable) {
    open();
    std::vector<Buf> bufs{g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, 0))};
    for (int i = 0; i < 8; ++i) bufs.push_back(g.writable(64));
    const Buf status = g.writable(1);
    bufs.push_back(status);
    g.publish(g.add_indirect_chain(bufs));
    FakeGuest::notify(*t);
    ASSERT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.read(status.gpa, 1)[0], VirtioBlk::VIRTIO_BLK_S_OK);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(g.read(bufs[1 + static_cast<size_t>(i)].gpa, 1)[0], pattern(64u * static_cast<unsigned>(i)));
}

TEST_F(Blk, WritesSectorsToTheImage) {
    open();
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_OUT, 5)), g.readable(std::vector<uint8_t>(512, 0xab))});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_OK);
    EXPECT_EQ(r.used_len, 1u);
    const auto file = image.contents();
    EXPECT_EQ(file[5 * 512], 0xab);
    EXPECT_EQ(file[6 * 512 - 1], 0xab);
    EXPECT_EQ(file[6 * 512], pattern(6 * 512));
}

TEST_F(Blk, FlushSucceeds) {
    open();
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0))}).status, VirtioBlk::VIRTIO_BLK_S_OK);
}

TEST_F(Blk, GetIdReturnsTheConfiguredIdZeroPadded) {
    open(false, "disk-A");
    const Buf id = g.writable(20);
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_GET_ID, 0)), id});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_OK);
    EXPECT_EQ(r.used_len, 21u);
    const auto got = g.read(id.gpa, 20);
    EXPECT_EQ(std::string(got.begin(), got.begin() + 6), "disk-A");
    EXPECT_EQ(got[6], 0);
    EXPECT_EQ(got[19], 0);
}

TEST_F(Blk, DiscardLeavesTheRangeReadingAsZeroes) {
    open();
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_DISCARD, 0)), g.readable(segment(8, 16, 0))});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_OK);
    const auto file = image.contents();
    ASSERT_EQ(file.size(), kImageBytes) << "the file keeps its size";
    EXPECT_EQ(file[8 * 512], 0);
    EXPECT_EQ(file[24 * 512 - 1], 0);
    EXPECT_EQ(file[24 * 512], pattern(24 * 512));
}

TEST_F(Blk, DiscardWithTheUnmapFlagIsUnsupported) {
    open();
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_DISCARD, 0)), g.readable(segment(8, 16, 1))});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_UNSUPP);
    EXPECT_EQ(image.contents()[8 * 512], pattern(8 * 512));
}

TEST_F(Blk, WriteZeroesZeroesEverySegment) {
    open();
    auto segs = segment(1, 1, 0);
    const auto second = segment(100, 2, VirtioBlk::VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    segs.insert(segs.end(), second.begin(), second.end());
    const Reply r = submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_WRITE_ZEROES, 0)), g.readable(segs)});
    EXPECT_EQ(r.status, VirtioBlk::VIRTIO_BLK_S_OK);
    const auto file = image.contents();
    EXPECT_EQ(file[512 + 100], 0);
    EXPECT_EQ(file[2 * 512], pattern(2 * 512));
    EXPECT_EQ(file[101 * 512 + 511], 0);
    EXPECT_EQ(file[102 * 512], pattern(102 * 512));
}

TEST_F(Blk, ReadOnlyDiskRefusesEveryWriteAndLeavesTheFileUnchanged) {
    const auto before = image.contents();
    open(true);
    EXPECT_NE(t->device().device_features() & feature_bit(VirtioBlk::VIRTIO_BLK_F_RO), 0u);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_OUT, 0)), g.readable(std::vector<uint8_t>(512, 1))}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_DISCARD, 0)), g.readable(segment(0, 8, 0))}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_WRITE_ZEROES, 0)), g.readable(segment(0, 8, 0))}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, 0)), g.writable(512)}).status, VirtioBlk::VIRTIO_BLK_S_OK);
    EXPECT_EQ(image.contents(), before);
}

TEST_F(Blk, SectorsPastTheEndAreAnIoError) {
    open();
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, kSectors)), g.writable(512)}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, kSectors - 1)), g.writable(1024)}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_OUT, UINT64_MAX)), g.readable(std::vector<uint8_t>(512, 1))}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_WRITE_ZEROES, 0)), g.readable(segment(UINT64_MAX - 1, 4, 0))}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(image.contents().size(), kImageBytes);
}

TEST_F(Blk, DataThatIsNotWholeSectorsIsAnIoError) {
    open();
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_IN, 0)), g.writable(100)}).status,
              VirtioBlk::VIRTIO_BLK_S_IOERR);
}

TEST_F(Blk, AnUnknownRequestTypeIsUnsupported) {
    open();
    EXPECT_EQ(submit({g.readable(header(77, 0))}).status, VirtioBlk::VIRTIO_BLK_S_UNSUPP);
}

TEST_F(Blk, AHeaderShorterThan16BytesIsAnIoError) {
    open();
    EXPECT_EQ(submit({g.readable({0, 0, 0, 0})}).status, VirtioBlk::VIRTIO_BLK_S_IOERR);
    EXPECT_EQ((t->status() & VIRTIO_CONFIG_S_NEEDS_RESET), 0u) << "the device keeps working";
    EXPECT_EQ(submit({g.readable(header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0))}).status, VirtioBlk::VIRTIO_BLK_S_OK);
}

TEST_F(Blk, ARequestWithoutAStatusByteSetsNeedsReset) {
    open();
    g.publish(g.add_chain({g.readable(header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0))}));
    FakeGuest::notify(*t);
    EXPECT_EQ(g.used_idx(), 1) << "the request is returned, with nothing written";
    EXPECT_EQ(g.used(0).len, 0u);
    EXPECT_NE(t->status() & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(Blk, AMalformedChainSetsNeedsResetAndTouchesNothing) {
    const auto before = image.contents();
    open();
    g.set_desc(0, g.alloc(16).value, 16, VIRTQ_DESC_F_NEXT, 1);
    g.set_desc(1, kRamBase + kRamSize - 256, 512, 0, 0);  // data runs past the end of RAM
    g.publish(0);
    FakeGuest::notify(*t);
    EXPECT_NE(t->status() & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
    EXPECT_EQ(image.contents(), before);
}

TEST(BlkCreate, FailsWithTheFileNameForAMissingImage) {
    auto r = VirtioBlk::create(BlkConfig{"/nonexistent/disk.img", false, ""});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("/nonexistent/disk.img"), std::string::npos);
}

TEST(BlkCreate, RefusesAnIdLongerThan20Bytes) {
    TempImage image;
    EXPECT_FALSE(VirtioBlk::create(BlkConfig{image.path, false, std::string(21, 'x')}).ok());
}

TEST(BlkCreate, RefusesAnImageAlreadyOpenForWriting) {
    TempImage image;
    auto first = VirtioBlk::create(BlkConfig{image.path, false, ""});
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(VirtioBlk::create(BlkConfig{image.path, false, ""}).ok());
}

// A qcow2 (or VMDK, VHDX) file would reach the guest as its container's bytes, and a guest
// that formats that disk destroys the image: refused, the file untouched, even read-only.
TEST(BlkCreate, RefusesAQcow2ImageAndLeavesItUnchanged) {
    TempImage image;
    const int fd = ::open(image.path.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, "QFI\xfb\0\0\0\3", 8, 0), 8);
    ::close(fd);
    const auto before = image.contents();
    for (const bool read_only : {false, true}) {
        auto r = VirtioBlk::create(BlkConfig{image.path, read_only, ""});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message,
                  "disk '" + image.path + "' is a qcow2 image; trapeze takes raw images (qemu-img convert -O raw)");
    }
    EXPECT_EQ(image.contents(), before);
}

constexpr uint64_t kMs = 1'000'000;

ratelimit::RateLimiterConfig limiter(std::optional<ratelimit::BucketConfig> bandwidth,
                                     std::optional<ratelimit::BucketConfig> ops = {}) {
    ratelimit::RateLimiterConfig c;
    c.bandwidth = bandwidth;
    c.ops = ops;
    return c;
}

TEST_F(Blk, HoldsReadsInTheRingWhileTheBandwidthIsSpentAndServesThemAsItRefills) {
    open(false, "", limiter(ratelimit::BucketConfig{2048, 0, 1000}));  // 2 KiB/s
    const Buf a = queue_read(0, 1024);
    const Buf b = queue_read(2, 1024);
    const Buf c = queue_read(4, 1024);
    FakeGuest::notify(*t);
    EXPECT_EQ(g.used_idx(), 2) << "the bucket held two reads";
    EXPECT_TRUE(blk->throttled());
    EXPECT_EQ(blk->next_timeout_ns(), 500 * kMs) << "1 KiB at 2 KiB/s";
    t->mmio_write(0x064, t->mmio_read(0x060, 4), 4);  // the driver acknowledges the interrupt
    g.set_used_event(g.used_idx());                   // and wants one for the next completion

    FakeGuest::notify(*t);  // the driver kicks again: still no tokens
    now_ns += 499 * kMs;
    blk->poll();
    EXPECT_EQ(g.used_idx(), 2);
    EXPECT_EQ(t->mmio_read(0x060, 4), 0u) << "no interrupt for nothing";

    now_ns += 1 * kMs;
    EXPECT_EQ(blk->next_timeout_ns(), 0u);
    blk->poll();
    ASSERT_EQ(g.used_idx(), 3);
    EXPECT_EQ(g.used(2).len, 1025u);
    EXPECT_EQ(t->mmio_read(0x060, 4) & 1, 1u) << "used buffer interrupt";
    EXPECT_FALSE(blk->throttled());
    EXPECT_EQ(blk->next_timeout_ns(), EventSource::kNoTimeout);
    // In order, each with its own data.
    for (const auto& [buf, sector] : {std::pair<Buf, uint64_t>{a, 0}, {b, 2}, {c, 4}}) {
        const auto got = g.read(buf.gpa, 1024);
        for (uint64_t i = 0; i < 1024; ++i) ASSERT_EQ(got[i], pattern(sector * 512 + i)) << sector << " " << i;
    }
    EXPECT_EQ(blk->rate_limiter().stats().bytes, 3072u);
}

TEST_F(Blk, CountsEveryRequestAgainstTheOpsBucketButOnlyReadsAndWritesAsBytes) {
    open(false, "", limiter(ratelimit::BucketConfig{4096, 0, 1000}, ratelimit::BucketConfig{2, 0, 1000}));
    g.publish(g.add_chain({g.readable(header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0)), g.writable(1)}));
    queue_read(0, 4096);
    g.publish(g.add_chain({g.readable(header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0)), g.writable(1)}));
    FakeGuest::notify(*t);
    EXPECT_EQ(g.used_idx(), 2) << "two ops a second";
    EXPECT_EQ(blk->rate_limiter().stats().bytes, 4096u) << "a flush moves no data";
    EXPECT_EQ(blk->next_timeout_ns(), 500 * kMs);
    now_ns += 500 * kMs;
    blk->poll();
    EXPECT_EQ(g.used_idx(), 3);
}

TEST_F(Blk, ServesAWaitingRequestAtOnceWhenItsLimitIsLifted) {
    open(false, "", limiter(ratelimit::BucketConfig{512, 0, 60'000}));
    queue_read(0, 512);
    queue_read(1, 512);
    FakeGuest::notify(*t);
    ASSERT_EQ(g.used_idx(), 1);
    ASSERT_TRUE(blk->throttled());
    blk->update_rate_limiter(limiter(ratelimit::BucketConfig{}));  // PATCH with size 0: no limit
    EXPECT_EQ(g.used_idx(), 2);
    EXPECT_FALSE(blk->rate_limiter().limits());
}

TEST_F(Blk, ForgetsAWaitingRequestWhenTheDriverResets) {
    open(false, "", limiter(ratelimit::BucketConfig{512, 0, 1000}));
    queue_read(0, 512);
    queue_read(1, 512);
    FakeGuest::notify(*t);
    ASSERT_TRUE(blk->throttled());
    t->mmio_write(0x070, 0, 4);  // reset
    EXPECT_EQ(blk->next_timeout_ns(), EventSource::kNoTimeout);
    now_ns += 10'000 * kMs;
    blk->poll();  // nothing to serve, and no ring to serve it from
    EXPECT_EQ(g.used_idx(), 1);
}

}  // namespace
}  // namespace trapeze::virtio::test
