#include <gtest/gtest.h>

#include <array>

#include "memory/guest_memory.hpp"

namespace trapeze {
namespace {

TEST(GuestMemory, RejectsSizesThatAreNotWholePages) {
    EXPECT_FALSE(GuestMemory::create(Gpa(0x80000000), 0).ok());
    EXPECT_FALSE(GuestMemory::create(Gpa(0x80000000), 4097).ok());
}

TEST(GuestMemory, SpanRefusesRangesThatLeaveRamOrWrap) {
    auto mem = GuestMemory::create(Gpa(0x80000000), 0x10000).value();
    EXPECT_EQ(mem.span(Gpa(0x80000000), 0x10000).size(), 0x10000u);
    EXPECT_TRUE(mem.span(Gpa(0x8000ffff), 2).empty());
    EXPECT_TRUE(mem.span(Gpa(0x7fffffff), 1).empty());
    EXPECT_TRUE(mem.span(Gpa(0x80000010), ~0ull).empty());  // length overflow
    EXPECT_TRUE(mem.span(Gpa(~0ull), 2).empty());
}

TEST(GuestMemory, ReadAndWriteCopyOnlyWhenWhollyInside) {
    auto mem = GuestMemory::create(Gpa(0x1000), 0x1000).value();
    std::array<uint8_t, 4> in{1, 2, 3, 4}, out{};
    EXPECT_TRUE(mem.write(Gpa(0x1ffc), in));
    EXPECT_TRUE(mem.read(Gpa(0x1ffc), out));
    EXPECT_EQ(in, out);
    EXPECT_FALSE(mem.write(Gpa(0x1ffe), in));
    EXPECT_EQ(mem.span(Gpa(0x1ffe), 2)[0], 3);  // nothing was written by the failed call
}

TEST(GuestMemory, HostPageIsNullOutsideRam) {
    auto mem = GuestMemory::create(Gpa(0x1000), 0x2000).value();
    EXPECT_EQ(mem.host_page(Gpa(0x1abc)), mem.host_base());
    EXPECT_EQ(mem.host_page(Gpa(0x3000)), nullptr);
}

}  // namespace
}  // namespace trapeze
