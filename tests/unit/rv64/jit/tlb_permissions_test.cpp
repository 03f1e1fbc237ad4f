// A data view's soft-TLB entry holds what one page's loads and stores may skip (the walk, the
// permission checks, the watchpoint checks). Under both engines: what a load cached must
// never let a store through (the walk that sets D, or faults, must run), and what a store
// cached must not let a load past what guards loads (a read watchpoint on the page). A TLB
// whose loads and stores share one entry (tried: a write bit in the tag) must keep these.
#include <cstdint>

#include "engine_rig.hpp"
#include "rv64/debug_points.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kRoot = kBase + 0x40000;
constexpr uint64_t kData = 0x1000;             // VA of the data page
constexpr uint64_t kDataPa = kBase + 0x10000;  // and where it is
constexpr uint64_t kTrap = kBase + 0x800;      // M-mode trap vector (bare)
constexpr uint32_t kPark = 0x0000006f;
// Leaf PTE flags (priv spec §4.3.1): V R W A, without D; V R A D, without W.
constexpr uint64_t kCleanWritable = 0x47, kReadOnly = 0xc3;

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 1); }
uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 3, rd, 0x03); }
uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 3, 0x23); }

class TlbPermissions : public ::testing::TestWithParam<Engine> {
protected:
    TlbPermissions() : r(GetParam()) {
        r.map_page(kRoot, 0, kBase);  // the code at VA 0
        r.map_page(kRoot, kData >> 12, kDataPa);
        r.code(kTrap, {kPark});
        r.hart.s.mtvec = kTrap;
        r.hart.s.x[8] = kData;
        r.hart.s.x[6] = 0x1122334455667788;
    }
    void set_data_leaf(uint64_t flags) { r.poke64(kRoot + 0x2000 + 8 * (kData >> 12), (kDataPa >> 12) << 10 | flags); }
    uint64_t data_leaf() { return r.peek64(kRoot + 0x2000 + 8 * (kData >> 12)); }
    // 50 loads of the data page in a loop (their entry filled by the first), then a store to it.
    void load_then_store() {
        r.code(kBase, {ld(5, 8, 0), addi(11, 11, -1), bne(11, 0, -8), sd(6, 8, 8), kPark});
        r.hart.s.x[11] = 50;
        r.enter_sv39(kRoot);
        r.run(1000);
    }

    EngineRig r;
};

// The store after the loads reaches the page walk, which sets the dirty bit (§4.3.1 step 9:
// no cached translation may let a store past a clear D).
TEST_P(TlbPermissions, AStoreAfterLoadsOfAPageStillSetsItsDirtyBit) {
    set_data_leaf(kCleanWritable);
    load_then_store();
    EXPECT_EQ(r.hart.s.x[11], 0u);
    EXPECT_NE(data_leaf() & 0x80, 0u) << "D";
    EXPECT_EQ(r.peek64(kDataPa + 8), 0x1122334455667788u);
}

TEST_P(TlbPermissions, AStoreAfterLoadsOfAReadOnlyPageFaults) {
    set_data_leaf(kReadOnly);
    load_then_store();
    EXPECT_EQ(r.hart.s.mcause, csr::EXC_STORE_PAGE_FAULT);
    EXPECT_EQ(r.hart.s.mepc, 12u);
    EXPECT_EQ(r.hart.s.mtval, kData + 8);
    EXPECT_EQ(r.peek64(kDataPa + 8), 0u);
}

// Stores to the page next to a read watchpoint, then a load of the watched bytes: it stops
// before the load (the stores' entry must not serve it).
TEST_P(TlbPermissions, AReadWatchpointStopsALoadAfterStoresToItsPage) {
    DebugPoints points;
    ASSERT_TRUE(points.add_watchpoint(Watchpoint{.addr = kData, .len = 8, .kind = WatchKind::Read}));
    r.hart.set_debug_points(&points);
    r.code(kBase, {sd(6, 8, 8), sd(6, 8, 16), sd(6, 8, 24), ld(5, 8, 0), kPark});
    r.enter_sv39(kRoot);
    r.run(1000);
    ASSERT_TRUE(r.hart.debug_stopped());
    EXPECT_EQ(r.hart.debug_event().kind, DebugEvent::Kind::Watch);
    EXPECT_EQ(r.hart.debug_event().addr, kData);
    EXPECT_EQ(r.hart.s.pc, 12u);
    EXPECT_EQ(r.hart.s.x[5], 0u);
    EXPECT_EQ(r.peek64(kDataPa + 24), 0x1122334455667788u);
}

// A write entry filled after a full flush (sfence.vma, which retires every entry's id and with
// them the record of which entries may hold write permission) is still found and dropped when
// its page becomes code: the store after that reaches the code's translation.
//   0: sd x6, 0(x8)  ; 4: sfence.vma  ; 8: sd x6, 0(x8)  (the data page now holds a function)
//  12: jalr ra, 0(x8) (the page becomes code) ; 16: sw x7, 0(x8) (its first instruction
//  rewritten) ; 20: fence.i ; 24: jalr ra, 0(x8) ; 28: park
TEST_P(TlbPermissions, AWriteEntryFilledAfterAFullFlushIsDroppedWhenItsPageBecomesCode) {
    constexpr uint32_t kSfenceVma = 0x12000073, kFenceI = 0x0000100f;
    const uint32_t call = enc_i(0, 8, 0, 1, 0x67), ret = enc_i(0, 1, 0, 0, 0x67);
    r.code(kBase, {sd(6, 8, 0), kSfenceVma, sd(6, 8, 0), call, enc_s(0, 7, 8, 2, 0x23), kFenceI, call, kPark});
    r.hart.s.x[6] = uint64_t{ret} << 32 | addi(10, 10, 1);
    r.hart.s.x[7] = addi(10, 10, 100);
    r.enter_sv39(kRoot);
    r.run(1000);
    EXPECT_EQ(r.hart.s.pc, 28u);
    EXPECT_EQ(r.hart.s.x[10], 101u);
}

INSTANTIATE_TEST_SUITE_P(Engines, TlbPermissions, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const ::testing::TestParamInfo<Engine>& i) { return i.param == Engine::Jit ? "Jit" : "Interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
