#include <gtest/gtest.h>

#include "machine/machine_config.hpp"

namespace trapeze::machine {
namespace {

TEST(DiskOption, ParsesPathReadOnlyAndId) {
    auto d = parse_disk_option("/tmp/a.img,ro,id=root");
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->path, "/tmp/a.img");
    EXPECT_TRUE(d->read_only);
    EXPECT_EQ(d->id, "root");
    auto plain = parse_disk_option("b.img");
    ASSERT_TRUE(plain.ok());
    EXPECT_FALSE(plain->read_only);
    EXPECT_TRUE(plain->id.empty());
}

TEST(DiskOption, RejectsUnknownOptionsEmptyPathsAndLongIds) {
    EXPECT_FALSE(parse_disk_option("a.img,rw").ok());
    EXPECT_FALSE(parse_disk_option(",ro").ok());
    EXPECT_FALSE(parse_disk_option("").ok());
    auto long_id = parse_disk_option("a.img,id=123456789012345678901");
    ASSERT_FALSE(long_id.ok());
    EXPECT_NE(long_id.error().message.find("longer than 20"), std::string::npos);
}

TEST(DiskOption, MapsBandwidthAndIopsToOneSecondBuckets) {
    auto d = parse_disk_option("a.img,bw=2M,iops=150");
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_TRUE(d->rate_limiter.has_value());
    EXPECT_EQ(d->rate_limiter->bandwidth, (ratelimit::BucketConfig{2u << 20, 0, 1000}));
    EXPECT_EQ(d->rate_limiter->ops, (ratelimit::BucketConfig{150, 0, 1000}));
    auto bw_only = parse_disk_option("a.img,ro,bw=1000");
    ASSERT_TRUE(bw_only.ok()) << bw_only.error().message;
    EXPECT_EQ(bw_only->rate_limiter->bandwidth, (ratelimit::BucketConfig{1000, 0, 1000}));
    EXPECT_FALSE(bw_only->rate_limiter->ops.has_value());
    EXPECT_FALSE(parse_disk_option("a.img").value().rate_limiter.has_value());
}

TEST(DiskOption, RejectsZeroMalformedAndOverflowingRates) {
    for (const char* bad : {"a.img,bw=0", "a.img,bw=", "a.img,bw=1T", "a.img,iops=-1", "a.img,iops=1.5",
                            "a.img,bw=18446744073709551615K", "a.img,bw=M"}) {
        auto d = parse_disk_option(bad);
        EXPECT_FALSE(d.ok()) << bad;
    }
    auto d = parse_disk_option("a.img,bw=fast");
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("bw 'fast'"), std::string::npos) << d.error().message;
}

// An id is the disk's virtio-blk serial, what /dev/disk/by-id names it by: two disks with one
// id are refused, naming both; disks without an id may be many.
TEST(DiskOption, RejectsTwoDisksWithOneId) {
    auto disks = parse_disk_options({"a.img,id=data", "b.img", "c.img", "d.img,ro,id=data"});
    ASSERT_FALSE(disks.ok());
    EXPECT_NE(
        disks.error().message.find("--disk 'd.img,ro,id=data': id 'data' is already that of --disk 'a.img,id=data'"),
        std::string::npos)
        << disks.error().message;
    auto distinct = parse_disk_options({"a.img,id=data", "b.img", "c.img", "d.img,id=logs"});
    ASSERT_TRUE(distinct.ok()) << distinct.error().message;
    ASSERT_EQ(distinct->size(), 4u);
    EXPECT_EQ((*distinct)[3].id, "logs");
    EXPECT_FALSE(parse_disk_options({"a.img", "b.img,rw"}).ok());
}

}  // namespace
}  // namespace trapeze::machine
