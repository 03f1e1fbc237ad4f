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

// Huge pages can back only whole 2 MiB-aligned ranges of the mapping; the alignment is
// trapeze's to keep whatever the host's mmap returns. Every byte stays usable after the
// over-sized reservation is trimmed, and fresh RAM reads as zero.
TEST(GuestMemory, RamStartsOnAHugePageBoundaryAndIsWhollyUsable) {
    for (const uint64_t size : {uint64_t{0x1000}, uint64_t{3} << 20, uint64_t{64} << 20}) {
        auto mem = GuestMemory::create(Gpa(0x80000000), size).value();
        EXPECT_EQ(reinterpret_cast<uintptr_t>(mem.host_base()) % (uint64_t{2} << 20), 0u) << size;
        EXPECT_EQ(mem.host_base()[0], 0);
        EXPECT_EQ(mem.host_base()[size - 1], 0);
        mem.host_base()[0] = 1;
        mem.host_base()[size - 1] = 2;
        EXPECT_EQ(mem.span(Gpa(0x80000000 + size - 1), 1)[0], 2);
    }
}

}  // namespace
}  // namespace trapeze
