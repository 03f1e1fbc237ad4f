// Page-table walks, A/D updates, permission checks, TLB invalidation and PMP
// (priv spec §3.7, §4.3–4.6), exercised through the hart's load/store paths.
#include "hart_fixture.hpp"

#include <utility>
#include <vector>

namespace trapeze::rv64::test {
namespace {

using namespace csr;

constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;

class MmuTest : public HartTest {
protected:
    static constexpr uint64_t kRoot = kBase + 0x10000;
    uint64_t next_table = kBase + 0x11000;

    MmuTest() {
        // PMP: everything RWX for S/U, so only the page tables decide.
        EXPECT_TRUE(hart.csr_write(PMPADDR0, ~0ull >> 10));
        EXPECT_TRUE(hart.csr_write(PMPCFG0, 0x1f));
        hart.s.mtvec = kBase + 0xf000;
    }

    static uint64_t pte(uint64_t pa, uint64_t flags) { return (pa >> 12) << 10 | flags; }

    // Maps one page of `levels`-level paging at `leaf_level` (0 = 4 KiB).
    void map(unsigned levels, uint64_t va, uint64_t pa, uint64_t flags, unsigned leaf_level = 0, uint64_t root = kRoot) {
        uint64_t table = root;
        for (int lvl = static_cast<int>(levels) - 1; lvl > static_cast<int>(leaf_level); --lvl) {
            const uint64_t slot = table + ((va >> (12 + 9 * lvl)) & 0x1ff) * 8;
            uint64_t e = peek64(slot);
            if ((e & V) == 0) {
                e = pte(next_table, V);
                next_table += 0x1000;
                poke64(slot, e);
            }
            table = (e >> 10) << 12;
        }
        poke64(table + ((va >> (12 + 9 * leaf_level)) & 0x1ff) * 8, pte(pa, flags | V));
    }
    uint64_t leaf_slot_4k(uint64_t va) {  // Sv39 only, after map()
        uint64_t table = kRoot;
        for (int lvl = 2; lvl > 0; --lvl) table = (peek64(table + ((va >> (12 + 9 * lvl)) & 0x1ff) * 8) >> 10) << 12;
        return table + ((va >> 12) & 0x1ff) * 8;
    }
    void enable(uint64_t mode, Priv priv = Priv::S) {
        ASSERT_TRUE(hart.csr_write(SATP, mode << 60 | (kRoot >> 12)));
        hart.s.priv = priv;
        hart.update_mmu_view();
    }
    template <typename T>
    bool load(uint64_t va, T& out) {
        return try_load<T>(va, out);
    }
};

TEST_F(MmuTest, Sv39TranslatesA4KPageAndSetsAccessed) {
    map(3, 0x40001000, kBase + 0x20000, R | W);
    poke64(kBase + 0x20008, 0x1122334455667788);
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    ASSERT_TRUE(load(0x40001008, v));
    EXPECT_EQ(v, 0x1122334455667788u);
    EXPECT_NE(peek64(leaf_slot_4k(0x40001000)) & A, 0u);
    EXPECT_EQ(peek64(leaf_slot_4k(0x40001000)) & D, 0u);
}

// The soft-TLB fill is where an engine first uses a page of RAM (memory/RamPrefaulter).
TEST_F(MmuTest, AFillReportsTheRamItUsesToThePrefaulter) {
    mem.start_prefaulting();
    ASSERT_NE(mem.prefaulter(), nullptr);
    map(3, 0x40001000, kBase + 0x20000, R | W);
    enable(SATP_MODE_SV39);
    EXPECT_EQ(mem.prefaulter()->stats().guest, 0u);
    uint64_t v = 0;
    ASSERT_TRUE(load(0x40001008, v));
    EXPECT_EQ(mem.prefaulter()->stats().guest, 1u);  // RAM's one chunk
}

TEST_F(MmuTest, StoresSetTheDirtyBit) {
    map(3, 0x40001000, kBase + 0x20000, R | W);
    enable(SATP_MODE_SV39);
    ASSERT_TRUE(hart.store<uint32_t>(0x40001010, 0xdeadbeef));
    EXPECT_NE(peek64(leaf_slot_4k(0x40001000)) & D, 0u);
    EXPECT_EQ(peek64(kBase + 0x20010) & 0xffffffff, 0xdeadbeefu);
}

TEST_F(MmuTest, StoreToReadOnlyPageRaisesStorePageFault) {
    map(3, 0x40001000, kBase + 0x20000, R);
    enable(SATP_MODE_SV39);
    EXPECT_FALSE(try_store<uint64_t>(0x40001000, 1));
    EXPECT_EQ(hart.s.mcause, EXC_STORE_PAGE_FAULT);
    EXPECT_EQ(hart.s.mtval, 0x40001000u);
}

TEST_F(MmuTest, GigapageMapsItsWholeRange) {
    map(3, 0xc0000000, kBase & ~((1ull << 30) - 1), R | W, 2);  // 1 GiB leaf at PA 0x80000000
    poke64(kBase + 0x30000, 42);
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    ASSERT_TRUE(load(0xc0000000 + (kBase & ((1ull << 30) - 1)) + 0x30000, v));
    EXPECT_EQ(v, 42u);
}

TEST_F(MmuTest, MisalignedSuperpageRaisesPageFault) {
    map(3, 0x40200000, kBase + 0x1000, R, 1);  // a 2 MiB leaf whose PPN is not 2 MiB aligned
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    EXPECT_FALSE(load(0x40200000, v));
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_PAGE_FAULT);
}

TEST_F(MmuTest, SupervisorNeedsSumToTouchUserPages) {
    map(3, 0x1000, kBase + 0x20000, R | W | U);
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    EXPECT_FALSE(load(0x1000, v));
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_PAGE_FAULT);
    ASSERT_TRUE(hart.csr_write(SSTATUS, MSTATUS_SUM));
    EXPECT_TRUE(load(0x1000, v));
}

TEST_F(MmuTest, UserCannotTouchSupervisorPages) {
    map(3, 0x1000, kBase + 0x20000, R | W);
    enable(SATP_MODE_SV39, Priv::U);
    uint64_t v = 0;
    EXPECT_FALSE(load(0x1000, v));
}

TEST_F(MmuTest, MxrMakesExecuteOnlyPagesReadable) {
    map(3, 0x2000, kBase + 0x20000, X);
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    EXPECT_FALSE(load(0x2000, v));
    ASSERT_TRUE(hart.csr_write(SSTATUS, MSTATUS_MXR));
    EXPECT_TRUE(load(0x2000, v));
}

TEST_F(MmuTest, NonCanonicalAddressRaisesPageFault) {
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    EXPECT_FALSE(load(0x0000'8000'0000'0000ull, v));
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_PAGE_FAULT);
}

TEST_F(MmuTest, SfenceVmaMakesAPteChangeVisible) {
    map(3, 0x40001000, kBase + 0x20000, R | W);
    poke64(kBase + 0x20000, 1);
    poke64(kBase + 0x21000, 2);
    enable(SATP_MODE_SV39);
    uint64_t v = 0;
    ASSERT_TRUE(load(0x40001000, v));
    EXPECT_EQ(v, 1u);
    map(3, 0x40001000, kBase + 0x21000, R | W);
    hart.flush_tlb_va(0x40001000);
    ASSERT_TRUE(load(0x40001000, v));
    EXPECT_EQ(v, 2u);
}

// A flush gives the address space a fresh tag id; when the ids run out the entries are really
// cleared (zeroed) and the ids start over, so an entry filled long ago under what is now the
// space's id again must not match.
TEST_F(MmuTest, TagIdsStartingOverDoNotReviveOldEntries) {
    poke64(kBase + 0x20000, 1);
    poke64(kBase + 0x21000, 2);
    enable(SATP_MODE_SV39);
    // Fill the entry under the current id, remap without a fence, then flush k times: for
    // some k (a few hundred ids exist) the space is back at the id the entry was filled under.
    for (int k = 1; k <= 1100; ++k) {
        map(3, 0x40001000, kBase + 0x20000, R | W);
        hart.flush_tlb();
        uint64_t v = 0;
        ASSERT_TRUE(load(0x40001000, v));
        ASSERT_EQ(v, 1u);
        map(3, 0x40001000, kBase + 0x21000, R | W);
        for (int i = 0; i < k; ++i) hart.flush_tlb();
        ASSERT_TRUE(load(0x40001000, v));
        ASSERT_EQ(v, 2u) << "after " << k << " flushes";
    }
}

TEST_F(MmuTest, AsidSwitchKeepsEachAddressSpaceApart) {
    map(3, 0x40001000, kBase + 0x20000, R | W);
    poke64(kBase + 0x20000, 7);
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | 1ull << SATP_ASID_SHIFT | (kRoot >> 12)));
    hart.s.priv = Priv::S;
    hart.update_mmu_view();
    uint64_t v = 0;
    ASSERT_TRUE(load(0x40001000, v));
    // ASID 2 with an empty root table: the entry cached for ASID 1 must not be used.
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | 2ull << SATP_ASID_SHIFT | ((kBase + 0x50000) >> 12)));
    EXPECT_FALSE(load(0x40001000, v));
}

// The second-level TLB (Hart::tlb2_refill): a process and its fork use the same virtual
// addresses, so their entries share direct-mapped sets, and what one evicts the other finds
// again without a walk. Two address spaces map one page to different frames here.
class TlbSecondLevelTest : public MmuTest {
protected:
    static constexpr uint64_t kRootB = kBase + 0x50000, kVa = 0x40001000;
    static constexpr uint64_t kFrameA = kBase + 0x20000, kFrameB = kBase + 0x21000, kFrameC = kBase + 0x22000;
    TlbSecondLevelTest() {
        poke64(kFrameA, 1);
        poke64(kFrameB, 2);
        poke64(kFrameC, 3);
        map(3, kVa, kFrameA, R | W | A | D);
        map(3, kVa, kFrameB, R | W | A | D, 0, kRootB);
        hart.s.priv = Priv::S;
    }
    void space(uint64_t asid) {
        const uint64_t root = asid == 1 ? kRoot : kRootB;
        ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | asid << SATP_ASID_SHIFT | (root >> 12)));
        hart.update_mmu_view();
    }
    uint64_t read() {
        uint64_t v = 0;
        EXPECT_TRUE(load(kVa, v));
        return v;
    }
};

// Space 1's entry, evicted by space 2's for the same page, is used again when space 1 comes
// back: a change to its PTE without a fence is not seen (allowed, priv spec §4.2.1), as it
// would not be had the entry stayed in the first level.
TEST_F(TlbSecondLevelTest, KeepsTheEntryAnotherSpaceEvicted) {
    space(1);
    EXPECT_EQ(read(), 1u);
    space(2);
    EXPECT_EQ(read(), 2u);
    map(3, kVa, kFrameC, R | W | A | D);  // no sfence.vma
    space(1);
    EXPECT_EQ(read(), 1u);
    space(2);
    EXPECT_EQ(read(), 2u);
}

// sfence.vma of the page (every address space) reaches the kept entry too.
TEST_F(TlbSecondLevelTest, SfenceOfThePageDropsTheKeptEntry) {
    space(1);
    EXPECT_EQ(read(), 1u);
    space(2);
    EXPECT_EQ(read(), 2u);
    map(3, kVa, kFrameC, R | W | A | D);
    hart.flush_tlb_va(kVa);
    space(1);
    EXPECT_EQ(read(), 3u);
}

// sfence.vma of space 1's ASID, or of everything, while space 2 runs: the kept entry is of a
// retired tag id and never matches again.
TEST_F(TlbSecondLevelTest, SfenceOfTheAsidOrAllDropsTheKeptEntry) {
    for (const bool all : {false, true}) {
        map(3, kVa, kFrameA, R | W | A | D);
        hart.flush_tlb();
        space(1);
        EXPECT_EQ(read(), 1u);
        space(2);
        EXPECT_EQ(read(), 2u);
        map(3, kVa, kFrameC, R | W | A | D);
        if (all)
            hart.flush_tlb();
        else
            hart.flush_tlb_asid(1);
        space(1);
        EXPECT_EQ(read(), 3u) << (all ? "sfence.vma" : "sfence.vma x0, asid");
    }
}

// A store after its entry came back from the second level walks again (writes are never kept
// there) and sets the dirty bit; the load that follows sees what it stored.
TEST_F(TlbSecondLevelTest, StoresAfterARefillStillReachTheirFrame) {
    map(3, kVa, kFrameA, R | W | A);  // clean
    space(1);
    EXPECT_EQ(read(), 1u);
    space(2);
    EXPECT_EQ(read(), 2u);
    space(1);
    EXPECT_EQ(read(), 1u);
    ASSERT_TRUE(try_store<uint64_t>(kVa, 42));
    EXPECT_NE(peek64(leaf_slot_4k(kVa)) & D, 0u);
    EXPECT_EQ(peek64(kFrameA), 42u);
    EXPECT_EQ(read(), 42u);
}

TEST_F(MmuTest, Sv48AndSv57Walk) {
    for (uint64_t mode : {SATP_MODE_SV48, SATP_MODE_SV57}) {
        const unsigned levels = mode == SATP_MODE_SV48 ? 4 : 5;
        const uint64_t va = levels == 4 ? 0x7f00'0000'1000ull : 0x00ff'0000'0000'1000ull;
        map(levels, va, kBase + 0x40000, R);
        poke64(kBase + 0x40000, levels);
        enable(mode);
        hart.flush_tlb();
        uint64_t v = 0;
        ASSERT_TRUE(load(va, v)) << levels;
        EXPECT_EQ(v, levels);
        ASSERT_TRUE(hart.csr_write(SATP, 0));
        std::fill_n(mem.span(Gpa(kRoot), 0x8000).data(), 0x8000, 0);
        next_table = kRoot + 0x1000;
    }
}

TEST_F(MmuTest, MprvMakesMachineLoadsTranslate) {
    map(3, 0x40001000, kBase + 0x20000, R);
    poke64(kBase + 0x20000, 99);
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | (kRoot >> 12)));
    ASSERT_TRUE(hart.csr_write(MSTATUS, MSTATUS_MPRV | (1ull << 11)));  // MPP = S
    uint64_t v = 0;
    ASSERT_TRUE(hart.load<uint64_t>(0x40001000, v));
    EXPECT_EQ(v, 99u);
}

// Device pages (Hart::io_tlb_lookup): MMIO has no TLB entry, so the translations of its loads
// and stores are kept apart; they must be dropped and re-walked exactly when a RAM page's
// would be.
class IoTlbTest : public MmuTest {
protected:
    class Device : public MmioDevice {
    public:
        explicit Device(uint64_t id) : m_id(id) {}
        uint64_t mmio_read(uint64_t offset, unsigned) override { return m_id * 0x1000 + offset; }
        void mmio_write(uint64_t offset, uint64_t value, unsigned) override { writes.push_back({offset, value}); }
        std::vector<std::pair<uint64_t, uint64_t>> writes;

    private:
        uint64_t m_id;
    };
    static constexpr uint64_t kDevA = 0x10000000, kDevB = 0x10001000, kVa = 0x40002000;
    Device a{1}, b{2};
    IoTlbTest() {
        EXPECT_TRUE(bus.map(Gpa(kDevA), 0x1000, a, "a").ok());
        EXPECT_TRUE(bus.map(Gpa(kDevB), 0x1000, b, "b").ok());
    }
    uint64_t read(uint64_t va) {
        uint64_t v = 0;
        EXPECT_TRUE(load(va, v)) << std::hex << va;
        return v;
    }
};

TEST_F(IoTlbTest, RepeatedAccessesReachTheDeviceAtTheirOffsets) {
    map(3, kVa, kDevA, R | W | A | D);
    enable(SATP_MODE_SV39);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(read(kVa + 8), 0x1008u);
        EXPECT_EQ(read(kVa + 0x10), 0x1010u);
        EXPECT_TRUE(try_store<uint32_t>(kVa + 4, 7u + static_cast<uint32_t>(i)));
    }
    ASSERT_EQ(a.writes.size(), 3u);
    EXPECT_EQ(a.writes[2], (std::pair<uint64_t, uint64_t>{4, 9}));
}

TEST_F(IoTlbTest, SfenceOfThePageAndFlushesMakeARemapVisible) {
    map(3, kVa, kDevA, R | W | A | D);
    enable(SATP_MODE_SV39);
    EXPECT_EQ(read(kVa), 0x1000u);
    EXPECT_TRUE(try_store<uint64_t>(kVa, 1));
    map(3, kVa, kDevB, R | W | A | D);
    hart.flush_tlb_va(kVa);
    EXPECT_EQ(read(kVa), 0x2000u);
    EXPECT_TRUE(try_store<uint64_t>(kVa, 2));
    EXPECT_EQ(b.writes.size(), 1u);
    map(3, kVa, kDevA, R | W | A | D);
    hart.flush_tlb();
    EXPECT_EQ(read(kVa), 0x1000u);
    EXPECT_TRUE(try_store<uint64_t>(kVa, 3));
    EXPECT_EQ(a.writes.size(), 2u);
}

TEST_F(IoTlbTest, AnotherAddressSpaceWalksItsOwnTables) {
    map(3, kVa, kDevA, R | W | A | D);
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | 1ull << SATP_ASID_SHIFT | (kRoot >> 12)));
    hart.s.priv = Priv::S;
    hart.update_mmu_view();
    EXPECT_EQ(read(kVa), 0x1000u);
    const uint64_t root_b = kBase + 0x50000;
    map(3, kVa, kDevB, R | W | A | D, 0, root_b);
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | 2ull << SATP_ASID_SHIFT | (root_b >> 12)));
    EXPECT_EQ(read(kVa), 0x2000u);
    ASSERT_TRUE(hart.csr_write(SATP, SATP_MODE_SV39 << 60 | 1ull << SATP_ASID_SHIFT | (kRoot >> 12)));
    EXPECT_EQ(read(kVa), 0x1000u);
}

TEST_F(IoTlbTest, ALoadDoesNotLetAStoreSkipItsChecks) {
    map(3, kVa, kDevA, R | A);  // read-only
    enable(SATP_MODE_SV39);
    EXPECT_EQ(read(kVa), 0x1000u);
    EXPECT_FALSE(try_store<uint64_t>(kVa, 1));
    EXPECT_EQ(hart.s.mcause, EXC_STORE_PAGE_FAULT);
    EXPECT_TRUE(a.writes.empty());
    // Writable but clean: the store's own walk must set D.
    map(3, kVa, kDevA, R | W | A);
    hart.flush_tlb_va(kVa);
    EXPECT_EQ(read(kVa), 0x1000u);
    EXPECT_TRUE(try_store<uint64_t>(kVa, 1));
    EXPECT_NE(peek64(leaf_slot_4k(kVa)) & D, 0u);
}

// PMP writes flush, so a kept translation meets a PMP change only through the access's own
// bytes: here the page's upper half is closed to S, and accesses there fault even after the
// lower half's accesses kept the page's translation for loads and stores.
TEST_F(IoTlbTest, PmpIsCheckedAtEveryAccess) {
    map(3, kVa, kDevA, R | W | A | D);
    // Entry 0: no access to the device page's upper 2 KiB; entry 1: everything.
    ASSERT_TRUE(hart.csr_write(PMPADDR0, ((kDevA + 0x800) | 0x3ff) >> 2));  // NAPOT 2 KiB
    ASSERT_TRUE(hart.csr_write(PMPADDR0 + 1, ~0ull >> 10));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, (0x1full << 8) | 0x18));
    enable(SATP_MODE_SV39);
    EXPECT_EQ(read(kVa + 8), 0x1008u);
    EXPECT_TRUE(try_store<uint64_t>(kVa + 0x10, 1));
    uint64_t v = 0;
    EXPECT_FALSE(load(kVa + 0x808, v));
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_ACCESS);
    EXPECT_FALSE(try_store<uint64_t>(kVa + 0x810, 2));
    EXPECT_EQ(hart.s.mcause, EXC_STORE_ACCESS);
    ASSERT_EQ(a.writes.size(), 1u);
    EXPECT_EQ(a.writes[0].first, 0x10u);
}

// As TagIdsStartingOverDoNotReviveOldEntries, for a device page.
TEST_F(IoTlbTest, TagIdsStartingOverDoNotReviveOldEntries) {
    enable(SATP_MODE_SV39);
    for (int k = 1; k <= 1100; ++k) {
        map(3, kVa, kDevA, R | W | A | D);
        hart.flush_tlb();
        ASSERT_EQ(read(kVa), 0x1000u);
        map(3, kVa, kDevB, R | W | A | D);
        for (int i = 0; i < k; ++i) hart.flush_tlb();
        ASSERT_EQ(read(kVa), 0x2000u) << "after " << k << " flushes";
    }
}

class PmpTest : public HartTest {};

TEST_F(PmpTest, WithoutEntriesSupervisorAccessFails) {
    hart.s.priv = Priv::S;
    hart.update_mmu_view();
    uint64_t v = 0;
    EXPECT_FALSE(try_load<uint64_t>(kBase, v));
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_ACCESS);
}

TEST_F(PmpTest, TorEntryGrantsOnlyItsPermissions) {
    ASSERT_TRUE(hart.csr_write(PMPADDR0, (kBase + 0x10000) >> 2));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x08 | 0x01));  // TOR, R only: [0, kBase+64K)
    hart.s.priv = Priv::S;
    hart.update_mmu_view();
    uint64_t v = 0;
    EXPECT_TRUE(try_load<uint64_t>(kBase + 0x100, v));
    EXPECT_FALSE(try_store<uint64_t>(kBase + 0x100, 1));
    EXPECT_EQ(hart.s.mcause, EXC_STORE_ACCESS);
    EXPECT_FALSE(try_load<uint64_t>(kBase + 0x10000, v));  // above the range
}

TEST_F(PmpTest, MachineModeIgnoresUnlockedEntriesButObeysLocked) {
    ASSERT_TRUE(hart.csr_write(PMPADDR0, (kBase + 0x1000) >> 2));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x08));  // TOR, no permissions
    EXPECT_TRUE(try_store<uint64_t>(kBase + 0x10, 1));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x88));  // locked
    EXPECT_FALSE(try_store<uint64_t>(kBase + 0x10, 1));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x0f));  // locked entries ignore writes
    EXPECT_FALSE(try_store<uint64_t>(kBase + 0x10, 1));
}

TEST_F(PmpTest, NapotEntryCoversItsNaturallyAlignedRange) {
    // 64 KiB at kBase: pmpaddr = (base | (size/2 - 1)) >> 2.
    ASSERT_TRUE(hart.csr_write(PMPADDR0, (kBase | 0x7fff) >> 2));
    ASSERT_TRUE(hart.csr_write(PMPCFG0, 0x18 | 0x03));
    hart.s.priv = Priv::U;
    hart.update_mmu_view();
    EXPECT_TRUE(try_store<uint64_t>(kBase + 0xfff8, 1));
    EXPECT_FALSE(try_store<uint64_t>(kBase + 0x10000, 1));
}

TEST_F(PmpTest, AnEarlierEntryStillWinsAfterALaterEntryMatched) {
    // OpenSBI's shape: entry 0 hides the firmware from S/U, entry 1 grants all memory.
    ASSERT_TRUE(hart.csr_write(PMPADDR0, (kBase | 0x7fff) >> 2));  // NAPOT 64 KiB, no permissions
    ASSERT_TRUE(hart.csr_write(PMPADDR0 + 1, ~0ull >> 10));       // NAPOT everything
    ASSERT_TRUE(hart.csr_write(PMPCFG0, (0x18ull << 8 | 0x07ull << 8) | 0x18));
    hart.s.priv = Priv::S;
    hart.update_mmu_view();
    uint64_t v = 0;
    EXPECT_TRUE(try_load<uint64_t>(kBase + 0x20000, v));  // entry 1 (remembered)
    EXPECT_FALSE(try_load<uint64_t>(kBase + 0x100, v));   // entry 0 must still win here
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_ACCESS);
    EXPECT_TRUE(try_load<uint64_t>(kBase + 0x10000, v));  // just above entry 0
    EXPECT_FALSE(try_load<uint64_t>(kBase + 0xfff8, v));  // just inside it
}

}  // namespace
}  // namespace trapeze::rv64::test
