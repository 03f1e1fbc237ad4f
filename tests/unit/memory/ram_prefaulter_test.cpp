#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "memory/guest_memory.hpp"
#include "memory/ram_prefaulter.hpp"

namespace trapeze {
namespace {

constexpr uint64_t kChunk = RamPrefaulter::kChunk;
constexpr uint64_t kChunks = 32;  // 64 MiB: a budget of 8 chunks, kAhead's worth

// Whether any page of chunk `c` of RAM at `ram` is in memory (mincore).
bool resident(const uint8_t* ram, uint64_t c) {
    std::vector<unsigned char> pages(kChunk / 4096);
    EXPECT_EQ(::mincore(const_cast<uint8_t*>(ram) + c * kChunk, kChunk, pages.data()), 0) << std::strerror(errno);
    for (unsigned char p : pages)
        if ((p & 1) != 0) return true;
    return false;
}

struct Prefaulted : testing::Test {
    void SetUp() override {
        mem.start_prefaulting();
        ASSERT_NE(mem.prefaulter(), nullptr);
        ASSERT_EQ(mem.prefaulter()->budget(), RamPrefaulter::kAhead);
    }
    // What a hart's soft-TLB fill reports.
    void use(uint64_t chunk) {
        mem.note_use(mem.host_base() + chunk * kChunk);
        mem.prefaulter()->wait_idle();
    }
    GuestMemory mem = GuestMemory::create(Gpa(0x80000000), kChunks * kChunk).value();
};

TEST_F(Prefaulted, AFirstUsePopulatesTheChunksAfterItOnly) {
    use(4);
    const RamPrefaulter::Stats s = mem.prefaulter()->stats();
    EXPECT_EQ(s.populated, RamPrefaulter::kAhead);
    EXPECT_EQ(s.used, 0u);
    EXPECT_EQ(s.guest, 1u);
    for (uint64_t c = 0; c < kChunks; ++c) {
        const bool ahead = c > 4 && c <= 4 + RamPrefaulter::kAhead;
        EXPECT_EQ(resident(mem.host_base(), c), ahead) << "chunk " << c;
    }
}

TEST_F(Prefaulted, LeavesWhatTheGuestWroteAndGivesZeroesElsewhere) {
    std::memset(mem.host_base() + 2 * kChunk + 4096, 0x5a, 4096);
    use(1);
    EXPECT_EQ(mem.host_base()[2 * kChunk + 4096], 0x5a);
    EXPECT_EQ(mem.host_base()[2 * kChunk + 8191], 0x5a);
    EXPECT_EQ(mem.host_base()[2 * kChunk], 0);
    EXPECT_EQ(mem.host_base()[3 * kChunk + 12345], 0);
}

// Never more chunks populated and not used than the budget: a guest that wanders leaves a
// bounded trail, and each chunk of it that the guest then uses makes room for one more.
TEST_F(Prefaulted, KeepsNoMoreUnusedChunksThanItsBudget) {
    use(0);  // populates 1..8: the budget
    use(20);
    EXPECT_EQ(mem.prefaulter()->stats().populated, RamPrefaulter::kAhead);
    EXPECT_FALSE(resident(mem.host_base(), 21));
    use(1);  // one of the eight used: the window moves up by one
    const RamPrefaulter::Stats s = mem.prefaulter()->stats();
    EXPECT_EQ(s.populated, RamPrefaulter::kAhead + 1);
    EXPECT_EQ(s.used, 1u);
    EXPECT_TRUE(resident(mem.host_base(), 9));
    EXPECT_FALSE(resident(mem.host_base(), 10));
    EXPECT_FALSE(resident(mem.host_base(), 21));
}

TEST_F(Prefaulted, StopsAtTheEndOfRam) {
    use(kChunks - 2);
    EXPECT_EQ(mem.prefaulter()->stats().populated, 1u);
    use(kChunks - 1);
    mem.note_use(mem.host_base() + kChunks * kChunk);  // past the end: ignored
    EXPECT_EQ(mem.prefaulter()->stats().populated, 1u);
    EXPECT_EQ(mem.prefaulter()->stats().guest, 2u);
}

// A snapshot's RAM maps its memory file copy-on-write: populating it would copy pages the
// guest may never write.
TEST(RamPrefaulter, LeavesRamFromAMemoryFileAlone) {
    FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(::ftruncate(fileno(f), 8 * kChunk), 0);
    auto mem = GuestMemory::create_from_file(Gpa(0x80000000), 8 * kChunk, fileno(f)).value();
    mem.start_prefaulting();
    EXPECT_EQ(mem.prefaulter(), nullptr);

    auto fresh = GuestMemory::create(Gpa(0x80000000), 8 * kChunk).value();
    fresh.start_prefaulting();
    ASSERT_NE(fresh.prefaulter(), nullptr);
    ASSERT_TRUE(fresh.replace_from_file(fileno(f)).ok());  // a rewind
    EXPECT_EQ(fresh.prefaulter(), nullptr);
    fresh.note_use(fresh.host_base());
    std::fclose(f);
}

}  // namespace
}  // namespace trapeze
