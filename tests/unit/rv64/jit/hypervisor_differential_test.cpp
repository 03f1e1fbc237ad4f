// Differential runs with the hypervisor extension (priv spec ch. 8): the random programs of
// differential_test.cpp run with V=1, in VS-mode or VU-mode, under two-stage translation
// (vsatp Sv39, hgatp Sv39x4), under the interpreter and the JIT from the same state; after
// every slice every architectural register, the H and VS CSRs and V included, must match,
// and at the end all of RAM. Their traps go to M-mode (whose mret returns into the guest by
// MPV), or, delegated by medeleg and hedeleg, to HS-mode (sret by SPV) or VS-mode; their
// loads, stores and jumps reach pages that fault in either stage (page faults, guest-page
// faults 20, 21 and 23, access faults); their CSR accesses reach the VS CSRs, or trap as
// virtual or illegal instructions; interrupts at the M, HS and VS levels come and go.
#include <optional>
#include <random>
#include <vector>

#include "engine_rig.hpp"
#include "random_program.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;
using namespace random_program;

constexpr unsigned kSlots = 400;  // instructions per program

// The CSRs a guest reaches: the S CSRs (VS CSRs while V=1, sstatus's also by the JIT's own
// paths), counters (hcounteren), and ones V=1 forbids: H and VS CSRs (virtual instruction),
// M CSRs (illegal instruction). satp is only read: a write would unmap the program.
constexpr CsrUse kGuestCsrs[] = {
    {SSTATUS}, {SSTATUS, CsrUse::Swap}, {SSTATUS, CsrUse::ClearSie}, {SSCRATCH, CsrUse::Swap},
    {SEPC},    {SCAUSE},                {STVAL},                     {SIE},
    {SIP},     {SATP},                  {CYCLE},                     {INSTRET},
    {FCSR},    {HSTATUS},               {VSSTATUS},                  {MSTATUS},
    {MSCRATCH}};
constexpr Mix kMix{.plain = 42, .load = 51, .store = 59, .atomic = 64, .cbo = 66, .branch = 76, .jal = 79,
                   .jalr = 82, .csr = 90, .smc = 93, .fetch = 96, .jal_reach = 3, .csrs = kGuestCsrs};

// The guest's memory. Its virtual page n is guest-physical page kGuestRam / 4 KiB + n (the
// VS-stage, 4 KiB pages), which the G-stage maps onto supervisor-physical page kBase / 4 KiB + n,
// except for the two data pages, which it swaps: no stage is the identity, so an access that
// skipped either would land elsewhere (or fault), and an access across the data pages'
// boundary reaches two pages that are not adjacent.
constexpr uint64_t kGuestRam = 0x40000000;
constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kHsHandler = kHandler + 0x400;  // HS-mode's trap handler, untranslated (satp is Bare)
// VS-mode's is at the same virtual address, where the guest maps other code (guest page 9, at
// the same offset): as a host's and its guest's kernels do, the two modes name different
// instructions by one pc.
constexpr uint64_t kVsHandler = kHsHandler;
constexpr uint64_t kVsHandlerPage = 9;
constexpr uint64_t kVsHandlerPa = kBase + kVsHandlerPage * kPage + (kVsHandler & 0xfff);
constexpr uint64_t kVsRoot = kRoot;           // VS-stage tables: the root, two L1 and two L0 pages
constexpr uint64_t kGRoot = kBase + 0x40000;  // G-stage tables: the 16 KiB root, one L1, one L0 page

// What the bad base register points at, one region per seed (guest virtual page bad_page(b)).
enum class Bad : unsigned {
    GuestUnmapped,  // the G-stage does not map its guest-physical page: guest-page faults
    GuestReadOnly,  // the G-stage maps it readable only: stores and fetches fault (23, 20)
    Unmapped,       // the VS-stage does not map it: page faults
    ReadOnly,       // the VS-stage maps it readable only: stores and fetches fault (15, 12)
    GpaTooWide,     // its guest-physical address has bits above Sv39x4's 41: guest-page faults
    NotRam,         // the G-stage maps it onto no RAM or device: access faults
    Count
};
constexpr uint64_t bad_page(Bad b) { return 0x30 + static_cast<uint64_t>(b); }

struct Guest {
    Priv priv = Priv::S;    // VS-mode or VU-mode
    bool delegate = false;  // random medeleg, hedeleg, mideleg.SSIP, hideleg; SSIP and VSSIP come and go
};

// A trap handler that leaves every x register as it found it, since handlers of different
// levels interrupt one another (an M-mode interrupt in the middle of the VS-mode handler):
// its one register A waits in `scratch`. An interrupt returns to where it was taken; a fetch
// fault (causes 1, 12, 20: Mix::fetch's jumps) to the jump's link; any other exception to the
// instruction after the one that raised it.
std::vector<uint32_t> handler(unsigned A, uint16_t scratch, uint16_t cause, uint16_t epc, uint32_t xret) {
    constexpr uint32_t blt = 4, beq = 0;
    static_assert(EXC_INST_ACCESS == 1 && EXC_INST_PAGE_FAULT == 12 && EXC_INST_GUEST_PAGE_FAULT == 20);
    return {csrrw(A, scratch, A),
            csrrs(A, cause, 0),
            enc_b(48, 0, A, blt),  // an interrupt: to the end
            addi(A, A, -1),
            enc_b(36, 0, A, beq),  // cause 1: to the fetch fault's return
            addi(A, A, -11),
            enc_b(28, 0, A, beq),  // 12
            addi(A, A, -8),
            enc_b(20, 0, A, beq),  // 20
            csrrs(A, epc, 0),
            addi(A, A, 4),
            csrrw(0, epc, A),
            enc_j(8, 0),
            csrrw(0, epc, kFetchLink),
            csrrw(A, scratch, A),
            xret};
}

void put_code(EngineRig& rig, uint64_t addr, const std::vector<uint32_t>& insns) {
    for (uint32_t insn : insns) {
        rig.poke32(addr, insn);
        addr += 4;
    }
}

constexpr uint64_t PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 0x10, PTE_AD = 0xc0;

uint64_t pte(uint64_t addr, uint64_t bits) { return (addr >> 12) << 10 | bits; }

// G-stage (§8.5.1): guest-physical page n of kGuestRam onto `spa`; every leaf is a U one.
void map_g(EngineRig& rig, uint64_t n, uint64_t spa, uint64_t bits) {
    rig.poke64(kGRoot + 8 * (kGuestRam >> 30), pte(kGRoot + 0x4000, PTE_V));
    rig.poke64(kGRoot + 0x4000, pte(kGRoot + 0x5000, PTE_V));
    rig.poke64(kGRoot + 0x5000 + 8 * n, pte(spa, bits | PTE_V | PTE_U));
}

// VS-stage: the guest virtual page of `va` onto guest-physical `gpa`. The tables hold
// guest-physical addresses; the first 2 MiB of VA use table pages 1 and 2 after the root, the
// 2 MiB at kBase pages 3 and 4.
void map_vs(EngineRig& rig, uint64_t va, uint64_t gpa, uint64_t bits) {
    const uint64_t root_index = va >> 30;
    const uint64_t l1 = kVsRoot + (root_index == 0 ? 0x1000 : 0x3000), l0 = l1 + 0x1000;
    auto gpa_of = [](uint64_t spa) { return kGuestRam + (spa - kBase); };
    rig.poke64(kVsRoot + 8 * root_index, pte(gpa_of(l1), PTE_V));
    rig.poke64(l1 + 8 * ((va >> 21) & 511), pte(gpa_of(l0), PTE_V));
    rig.poke64(l0 + 8 * ((va >> 12) & 511), pte(gpa, bits | PTE_V));
}

// The two stages' tables, A and D set in their leaves or left to the hart (from `rng`).
void map_guest(EngineRig& rig, const Guest& g, std::mt19937_64& rng) {
    const uint64_t g_ad = rng() % 2 != 0 ? PTE_AD : 0, vs_ad = rng() % 2 != 0 ? PTE_AD : 0;
    const uint64_t rwx = PTE_R | PTE_W | PTE_X;
    const uint64_t user = g.priv == Priv::U ? PTE_U : 0;
    const uint64_t data_user = g.priv == Priv::U || rng() % 4 == 0 ? PTE_U : 0;  // VS: only with SUM
    auto guest_page = [](uint64_t n) { return kGuestRam + n * kPage; };
    const uint64_t data = (kData - kBase) / kPage, table = (kVsRoot - kBase) / kPage;
    for (uint64_t n : {uint64_t{0}, kVsHandlerPage, table, table + 1, table + 2, table + 3, table + 4})
        map_g(rig, n, kBase + n * kPage, rwx | g_ad);
    map_g(rig, data, kData + kPage, rwx | g_ad);
    map_g(rig, data + 1, kData, rwx | g_ad);
    map_vs(rig, 0, guest_page(0), rwx | user | vs_ad);
    map_vs(rig, kVsHandler, guest_page(kVsHandlerPage), PTE_R | PTE_X | vs_ad);
    map_vs(rig, data * kPage, guest_page(data), rwx | data_user | vs_ad);
    map_vs(rig, (data + 1) * kPage, guest_page(data + 1), rwx | data_user | vs_ad);
    // The bad regions: each virtual page onto the guest-physical page of the same number.
    auto both = [&](Bad b, uint64_t vs_bits, uint64_t spa, uint64_t g_bits) {
        const uint64_t n = bad_page(b);
        map_vs(rig, n * kPage, guest_page(n), vs_bits | user | vs_ad);
        if (g_bits != 0) map_g(rig, n, spa, g_bits | g_ad);
    };
    both(Bad::GuestUnmapped, rwx, 0, 0);
    both(Bad::GuestReadOnly, rwx, kBase + bad_page(Bad::GuestReadOnly) * kPage, PTE_R);
    both(Bad::ReadOnly, PTE_R, kBase + bad_page(Bad::ReadOnly) * kPage, rwx);
    both(Bad::NotRam, rwx, 0x1000, rwx);
    map_vs(rig, bad_page(Bad::GpaTooWide) * kPage, uint64_t{1} << 41, rwx | user | vs_ad);
}

// The hypervisor's and the guest's CSRs, from `rng` where the programs should meet either
// value of a bit: FS in both status registers, SUM and SIE, VTVM, the counters' and CBOs'
// enables at each level, and (with g.delegate) where traps and interrupts go.
void configure(EngineRig& rig, const Guest& g, uint64_t seed, std::mt19937_64& rng) {
    Hart& h = rig.hart;
    const uint64_t fs[] = {FS_OFF, FS_INITIAL, FS_CLEAN, FS_DIRTY};
    const uint64_t envcfg = MENVCFG_CBIE | MENVCFG_CBCFE | MENVCFG_CBZE;
    ASSERT_TRUE(h.csr_write(MSTATUS, (h.s.mstatus & ~MSTATUS_FS) | fs[1 + rng() % 3]));
    ASSERT_TRUE(h.csr_write(VSSTATUS, fs[rng() % 4] | (rng() & (MSTATUS_SUM | MSTATUS_SIE))));
    ASSERT_TRUE(h.csr_write(HSTATUS, rng() & HSTATUS_VTVM));  // not VTSR: the VS handler's sret
    ASSERT_TRUE(h.csr_write(MCOUNTEREN, rng() & 7));
    ASSERT_TRUE(h.csr_write(HCOUNTEREN, rng() & 7));
    ASSERT_TRUE(h.csr_write(SCOUNTEREN, rng() & 7));
    ASSERT_TRUE(h.csr_write(MENVCFG, rng() & envcfg));
    ASSERT_TRUE(h.csr_write(HENVCFG, rng() & envcfg));
    ASSERT_TRUE(h.csr_write(SENVCFG, rng() & envcfg));
    ASSERT_TRUE(h.csr_write(STVEC, kHsHandler));
    ASSERT_TRUE(h.csr_write(VSTVEC, kVsHandler));
    if (g.delegate) {
        ASSERT_TRUE(h.csr_write(MEDELEG, rng()));  // what the hart keeps of it (WARL)
        ASSERT_TRUE(h.csr_write(HEDELEG, rng()));
        ASSERT_TRUE(h.csr_write(MIDELEG, rng() & MIP_SSIP));
        ASSERT_TRUE(h.csr_write(HIDELEG, rng() & MIP_VSSIP));
    }
    ASSERT_TRUE(h.csr_write(MIE, MIP_MSIP | MIP_SSIP | MIP_VSSIP));
    ASSERT_TRUE(h.csr_write(HGATP, HGATP_MODE_SV39X4 << 60 | kGRoot >> 12));
    ASSERT_TRUE(h.csr_write(VSATP, SATP_MODE_SV39 << 60 | (seed & 0x7ff) << SATP_ASID_SHIFT |
                                       (kGuestRam + (kVsRoot - kBase)) >> 12));
}

// The program and handlers, random registers and data (random_program::install), then the
// guest's tables and CSRs; the hart starts the program at guest VA 0 with V=1 in g.priv.
void install(EngineRig& rig, const std::vector<uint32_t>& program, ProgramGenerator& gen, uint64_t seed,
             const Guest& g) {
    random_program::install(rig, program, gen, seed);
    put_code(rig, kHandler, handler(kHandlerA, MSCRATCH, MCAUSE, MEPC, kMret));
    // HS-mode's and VS-mode's handlers differ only in their register (in VS-mode the S CSRs
    // are the VS ones), so that running one for the other shows.
    constexpr uint32_t kSret = 0x10200073;
    put_code(rig, kHsHandler, handler(kHandlerA, SSCRATCH, SCAUSE, SEPC, kSret));
    put_code(rig, kVsHandlerPa, handler(kHandlerB, SSCRATCH, SCAUSE, SEPC, kSret));
    std::mt19937_64 rng(seed ^ 0x6e57);
    map_guest(rig, g, rng);
    rig.grant_all_memory();
    configure(rig, g, seed, rng);
    HartState& s = rig.hart.s;
    s.x[kBadBase] = bad_page(static_cast<Bad>(rng() % static_cast<unsigned>(Bad::Count))) * kPage + 0x800;
    for (uint64_t* reg : {&s.x[kCodeBase], &s.x[kDataBase], &s.x[kEdgeBase], &s.pc}) *reg -= kBase;
    s.virt = true;
    rig.set_priv(g.priv);
}

ProgramGenerator generator(uint64_t seed) { return ProgramGenerator(seed, kSlots, kMix, Ending::Park); }

// Sets `bit` of mip on both harts: a pin (MSIP), or hvip's and sip's bits the hypervisor writes.
void set_interrupt(EngineRig& a, EngineRig& b, uint64_t bit, bool level) {
    for (EngineRig* r : {&a, &b}) {
        if (bit == MIP_MSIP)
            r->hart.set_irq_pin(bit, level);
        else
            r->hart.s.mip = level ? r->hart.s.mip | bit : r->hart.s.mip & ~bit;
    }
}

void run_guest_differential(uint64_t seed, const Guest& g) {
    EngineRig a(Engine::Interp, EngineRig::eager(), EngineRig::hart_config(true));
    EngineRig b(Engine::Jit, EngineRig::eager(), EngineRig::hart_config(true));
    ProgramGenerator gen_a = generator(seed), gen_b = generator(seed);
    const auto program = gen_a.generate();
    (void)gen_b.generate();
    install(a, program, gen_a, seed, g);
    install(b, program, gen_b, seed, g);
    if (::testing::Test::HasFatalFailure()) return;
    // Interrupts come and go between slices, at every level the guest's traps reach: both
    // engines must take them at the same block boundary, and leave and re-enter the guest.
    std::mt19937_64 budgets(seed ^ 0x5eed);
    const uint64_t lines[] = {MIP_MSIP, MIP_SSIP, MIP_VSSIP};
    const size_t kinds = g.delegate ? 3 : 1;
    bool level[3] = {};
    constexpr unsigned kRuns = 100;
    for (unsigned step = 0; step < kRuns; ++step) {
        const bool last = step + 1 == kRuns;
        for (size_t i = 0; i < kinds; ++i) {
            if (budgets() % 6 != 0 && !last) continue;
            level[i] = !level[i] && !last;
            set_interrupt(a, b, lines[i], level[i]);
        }
        // Small budgets end slices inside chains; the last one lets the program finish.
        const uint64_t budget = last ? 20000 : 1 + budgets() % 40;
        a.run(budget);
        b.run(budget);
        ASSERT_EQ(diff_state(a.hart.s, b.hart.s), "")
            << "seed " << seed << " after run " << step << " (budget " << budget << ")";
    }
    const HartState& s = a.hart.s;
    EXPECT_TRUE(s.pc == 4 * (kSlots - 1) && s.virt && s.priv == g.priv)
        << "seed " << seed << ": the program did not reach its end; " << fmt::format(
               "pc {:#x} V {} priv {} mcause {:#x} mepc {:#x} mtval {:#x} mtval2 {:#x} minstret {}", s.pc, s.virt,
               static_cast<int>(s.priv), s.mcause, s.mepc, s.mtval, s.mtval2, s.minstret);
    EXPECT_TRUE(same_memory(a, b)) << "seed " << seed;
    EXPECT_EQ(a.interp->retired(), b.jit->retired()) << "seed " << seed;
}

void run_seeds(uint64_t seeds, const Guest& g) {
    for (uint64_t seed = 1; seed <= seeds; ++seed) {
        run_guest_differential(seed, g);
        if (::testing::Test::HasFailure()) return;
    }
}

// The layout above as the hart translates it, V=1: each stage moves pages, the VS handler's
// pc is HS-mode's, and the bad regions fault where they should.
TEST(JitDifferential, GuestOfTheHypervisorTestsTranslatesThroughBothStages) {
    EngineRig rig(Engine::Interp, EngineRig::eager(), EngineRig::hart_config(true));
    ProgramGenerator gen = generator(1);
    install(rig, gen.generate(), gen, 1, Guest{});
    auto pa_of = [&](uint64_t va) -> std::optional<uint64_t> {
        uint64_t pa = 0;
        return rig.hart.debug_translate(va, pa) ? std::optional(pa) : std::nullopt;
    };
    EXPECT_EQ(pa_of(0x24), kBase + 0x24);
    EXPECT_EQ(pa_of(kData - kBase + 8), kData + kPage + 8);
    EXPECT_EQ(pa_of(kData - kBase + kPage + 8), kData + 8);
    EXPECT_EQ(pa_of(kVsHandler), kVsHandlerPa);
    EXPECT_EQ(pa_of(bad_page(Bad::GuestUnmapped) * kPage), std::nullopt);
    EXPECT_EQ(pa_of(bad_page(Bad::GuestReadOnly) * kPage), kBase + bad_page(Bad::GuestReadOnly) * kPage);
    EXPECT_EQ(pa_of(bad_page(Bad::Unmapped) * kPage), std::nullopt);
    EXPECT_EQ(pa_of(bad_page(Bad::ReadOnly) * kPage), kBase + bad_page(Bad::ReadOnly) * kPage);
    EXPECT_EQ(pa_of(bad_page(Bad::GpaTooWide) * kPage), std::nullopt);
    EXPECT_EQ(pa_of(bad_page(Bad::NotRam) * kPage + 4), 0x1004u);
}

TEST(JitDifferential, RandomProgramsInVsModeUnderTwoStagesMatchTheInterpreter) {
    run_seeds(200, Guest{.priv = Priv::S, .delegate = false});
}

TEST(JitDifferential, RandomProgramsInVsModeWithDelegatedTrapsMatchTheInterpreter) {
    run_seeds(200, Guest{.priv = Priv::S, .delegate = true});
}

TEST(JitDifferential, RandomProgramsInVuModeUnderTwoStagesMatchTheInterpreter) {
    run_seeds(100, Guest{.priv = Priv::U, .delegate = true});
}

}  // namespace
}  // namespace trapeze::rv64::test
