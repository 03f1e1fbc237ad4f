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

}  // namespace
}  // namespace trapeze::machine
