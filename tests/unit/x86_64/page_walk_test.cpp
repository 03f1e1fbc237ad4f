// The debugger's page walk over page tables written into guest RAM, one per paging mode: the
// address it gives must be the one the CPU would use, and a hole must stay a hole.
#include "arch/x86_64/page_walk.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace trapeze::x86 {
namespace {

constexpr uint64_t kPg = uint64_t{1} << 31;
constexpr uint64_t kPse = uint64_t{1} << 4;
constexpr uint64_t kPae = uint64_t{1} << 5;
constexpr uint64_t kLa57 = uint64_t{1} << 12;
constexpr uint64_t kLma = uint64_t{1} << 10;
constexpr uint64_t kP = 1, kRw = 2, kPs = 0x80;

class PageWalk : public testing::Test {
protected:
    void SetUp() override {
        auto mem = GuestMemory::create(Gpa(0), 64 << 20);
        ASSERT_TRUE(mem.ok()) << mem.error().message;
        m_mem.emplace(std::move(*mem));
    }
    void put8(uint64_t at, uint64_t v) { ASSERT_TRUE(m_mem->write(Gpa(at), {reinterpret_cast<uint8_t*>(&v), 8})); }
    void put4(uint64_t at, uint32_t v) { ASSERT_TRUE(m_mem->write(Gpa(at), {reinterpret_cast<uint8_t*>(&v), 4})); }
    std::optional<uint64_t> walk(const PagingRegs& regs, uint64_t la) {
        const auto pa = translate_linear(*m_mem, regs, Gva(la));
        return pa ? std::optional<uint64_t>(pa->value) : std::nullopt;
    }

    std::optional<GuestMemory> m_mem;
};

TEST_F(PageWalk, PagingOffIsTheIdentity) {
    EXPECT_EQ(walk({}, 0x12345), 0x12345u);
}

// A Linux-like higher-half kernel: 0xffffffff81000000 through PML4[511], PDPT[510], and a
// 4 KiB page; the next 2 MiB as one large page; 1 GiB pages at the PDPT level.
TEST_F(PageWalk, FourLevelPagingMapsSmallLargeAndHugePages) {
    const PagingRegs regs{kPg | 1, 0x10000, kPae, kLma | 0x100};
    put8(0x10000 + 511 * 8, 0x11000 | kP | kRw);          // PML4[511]
    put8(0x11000 + 510 * 8, 0x12000 | kP | kRw);          // PDPT[510]
    put8(0x12000 + 8 * 8, 0x13000 | kP | kRw);            // PD[8]: 0xffffffff81000000
    put8(0x13000 + 0 * 8, 0x345000 | kP);                 // PT[0]
    put8(0x12000 + 9 * 8, 0x600000 | kP | kPs | 0x1000);  // PD[9]: 2 MiB page (bit 12: PAT)
    put8(0x11000 + 0 * 8, 0x40000000 | kP | kPs);         // PDPT[0] of the same PML4 entry: 1 GiB
    EXPECT_EQ(walk(regs, 0xffffffff81000123), 0x345123u);
    EXPECT_EQ(walk(regs, 0xffffffff81201234), 0x601234u);
    EXPECT_EQ(walk(regs, 0xffffff8000000000 + 0x1234567), 0x41234567u);
    EXPECT_EQ(walk(regs, 0xffffffff81001000), std::nullopt);  // PT[1] not present
    EXPECT_EQ(walk(regs, 0x1000), std::nullopt);              // PML4[0] not present
    EXPECT_EQ(walk(regs, 0x0000800000000000), std::nullopt);  // not canonical
}

TEST_F(PageWalk, FiveLevelPagingAddsTheTopLevel) {
    const PagingRegs regs{kPg | 1, 0x20000, kPae | kLa57, kLma};
    put8(0x20000 + 256 * 8, 0x21000 | kP);  // PML5[256]: the first negative half
    put8(0x21000 + 0 * 8, 0x22000 | kP);
    put8(0x22000 + 0 * 8, 0x23000 | kP);
    put8(0x23000 + 0 * 8, 0x800000 | kP | kPs);
    EXPECT_EQ(walk(regs, 0xff00000000012345), 0x812345u);
    EXPECT_EQ(walk(regs, 0x0100000000000000), std::nullopt);  // 57-bit canonical form broken
}

TEST_F(PageWalk, PaePagingUsesTheFourEntryPointerTable) {
    const PagingRegs regs{kPg | 1, 0x30020, kPae, 0};  // CR3 bits 31:5: the PDPT may be 32-byte aligned
    put8(0x30020 + 3 * 8, 0x31000 | kP);               // PDPT[3]: 0xc0000000
    put8(0x31000 + 1 * 8, 0x32000 | kP);
    put8(0x32000 + 2 * 8, 0x456000 | kP);
    put8(0x31000 + 2 * 8, 0xa00000 | kP | kPs);
    EXPECT_EQ(walk(regs, 0xc0202abc), 0x456abcu);
    EXPECT_EQ(walk(regs, 0xc0412345), 0xa12345u);
    EXPECT_EQ(walk(regs, 0x00001000), std::nullopt);
}

TEST_F(PageWalk, ThirtyTwoBitPagingWithFourMibPages) {
    const PagingRegs regs{kPg | 1, 0x40000, kPse, 0};
    put4(0x40000 + 0x300 * 4, 0x41000 | kP);                         // 0xc0000000
    put4(0x41000 + 5 * 4, 0x789000 | kP);                            // 0xc0005000
    put4(0x40000 + 0x301 * 4, 0x01c00000 | (0x3 << 13) | kP | kPs);  // 4 MiB at 3:0x01c00000
    EXPECT_EQ(walk(regs, 0xc0005678), 0x789678u);
    EXPECT_EQ(walk(regs, 0xc0512345), 0x301d12345u);
    EXPECT_EQ(walk(regs, 0xc0006000), std::nullopt);
}

TEST_F(PageWalk, TablesOutsideRamAreHoles) {
    const PagingRegs regs{kPg | 1, 0x50000, kPae, kLma};
    put8(0x50000, 0x7f000000 | kP);  // a PDPT beyond 64 MiB of RAM
    EXPECT_EQ(walk(regs, 0x1000), std::nullopt);
}

}  // namespace
}  // namespace trapeze::x86
