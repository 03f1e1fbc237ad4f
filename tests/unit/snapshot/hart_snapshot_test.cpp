// A hart's side of snapshots: HartState's encoding (every field round-trips, impossible values
// fail the reader), Hart::restore (refuses another hart's state, derives translations afresh),
// and the dirty-page log that diff snapshots depend on, fed by the hart's own RAM writes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "state_roundtrip.hpp"
#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/csr.hpp"
#include "rv64/hart.hpp"
#include "rv64/hart_state.hpp"
#include "snapshot/state_stream.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {
namespace {

using namespace rv64;
using namespace rv64::csr;

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;

using snapshot::test::encode;

HartState random_state(uint64_t seed) {
    std::mt19937_64 rng(seed);
    HartState s;
    for (auto& v : s.x) v = rng();
    s.x[0] = 0;
    s.x[32] = 0;
    for (auto& v : s.f) v = rng();
    s.pc = rng();
    s.priv = Priv::S;
    s.fflags = 0x1f;
    s.frm = 7;
    s.wfi = true;
    s.reservation_valid = true;
    s.reservation = rng();
    s.reservation_value = rng();
    for (uint64_t* p : {&s.mhartid, &s.mstatus, &s.misa, &s.medeleg, &s.mideleg, &s.mie, &s.mip, &s.mtvec,
                        &s.mscratch, &s.mepc, &s.mcause, &s.mtval, &s.mcounteren, &s.mcountinhibit, &s.menvcfg,
                        &s.mseccfg, &s.mcycle, &s.minstret, &s.stvec, &s.sscratch, &s.sepc, &s.scause, &s.stval,
                        &s.satp, &s.scounteren, &s.senvcfg, &s.stimecmp})
        *p = rng();
    for (auto& v : s.pmpcfg) v = static_cast<uint8_t>(rng());
    for (auto& v : s.pmpaddr) v = rng();
    return s;
}

// Every field comes back as written (x[32], the decoder's rd == x0 sink, is no state).
TEST(HartStateEncoding, EveryFieldRoundTrips) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        const HartState s = random_state(seed);
        const auto bytes = encode(s);
        EXPECT_EQ(bytes.size(), (32 + 32 + 1) * 8 + 5 + 2 * 8 + 27 * 8 + 64 + 64 * 8u) << "the encoding's size changed";
        StateReader r(bytes, "hart");
        const HartState back = HartState::read(r);
        ASSERT_TRUE(r.finish().ok()) << r.finish().error().message;
        EXPECT_EQ(encode(back), bytes) << "seed " << seed;
        EXPECT_EQ(back.x, s.x);
        EXPECT_EQ(back.f, s.f);
        EXPECT_EQ(back.pmpcfg, s.pmpcfg);
        EXPECT_EQ(back.pmpaddr, s.pmpaddr);
        EXPECT_EQ(back.stimecmp, s.stimecmp);
        EXPECT_EQ(back.priv, s.priv);
    }
}

// x0 is hardwired: a file that says otherwise reads as 0 (unpriv spec §2.1).
TEST(HartStateEncoding, X0ReadsAsZero) {
    auto bytes = encode(random_state(3));
    store_le<uint64_t>(bytes.data(), 0x1234);
    StateReader r(bytes, "hart");
    EXPECT_EQ(HartState::read(r).x[0], 0u);
    EXPECT_TRUE(r.finish().ok());
}

// Values no hart can hold fail the reader: privilege 2, fflags above 5 bits, frm above 7, a
// boolean that is neither 0 nor 1; and any truncation.
TEST(HartStateEncoding, ImpossibleValuesFail) {
    const auto good = encode(random_state(4));
    const size_t priv_at = (32 + 32 + 1) * 8;
    const auto refused = [&](size_t at, uint8_t value, const char* why) {
        auto bytes = good;
        bytes[at] = value;
        StateReader r(bytes, "hart");
        HartState::read(r);
        return fails_with(r.finish(), why);
    };
    EXPECT_TRUE(refused(priv_at, 2, "privilege level 2"));
    EXPECT_TRUE(refused(priv_at, 4, "privilege level 4"));
    EXPECT_TRUE(refused(priv_at + 1, 0x20, "fcsr"));
    EXPECT_TRUE(refused(priv_at + 2, 8, "fcsr"));
    EXPECT_TRUE(refused(priv_at + 3, 2, "boolean"));
    EXPECT_TRUE(refused(priv_at + 4, 0xff, "boolean"));
    for (size_t keep = 0; keep < good.size(); keep += 7) {
        const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<ptrdiff_t>(keep));
        StateReader r(cut, "hart");
        HartState::read(r);
        ASSERT_FALSE(r.finish().ok()) << "kept " << keep;
    }
}

class HartRestore : public ::testing::Test {
protected:
    HartRestore() : mem(GuestMemory::create(Gpa(kBase), kRamSize).value()), hart(HartConfig{0, true}, mem, bus, clock) {
        hart.reset(kBase);
    }
    void poke64(uint64_t addr, uint64_t v) { store_le<uint64_t>(mem.span(Gpa(addr), 8).data(), v); }
    uint64_t peek64(uint64_t addr) { return load_le<uint64_t>(mem.span(Gpa(addr), 8).data()); }
    // Sv39 tables at root, root + 0x1000 (level 1), root + 0x2000 (level 0): VA page `va_page`
    // of the first 2 MiB maps to pa with leaf flags `flags`.
    void map_page(uint64_t root, uint64_t va_page, uint64_t pa, uint64_t flags) {
        poke64(root, ((root + 0x1000) >> 12) << 10 | 1);
        poke64(root + 0x1000, ((root + 0x2000) >> 12) << 10 | 1);
        poke64(root + 0x2000 + 8 * va_page, (pa >> 12) << 10 | flags);
    }
    // S-mode with all memory granted by PMP, translating through `root`.
    HartState supervisor_state(uint64_t root) {
        HartState s = hart.s;
        s.pmpaddr[0] = ~0ull >> 10;
        s.pmpcfg[0] = 0x1f;  // NAPOT, RWX
        s.satp = SATP_MODE_SV39 << 60 | root >> 12;
        s.priv = Priv::S;
        return s;
    }

    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
};

// Another hart's state (mhartid) or another ISA (misa) is not this hart's to take.
TEST_F(HartRestore, RefusesAnotherHartsState) {
    HartState s = hart.s;
    s.mhartid = 1;
    EXPECT_TRUE(fails_with(hart.restore(s), "says it is hart 1"));
    s = hart.s;
    s.misa &= ~(1ull << ('C' - 'A'));
    EXPECT_TRUE(fails_with(hart.restore(s), "misa"));
    EXPECT_TRUE(hart.restore(hart.s).ok());
}

// Translations cached before restore() must not survive it: the same VA (same ASID) maps to
// another page in the restored state, and the first load after restore sees that page.
TEST_F(HartRestore, DerivesTranslationsAfresh) {
    constexpr uint64_t kRootA = kBase + 0x10000, kRootB = kBase + 0x20000;
    constexpr uint64_t kPageA = kBase + 0x30000, kPageB = kBase + 0x31000;
    constexpr uint64_t kLeaf = 0xcf;  // V R W X A D
    map_page(kRootA, 1, kPageA, kLeaf);
    map_page(kRootB, 1, kPageB, kLeaf);
    poke64(kPageA, 0xaaaa);
    poke64(kPageB, 0xbbbb);

    ASSERT_TRUE(hart.restore(supervisor_state(kRootA)).ok());
    uint64_t v = 0;
    ASSERT_TRUE(hart.load<uint64_t>(0x1000, v));
    EXPECT_EQ(v, 0xaaaau);
    ASSERT_TRUE(hart.store<uint64_t>(0x1008, 1));  // a writable entry cached too

    ASSERT_TRUE(hart.restore(supervisor_state(kRootB)).ok());
    ASSERT_TRUE(hart.load<uint64_t>(0x1000, v));
    EXPECT_EQ(v, 0xbbbbu) << "a translation cached before restore() was used after it";
    ASSERT_TRUE(hart.store<uint64_t>(0x1008, 2));
    EXPECT_EQ(peek64(kPageA + 8), 1u);
    EXPECT_EQ(peek64(kPageB + 8), 2u);
}

// Every RAM write a hart makes is in the dirty log once the log has been taken (and the hart's
// translations flushed, as save_snapshot does): the page table walker's A/D updates included
// (priv spec §4.3.2 step 7). A diff snapshot made from a log without them restores page tables
// whose accessed/dirty bits are the base snapshot's: the guest then sees a page it wrote as
// clean (Linux would drop a dirty file page without writing it back).
TEST_F(HartRestore, PageTableAccessedDirtyUpdatesAreLoggedAsDirty) {
    constexpr uint64_t kRoot = kBase + 0x10000, kPage = kBase + 0x30000;
    map_page(kRoot, 1, kPage, 0x0f);  // V R W X, A and D clear: the hart sets them
    ASSERT_TRUE(hart.restore(supervisor_state(kRoot)).ok());
    (void)mem.take_dirty();
    hart.flush_tlb();

    uint64_t v = 0;
    ASSERT_TRUE(hart.load<uint64_t>(0x1000, v));
    ASSERT_TRUE(hart.store<uint64_t>(0x1000, 7));
    const uint64_t leaf_addr = kRoot + 0x2000 + 8;
    EXPECT_EQ(peek64(leaf_addr) & 0xc0, 0xc0u) << "the walker did not set A and D";

    const auto dirty = mem.take_dirty();
    const auto is_dirty = [&](uint64_t addr) {
        const uint64_t p = (addr - kBase) / GuestMemory::kPageSize;
        return (dirty[p / 64] >> (p % 64) & 1) != 0;
    };
    EXPECT_TRUE(is_dirty(kPage)) << "the data page the store wrote";
    EXPECT_TRUE(is_dirty(leaf_addr)) << "the page table page whose PTE got its A/D bits is not in the dirty log";
}

// The hart's own stores (through the TLB's fast path too) mark their pages once the log is taken
// and translations are flushed: the second store to a page hits a cached writable entry.
TEST_F(HartRestore, StoresThroughCachedTranslationsAreLoggedAfterAFlush) {
    ASSERT_TRUE(hart.store<uint64_t>(kBase + 0x5000, 1));  // M-mode, bare: caches a write entry
    (void)mem.take_dirty();
    hart.flush_tlb();
    ASSERT_TRUE(hart.store<uint64_t>(kBase + 0x5008, 2));
    ASSERT_TRUE(hart.store<uint64_t>(kBase + 0x5010, 3));
    const auto dirty = mem.take_dirty();
    EXPECT_EQ(dirty[0], 1ull << 5);
}

// A state only an edited file can hold: mstatus.MPP = 2 (reserved; Hart::write_mstatus never
// stores it) or satp MODE 1 (reserved; write_satp leaves satp unchanged). Expected: refused by
// HartState::read or Hart::restore, as privilege 2 itself is. Otherwise the next mret enters
// privilege level 2, which does not exist, and satp reads back a mode no hart implements.
TEST_F(HartRestore, RefusesCsrValuesNoHartCanHold) {
    HartState mpp = hart.s;
    mpp.mstatus = (mpp.mstatus & ~MSTATUS_MPP) | (2ull << 11);
    mpp.mepc = kBase + 0x100;
    HartState satp = hart.s;
    satp.satp = 1ull << 60;
    for (const auto& [what, state] : {std::pair{"mstatus.MPP = 2", mpp}, std::pair{"satp.MODE = 1", satp}}) {
        const auto bytes = encode(state);
        StateReader r(bytes, "hart0");
        const HartState decoded = HartState::read(r);
        const bool refused = !r.finish().ok() || !hart.restore(decoded).ok();
        EXPECT_TRUE(refused) << what << " was restored";
        if (!refused && decoded.mepc == mpp.mepc) {
            hart.exec_mret();
            EXPECT_NE(static_cast<int>(hart.s.priv), 2) << "mret entered privilege level 2";
        }
    }
}

// The hypervisor extension's state (HartState::write_h, its own section) round-trips, and a
// hart with the extension takes it back in restore() and runs on from it: a two-stage load
// made after the restore goes through the restored hgatp and vsatp.
TEST_F(HartRestore, HypervisorStateRoundTripsAndTranslatesAfresh) {
    Hart h(HartConfig{0, true, true}, mem, bus, clock);
    h.reset(kBase);
    constexpr uint64_t kRoot = kBase + 0x10000, kPage = kBase + 0x30000;
    map_page(kRoot, 1, kPage, 0xcf);  // VS-stage: VA 0x1000 -> GPA kPage (hgatp Bare)
    poke64(kPage, 0x5a5a);
    HartState s = h.s;
    s.pmpaddr[0] = ~0ull >> 10;
    s.pmpcfg[0] = 0x1f;
    s.priv = Priv::S;
    s.virt = true;
    s.vsatp = SATP_MODE_SV39 << 60 | kRoot >> 12;
    s.hstatus |= HSTATUS_SPV | HSTATUS_VTW;
    s.hedeleg = 0x100;
    s.vsepc = 0x1234;
    s.vstimecmp = 77;
    s.htimedelta = 5;
    StateWriter w;
    s.write_h(w);
    const std::vector<uint8_t> bytes = w.take();
    StateReader r(bytes, "hart0.h");
    HartState back = s;
    back.virt = false;
    back.vsatp = back.hstatus = back.hedeleg = back.vsepc = back.htimedelta = 0;
    back.read_h(r);
    ASSERT_TRUE(r.finish().ok()) << r.finish().error().message;
    EXPECT_TRUE(back.virt);
    EXPECT_EQ(back.vsatp, s.vsatp);
    EXPECT_EQ(back.hstatus, s.hstatus);
    EXPECT_EQ(back.hedeleg, s.hedeleg);
    EXPECT_EQ(back.vsepc, s.vsepc);
    EXPECT_EQ(back.vstimecmp, s.vstimecmp);
    EXPECT_EQ(back.htimedelta, s.htimedelta);
    ASSERT_TRUE(h.restore(back).ok());
    uint64_t v = 0;
    ASSERT_TRUE(h.load<uint64_t>(0x1000, v));
    EXPECT_EQ(v, 0x5a5aull);
}

// V=1 on a hart without the extension, or H state no hart can hold, is refused.
TEST_F(HartRestore, RefusesHypervisorStateTheHartCannotHold) {
    HartState virt = hart.s;
    virt.virt = true;
    virt.priv = Priv::S;
    EXPECT_TRUE(fails_with(hart.restore(virt), "V=1"));
    Hart h(HartConfig{0, true, true}, mem, bus, clock);
    h.reset(kBase);
    HartState hgatp = h.s;
    hgatp.hgatp = 3ull << 60;  // a reserved mode
    EXPECT_FALSE(h.restore(hgatp).ok());
    HartState in_m = h.s;
    in_m.virt = true;  // priv M
    EXPECT_FALSE(h.restore(in_m).ok());
    HartState no_h = h.s;
    no_h.misa &= ~(1ull << ('H' - 'A'));
    EXPECT_TRUE(fails_with(h.restore(no_h), "misa"));
    EXPECT_TRUE(h.restore(h.s).ok());
}

}  // namespace
}  // namespace trapeze::snapshot::test
