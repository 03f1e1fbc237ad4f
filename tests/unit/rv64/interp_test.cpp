// The interpreter engine: blocks, self-modifying code, atomics and misaligned accesses.
#include <vector>

#include "hart_fixture.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;

TEST_F(HartTest, StoreToDecodedCodeIsSeenByTheNextExecution) {
    // x5 = 1; jump back over it after rewriting the immediate to 2.
    code(kBase, {addi(5, 0, 1), jal_self()});
    run(1);
    EXPECT_EQ(hart.s.x[5], 1u);
    ASSERT_TRUE(hart.store<uint32_t>(kBase, addi(5, 0, 2)));
    hart.s.pc = kBase;
    run(1);
    EXPECT_EQ(hart.s.x[5], 2u);
}

TEST_F(HartTest, StoreThroughACachedWriteEntryStillInvalidatesCodeDecodedLater) {
    // The page is written first (a write TLB entry is cached), then code in it is decoded:
    // the cached write permission must not let the next store bypass invalidation.
    ASSERT_TRUE(hart.store<uint32_t>(kBase + 0x800, 0));
    code(kBase, {addi(5, 0, 1), jal_self()});
    run(1);
    EXPECT_EQ(hart.s.x[5], 1u);
    ASSERT_TRUE(hart.store<uint32_t>(kBase, addi(5, 0, 4)));
    hart.s.pc = kBase;
    run(1);
    EXPECT_EQ(hart.s.x[5], 4u);
}

TEST_F(HartTest, EveryRoundOfWriteDecodeStoreInvalidatesTheCode) {
    // Each store to the code drops its blocks, so the page takes write entries again; each
    // time it becomes code again those entries must go (not only the first time).
    for (int32_t round = 1; round <= 3; ++round) {
        ASSERT_TRUE(hart.store<uint32_t>(kBase + 0x800, 0));  // caches a write entry
        code(kBase, {addi(5, 0, round), jal_self()});
        hart.s.pc = kBase;
        run(1);
        EXPECT_EQ(hart.s.x[5], static_cast<uint64_t>(round));
        ASSERT_TRUE(hart.store<uint32_t>(kBase, addi(5, 0, 10 + round)));
        hart.s.pc = kBase;
        run(1);
        EXPECT_EQ(hart.s.x[5], static_cast<uint64_t>(10 + round));
    }
}

TEST_F(HartTest, DeviceWriteToDecodedCodeIsSeenByTheNextExecution) {
    code(kBase, {addi(5, 0, 1), jal_self()});
    run(1);
    const uint32_t patched = addi(5, 0, 3);
    // A DMA-style write (not through a hart) reported by GuestMemory::write.
    ASSERT_TRUE(mem.write(Gpa(kBase), std::span(reinterpret_cast<const uint8_t*>(&patched), 4)));
    hart.s.pc = kBase;
    run(1);
    EXPECT_EQ(hart.s.x[5], 3u);
}

// The code cache's arena: a dropped block stays readable (it may be the one executing) until
// the engine flushes; dropped blocks ask for a flush once they hold the limit; a flush starts
// the arena over.
TEST(CodeCacheArena, DroppedBlocksStayReadableAndAskForAFlushAtTheLimit) {
    constexpr uint64_t kAt = 0x80000000;
    GuestMemory m = GuestMemory::create(Gpa(kAt), 1 << 20).value();
    store_le<uint32_t>(m.span(Gpa(kAt), 4).data(), addi(5, 0, 1));
    store_le<uint32_t>(m.span(Gpa(kAt + 4), 4).data(), jal_self());
    interp::CodeCache cache(m, 4096);
    MmioBus bus;
    GuestClock clock;
    Hart hart(HartConfig{0, true}, m, bus, clock);
    cache.attach(hart);
    std::vector<interp::Block*> dropped;
    int drops = 0;
    cache.set_drop_observer([&](interp::Block&) { ++drops; });
    while (!cache.wants_flush()) {
        interp::Block* b = cache.build(kAt, hart);
        ASSERT_EQ(b->insns.size(), 2u);
        cache.invalidate_code_page(kAt);
        EXPECT_EQ(cache.find(kAt), nullptr);
        dropped.push_back(b);
        ASSERT_LT(dropped.size(), 4096u) << "dropped blocks never asked for a flush";
    }
    EXPECT_GT(dropped.size(), 2u);  // a block is far smaller than the limit
    EXPECT_EQ(drops, static_cast<int>(dropped.size()));
    cache.reap();
    for (const interp::Block* b : dropped) EXPECT_EQ(b->insns[0].raw, addi(5, 0, 1));
    interp::Block* live = cache.build(kAt + 4, hart);
    cache.flush();
    EXPECT_EQ(drops, static_cast<int>(dropped.size()) + 1);
    EXPECT_FALSE(cache.wants_flush());
    EXPECT_EQ(cache.find(kAt + 4), nullptr);
    EXPECT_EQ(live->insns[0].raw, jal_self());  // the flush's chunks live until reap()
    cache.reap();
    EXPECT_EQ(cache.arena_bytes(), 0u);
    interp::Block* again = cache.build(kAt, hart);
    EXPECT_EQ(again->insns.size(), 2u);
    EXPECT_EQ(again->insns[1].raw, jal_self());
    EXPECT_EQ(cache.find(kAt), again);
}

// However much code the guest runs, the arena stays bounded: live blocks ask for a flush once
// the arena reaches its limit (a guest executing all of a large RAM must not grow it forever).
TEST(CodeCacheArena, LiveBlocksAskForAFlushWhenTheArenaReachesItsLimit) {
    constexpr uint64_t kAt = 0x80000000;
    constexpr uint64_t kRam = 1 << 20;
    constexpr size_t kLimit = size_t{4} << 20;  // two arena chunks
    GuestMemory m = GuestMemory::create(Gpa(kAt), kRam).value();
    for (uint64_t off = 0; off < kRam; off += 4) store_le<uint32_t>(m.span(Gpa(kAt + off), 4).data(), addi(0, 0, 0));
    interp::CodeCache cache(m, interp::CodeCache::kMaxDeadBytes, kLimit);
    MmioBus bus;
    GuestClock clock;
    Hart hart(HartConfig{0, true}, m, bus, clock);
    cache.attach(hart);
    constexpr uint64_t kBlockGuestBytes = 4 * interp::CodeCache::kMaxBlockInsns;
    uint64_t built = 0;
    for (uint64_t pa = kAt; pa < kAt + kRam && !cache.wants_flush(); pa += kBlockGuestBytes, ++built)
        ASSERT_EQ(cache.build(pa, hart)->insns.size(), interp::CodeCache::kMaxBlockInsns);
    ASSERT_TRUE(cache.wants_flush()) << "the whole RAM decoded without reaching the limit: make the test's RAM larger";
    EXPECT_GE(cache.arena_bytes(), kLimit);
    EXPECT_LT(cache.arena_bytes(), kLimit + (size_t{2} << 20)) << "the cache asked as soon as the limit was passed";
    EXPECT_NE(cache.find(kAt), nullptr) << "live blocks were not dropped before the flush";
    cache.flush();
    cache.reap();
    EXPECT_FALSE(cache.wants_flush());
    EXPECT_EQ(cache.arena_bytes(), 0u);
    EXPECT_GT(built, 1u);
}

// A chunk prepared ahead (CodeCache::prepare_chunk: the JIT's translator thread does it between
// jobs) is the one the arena takes next, and the blocks built in it are whole; one waits at most.
TEST(CodeCacheArena, TakesThePreparedChunkNext) {
    constexpr uint64_t kAt = 0x80000000;
    constexpr uint64_t kRam = 1 << 20;
    GuestMemory m = GuestMemory::create(Gpa(kAt), kRam).value();
    for (uint64_t off = 0; off < kRam; off += 4) store_le<uint32_t>(m.span(Gpa(kAt + off), 4).data(), addi(5, 5, 1));
    interp::CodeCache cache(m);
    MmioBus bus;
    GuestClock clock;
    Hart hart(HartConfig{0, true}, m, bus, clock);
    cache.attach(hart);
    cache.prepare_chunk();
    ASSERT_TRUE(cache.chunk_prepared());
    ASSERT_EQ(cache.build(kAt, hart)->insns.size(), interp::CodeCache::kMaxBlockInsns);
    EXPECT_FALSE(cache.chunk_prepared()) << "the first chunk was mapped anew instead";
    EXPECT_EQ(cache.arena_bytes(), size_t{2} << 20);
    cache.prepare_chunk();
    cache.prepare_chunk();
    EXPECT_TRUE(cache.chunk_prepared());
    constexpr uint64_t kBlockGuestBytes = 4 * interp::CodeCache::kMaxBlockInsns;
    std::vector<const interp::Block*> blocks;
    for (uint64_t pa = kAt + kBlockGuestBytes; pa < kAt + kRam && cache.arena_bytes() < (size_t{4} << 20);
         pa += kBlockGuestBytes)
        blocks.push_back(cache.build(pa, hart));
    ASSERT_EQ(cache.arena_bytes(), size_t{4} << 20) << "the RAM decoded without filling a chunk: make it larger";
    EXPECT_FALSE(cache.chunk_prepared());
    for (const interp::Block* b : blocks) {
        ASSERT_EQ(b->insns.size(), interp::CodeCache::kMaxBlockInsns);
        EXPECT_EQ(b->insns.back().raw, addi(5, 5, 1));
    }
}

// Three blocks of jal_self in three pages: prev (at kAt) and its successors first and second.
class CodeCacheLinks : public ::testing::Test {
protected:
    static constexpr uint64_t kAt = 0x80000000;
    static GuestMemory code_pages() {
        GuestMemory m = GuestMemory::create(Gpa(kAt), 1 << 20).value();
        for (uint64_t off = 0; off < 0x3000; off += 4) store_le<uint32_t>(m.span(Gpa(kAt + off), 4).data(), jal_self());
        return m;
    }
    void SetUp() override {
        cache.attach(hart);
        prev = cache.build(kAt, hart);
        first = cache.build(kAt + 0x1000, hart);
        second = cache.build(kAt + 0x2000, hart);
    }

    GuestMemory m = code_pages();
    interp::CodeCache cache{m};
    MmioBus bus;
    GuestClock clock;
    Hart hart{HartConfig{0, true}, m, bus, clock};
    interp::Block* prev = nullptr;
    interp::Block* first = nullptr;
    interp::Block* second = nullptr;
};

// A block's links (CodeCache::link, follow_link) lead to a successor only from the pc, mode
// (privilege and V), page relation and generations they were made under, and keep the two
// most recent successors.
TEST_F(CodeCacheLinks, AreFollowedOnlyWhereTheyWereMade) {
    hart.s.priv = Priv::S;
    hart.s.pc = kAt + 0x1000;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);  // none made yet
    cache.link(*prev, hart, false, first);
    EXPECT_EQ(cache.follow_link(*prev, hart, false), first);
    EXPECT_EQ(cache.follow_link(*prev, hart, true), nullptr);  // made across pages
    hart.s.pc = kAt + 0x2000;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);
    cache.link(*prev, hart, false, second);
    EXPECT_EQ(cache.follow_link(*prev, hart, false), second);
    hart.s.pc = kAt + 0x1000;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), first) << "the older successor was forgotten";
    hart.s.priv = Priv::U;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);
    hart.s.priv = Priv::M;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);
    hart.s.priv = Priv::S;
    hart.s.virt = true;
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);
    hart.s.virt = false;
    hart.bump_context_gen();  // another translation: a cross-page link no longer holds
    EXPECT_EQ(cache.follow_link(*prev, hart, false), nullptr);
    cache.link(*prev, hart, true, first);  // within the page, the translation does not matter
    hart.bump_context_gen();
    EXPECT_EQ(cache.follow_link(*prev, hart, true), first);
    cache.invalidate_code_page(kAt + 0x2000);  // a new code generation: no link holds
    EXPECT_EQ(cache.follow_link(*prev, hart, true), nullptr);
}

// linked_block_at (Jit::region's way to its successors without the index) answers with a
// linked successor at that physical address, whatever mode it was linked in, and with nothing
// once a drop started a new generation or for an address no link leads to.
TEST_F(CodeCacheLinks, LeadRegionsToTheBlockAtAnAddressWhileTheirGenerationHolds) {
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x1000), nullptr);  // none made yet
    hart.s.pc = kAt + 0x1000;
    cache.link(*prev, hart, false, first);
    hart.s.priv = Priv::U;
    hart.s.pc = kAt + 0x2000;
    cache.link(*prev, hart, true, second);
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x1000), first);
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x2000), second);
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x4), nullptr);
    cache.invalidate_code_page(kAt + 0x2000);  // drops `second`: a new generation
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x2000), nullptr);
    EXPECT_EQ(cache.linked_block_at(*prev, kAt + 0x1000), nullptr) << "links of the old generation are not vouched for";
    EXPECT_EQ(cache.find(kAt + 0x1000), first);  // the index still knows it
}

TEST_F(HartTest, LoadReservedStoreConditionalSucceedsOnce) {
    poke64(kBase + 0x800, 5);
    hart.s.x[10] = kBase + 0x800;
    hart.s.x[11] = 9;
    code(kBase, {lr_d(5, 10), sc_d(6, 11, 10), sc_d(7, 11, 10), jal_self()});
    run(1);
    EXPECT_EQ(hart.s.x[5], 5u);
    EXPECT_EQ(hart.s.x[6], 0u);  // success
    EXPECT_EQ(hart.s.x[7], 1u);  // the reservation is gone
    EXPECT_EQ(peek64(kBase + 0x800), 9u);
}

TEST_F(HartTest, AmoaddWordSignExtendsTheOldValue) {
    poke64(kBase + 0x800, 0x00000000'80000000ull);
    hart.s.x[10] = kBase + 0x800;
    hart.s.x[11] = 1;
    code(kBase, {amoadd_w(5, 11, 10), jal_self()});
    run(1);
    EXPECT_EQ(hart.s.x[5], 0xffffffff'80000000ull);
    EXPECT_EQ(peek64(kBase + 0x800), 0x80000001u);
}

TEST_F(HartTest, MisalignedAtomicRaisesStoreMisaligned) {
    hart.s.mtvec = kBase + 0x100;
    hart.s.x[10] = kBase + 0x802;
    code(kBase, {amoadd_w(5, 11, 10)});
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_STORE_MISALIGNED);
}

TEST_F(HartTest, MisalignedLoadsAndStoresCompleteAcrossPages) {
    hart.s.x[10] = kBase + 0x1ffd;  // 8 bytes spanning two pages
    hart.s.x[11] = 0x0102030405060708;
    code(kBase, {sd(11, 10, 0), ld(12, 10, 0), lw(13, 10, 1), jal_self()});
    run(1);
    EXPECT_EQ(hart.s.x[12], 0x0102030405060708u);
    EXPECT_EQ(hart.s.x[13], 0x04050607u);  // bytes 1..4 of the little-endian value
}

TEST_F(HartTest, AccessOutsideRamAndDevicesRaisesAccessFault) {
    hart.s.mtvec = kBase + 0x100;
    hart.s.x[10] = 0x1000;
    code(kBase, {ld(5, 10, 0)});
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_LOAD_ACCESS);
    EXPECT_EQ(hart.s.mtval, 0x1000u);
}

TEST_F(HartTest, FetchFromOutsideRamRaisesInstructionAccessFault) {
    hart.s.mtvec = kBase + 0x100;
    hart.s.pc = 0x1000;
    run(1);
    EXPECT_EQ(hart.s.mcause, EXC_INST_ACCESS);
    EXPECT_EQ(hart.s.pc, kBase + 0x100);
}

TEST_F(HartTest, InstructionCrossingAPageExecutes) {
    // A compressed nop puts the next 32-bit instruction across the page end.
    store_le<uint16_t>(mem.span(Gpa(kBase + 0xffe), 2).data(), static_cast<uint16_t>(addi(5, 0, 7)));
    store_le<uint16_t>(mem.span(Gpa(kBase + 0x1000), 2).data(), static_cast<uint16_t>(addi(5, 0, 7) >> 16));
    code(kBase + 0x1002, {jal_self()});
    hart.s.pc = kBase + 0xffe;
    run(2);
    EXPECT_EQ(hart.s.x[5], 7u);
    EXPECT_EQ(hart.s.pc, kBase + 0x1002);
}

TEST_F(HartTest, InstretCountsRetiredInstructions) {
    code(kBase, {kNop, kNop, kNop, jal_self()});
    run(1);
    EXPECT_EQ(hart.s.minstret, 4u);
}

}  // namespace
}  // namespace trapeze::rv64::test
