#include <gtest/gtest.h>

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include "base/page_allocator.hpp"

namespace trapeze {
namespace {

// The VmFlags line of the /proc/self/smaps entry that contains `p`.
std::string vm_flags_of(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto at = reinterpret_cast<uintptr_t>(p);
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
            inside = lo <= at && at < hi;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line;
        }
    }
    return "";
}

struct Entry {
    uint64_t pa;
    const void* block;
};

TEST(PageArray, StartsAsZeroesInAPageAlignedMappingAdvisedAgainstHugePages) {
    PageArray<Entry> a(32768);
    ASSERT_EQ(a.size(), 32768u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&a[0]) % 4096, 0u);
    for (size_t i = 0; i < a.size(); i += 1000) {
        EXPECT_EQ(a[i].pa, 0u);
        EXPECT_EQ(a[i].block, nullptr);
    }
    a[32767] = Entry{0x80001000, &a};
    EXPECT_EQ(a[32767].pa, 0x80001000u);
    EXPECT_NE(vm_flags_of(&a[0]).find(" nh"), std::string::npos) << vm_flags_of(&a[0]);
}

// A table asked for in huge pages: a whole, aligned 2 MiB of the mapping (THP backs nothing
// less), advised for them, and zeroes like the other kind.
TEST(PageArray, InHugePagesStartsAsZeroesInWhole2MiBPagesAdvisedForThem) {
    PageArray<Entry> a(65536 + 1, Pages::huge);  // 1 MiB and 16 bytes
    ASSERT_EQ(a.size(), 65537u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&a[0]) % HugeRegion::kHugePage, 0u);
    for (size_t i = 0; i < a.size(); i += 1000) {
        EXPECT_EQ(a[i].pa, 0u);
        EXPECT_EQ(a[i].block, nullptr);
    }
    a[65536] = Entry{0x80001000, &a};
    EXPECT_EQ(a[65536].pa, 0x80001000u);
    const std::string flags = vm_flags_of(&a[0]);
    EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
    EXPECT_EQ(flags, vm_flags_of(reinterpret_cast<const char*>(&a[0]) + HugeRegion::kHugePage - 1))
        << "the mapping ends before a whole huge page";
}

// The code cache's block index: grown from empty through many rehashes, emptied, grown again.
TEST(PageAllocator, BacksAHashMapThroughGrowthAndClear) {
    absl::flat_hash_map<uint64_t, uint64_t, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                        PageAllocator<std::pair<const uint64_t, uint64_t>>>
        index;
    for (int round = 0; round < 2; ++round) {
        for (uint64_t i = 0; i < 100000; ++i) index[0x80000000 + 2 * i] = i;
        ASSERT_EQ(index.size(), 100000u);
        for (uint64_t i = 0; i < 100000; i += 997) EXPECT_EQ(index.at(0x80000000 + 2 * i), i);
        EXPECT_FALSE(index.contains(0x80000001));
        index.clear();
        EXPECT_TRUE(index.empty());
    }
}

TEST(PageAllocator, AnImpossibleSizeThrowsBadAlloc) {
    EXPECT_THROW(PageAllocator<Entry>().allocate(SIZE_MAX / 8), std::bad_alloc);
}

}  // namespace
}  // namespace trapeze
