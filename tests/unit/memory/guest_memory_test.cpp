#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <utility>

#include "base/huge_region.hpp"
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

// Huge pages can back only whole 2 MiB-aligned ranges of a mapping; the alignment is
// HugeRegion's to keep whatever the host's mmap returns. Every byte stays usable after the
// over-sized reservation is trimmed, and fresh memory reads as zero.
TEST(HugeRegion, StartsOnAHugePageBoundaryAndIsWhollyUsable) {
    for (const size_t size : {size_t{0x1000}, size_t{3} << 20, size_t{64} << 20}) {
        HugeRegion r = HugeRegion::map(size).value();
        ASSERT_EQ(r.size(), size);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data()) % HugeRegion::kHugePage, 0u) << size;
        EXPECT_EQ(r.data()[0], 0);
        EXPECT_EQ(r.data()[size - 1], 0);
        r.data()[0] = 1;
        r.data()[size - 1] = 2;
        EXPECT_EQ(r.data()[size - 1], 2);
    }
}

TEST(HugeRegion, RefusesSizesItCannotMap) {
    EXPECT_FALSE(HugeRegion::map(0).ok());
    EXPECT_FALSE(HugeRegion::map(SIZE_MAX - 4096).ok());
    EXPECT_FALSE(HugeRegion::map(size_t{1} << 60).ok());  // more than the address space
}

TEST(HugeRegion, MovesOwnership) {
    HugeRegion a = HugeRegion::map(4096).value();
    uint8_t* p = a.data();
    HugeRegion b = std::move(a);
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    HugeRegion c;
    c = std::move(b);
    EXPECT_EQ(c.data(), p);
    EXPECT_EQ(c.size(), 4096u);
}

TEST(GuestMemory, RamIsAHugeRegion) {
    auto mem = GuestMemory::create(Gpa(0x80000000), uint64_t{4} << 20).value();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mem.host_base()) % HugeRegion::kHugePage, 0u);
    mem.host_base()[(uint64_t{4} << 20) - 1] = 7;
    EXPECT_EQ(mem.span(Gpa(0x80000000 + (uint64_t{4} << 20) - 1), 1)[0], 7);
}

}  // namespace
}  // namespace trapeze
