// The links between blocks (interp::CodeCache::link) across a change of privilege or of V:
// a trap or an xRET changes the translation that fetches the next block without changing the
// pc's page number, so a link made under one translation must not be followed under another.
// Each test loops through an M-mode handler that returns, alternately, to code whose pc is
// the same each time but whose instructions are not; they count their runs in x28 and x29.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine_rig.hpp"
#include "random_program.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;
using random_program::addi;
using random_program::csrrs;
using random_program::csrrw;

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kHandler = kBase + 0x100;  // the M-mode handler, in page kBase
constexpr uint64_t kRoot = kBase + 0x10000;    // Sv39 tables: root, L1, L0 for VAs at kBase
constexpr uint64_t kCopy1 = kBase + 0x5000, kCopy2 = kBase + 0x6000;
constexpr uint32_t kEcall = 0x00000073, kMret = 0x30200073, kSret = 0x10200073;
constexpr unsigned kT0 = 5, kT1 = 6, kCount1 = 28, kCount2 = 29;

uint32_t csrc(uint16_t csr, unsigned rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 3, 0, 0x73); }

// The interpreter, the JIT while its blocks still run interpreted (its dispatcher follows
// their links as the interpreter does), and the JIT on translated code.
template <typename Test>
void on_every_engine(bool hypervisor, const Test& test) {
    jit::JitConfig interpreted = EngineRig::eager();
    interpreted.translate_after = 1000;
    const std::pair<Engine, jit::JitConfig> engines[] = {
        {Engine::Interp, EngineRig::eager()}, {Engine::Jit, interpreted}, {Engine::Jit, EngineRig::eager()}};
    for (const auto& [e, cfg] : engines) {
        EngineRig r(e, cfg, EngineRig::hart_config(hypervisor));
        test(r);
        const std::string engine = e == Engine::Interp          ? "interpreter"
                                   : cfg.translate_after == 0 ? "translated"
                                                              : "interpreted";
        const uint64_t ran1 = r.hart.s.x[kCount1], ran2 = r.hart.s.x[kCount2];
        EXPECT_GE(r.hart.s.mscratch, 20u) << engine;  // the handler's rounds
        EXPECT_LE(ran1 + ran2, r.hart.s.mscratch) << engine;
        EXPECT_LE(std::max(ran1, ran2) - std::min(ran1, ran2), 1u)
            << engine << ": copy 1 ran " << ran1 << " times, copy 2 " << ran2;
    }
}

// Sv39 through tables at kRoot: VA page `va` (in the 2 MiB at kBase) onto `pa`.
void map_page(EngineRig& r, uint64_t va, uint64_t pa) {
    r.poke64(kRoot + 8 * (va >> 30), ((kRoot + 0x1000) >> 12) << 10 | 1);
    r.poke64(kRoot + 0x1000 + 8 * ((va >> 21) & 511), ((kRoot + 0x2000) >> 12) << 10 | 1);
    r.poke64(kRoot + 0x2000 + 8 * ((va >> 12) & 511), EngineRig::leaf(pa));
}
constexpr uint64_t pte_of(uint64_t va) { return kRoot + 0x2000 + 8 * ((va >> 12) & 511); }

// The handler's first part: t0 = ++mscratch (its rounds), t1 = t0's low bit.
std::vector<uint32_t> count_rounds() {
    return {csrrs(kT0, MSCRATCH, 0), addi(kT0, kT0, 1), csrrw(0, MSCRATCH, kT0), enc_i(1, kT0, 7, kT1, 0x13)};
}

// Its remapping part: the leaf of `va` alternates between copy 1 and 2 (t1 picks), then `fence`.
std::vector<uint32_t> remap(EngineRig& r, uint64_t va, uint32_t fence) {
    HartState& s = r.hart.s;
    s.x[18] = EngineRig::leaf(kCopy1);
    s.x[19] = EngineRig::leaf(kCopy2);
    s.x[20] = pte_of(va);
    const uint32_t sd_copy2 = enc_s(0, 19, 20, 3, 0x23), sd_copy1 = enc_s(0, 18, 20, 3, 0x23);
    return {enc_b(12, 0, kT1, 0), sd_copy2, enc_j(8, 0), sd_copy1, fence};  // beq t1, x0, +12
}

void put(EngineRig& r, uint64_t addr, std::initializer_list<std::vector<uint32_t>> parts) {
    for (const auto& part : parts) {
        for (uint32_t insn : part) {
            r.poke32(addr, insn);
            addr += 4;
        }
    }
}

// S-mode code at VA kBase + 0x800, in the page of the handler's mret (M-mode's page kBase),
// where satp maps copy 1 or copy 2 in turn (the handler remaps it and fences). The mret's
// block must not take the S-mode block it led to last time for the same page number: its
// own page was M-mode's, untranslated, so nothing ties the two blocks' pages. (No H needed.)
TEST(ModeChangeLinks, MretIntoTheSamePageNumberFollowsItsRemapping) {
    on_every_engine(false, [](EngineRig& r) {
        constexpr uint64_t kEntry = kBase + 0x800;
        HartState& s = r.hart.s;
        s.x[21] = kEntry;
        s.x[22] = uint64_t{1} << 11;  // MPP = S
        put(r, kHandler, {count_rounds(), remap(r, kEntry, 0x12000073 /* sfence.vma */),
                          {csrrw(0, MEPC, 21), csrrs(0, MSTATUS, 22), kMret}});
        r.code(kCopy1 + 0x800, {addi(kCount1, kCount1, 1), kEcall});
        r.code(kCopy2 + 0x800, {addi(kCount2, kCount2, 1), kEcall});
        map_page(r, kEntry, kCopy1);
        r.grant_all_memory();
        ASSERT_TRUE(r.hart.csr_write(SATP, SATP_MODE_SV39 << 60 | kRoot >> 12));
        s.mtvec = kHandler;
        s.pc = kHandler;
        r.run(15 * 40);
    });
}

// The handler's mret returns to pc kEntry in HS-mode (untranslated: code at kEntry) and in
// VS-mode (vsatp maps it onto copy 2) in turn: both are priv S, and switching V changes no
// translation generation, so the link must name V.
TEST(ModeChangeLinks, MretIntoHsAndVsModesAtOnePcFollowsV) {
    on_every_engine(true, [](EngineRig& r) {
        constexpr uint64_t kEntry = kBase + 0x2800;
        HartState& s = r.hart.s;
        s.x[21] = kEntry;
        s.x[22] = MSTATUS_MPV;
        s.x[23] = uint64_t{1} << 11;  // MPP = S
        const uint32_t slli_t1 = enc_i(39, kT1, 1, kT1, 0x13);  // t1 <<= 39: MPV
        put(r, kHandler, {count_rounds(),
                          {slli_t1, csrc(MSTATUS, 22) /* MPV */,
                           csrrs(0, MSTATUS, kT1), csrrs(0, MSTATUS, 23), csrrw(0, MEPC, 21), kMret}});
        r.code(kEntry, {addi(kCount1, kCount1, 1), kEcall});
        r.code(kCopy2 + 0x800, {addi(kCount2, kCount2, 1), kEcall});
        map_page(r, kEntry, kCopy2);
        r.grant_all_memory();
        ASSERT_TRUE(r.hart.csr_write(VSATP, SATP_MODE_SV39 << 60 | kRoot >> 12));  // hgatp Bare
        s.mtvec = kHandler;
        s.pc = kHandler;
        r.run(15 * 40);
    });
}

// HS-mode code at kBase + 0x2000 srets into VS-mode at kBase + 0x2800, the same page number,
// which vsatp maps onto copy 1 or copy 2 in turn (the M-mode handler remaps it and fences
// with HFENCE.VVMA). The sret's block must not take the VS-mode block it led to last time:
// the two blocks were not fetched through one translation.
TEST(ModeChangeLinks, SretIntoTheGuestAtTheSamePageNumberFollowsItsRemapping) {
    on_every_engine(true, [](EngineRig& r) {
        constexpr uint64_t kSretAt = kBase + 0x2000, kEntry = kBase + 0x2800;
        HartState& s = r.hart.s;
        s.x[21] = kSretAt;
        s.x[22] = MSTATUS_MPV;
        s.x[23] = uint64_t{1} << 11 | MSTATUS_SPP;  // MPP = S, and the sret's SPP = S
        s.x[24] = HSTATUS_SPV;
        put(r, kHandler, {count_rounds(), remap(r, kEntry, 0x22000073 /* hfence.vvma */),
                          {csrc(MSTATUS, 22) /* MPV */,
                           csrrs(0, MSTATUS, 23), csrrs(0, HSTATUS, 24), csrrw(0, MEPC, 21), kMret}});
        r.code(kSretAt, {kSret});
        r.code(kCopy1 + 0x800, {addi(kCount1, kCount1, 1), kEcall});
        r.code(kCopy2 + 0x800, {addi(kCount2, kCount2, 1), kEcall});
        map_page(r, kEntry, kCopy1);
        r.grant_all_memory();
        ASSERT_TRUE(r.hart.csr_write(VSATP, SATP_MODE_SV39 << 60 | kRoot >> 12));  // hgatp Bare
        s.sepc = kEntry;
        s.mtvec = kHandler;
        s.pc = kHandler;
        r.run(20 * 40);
    });
}

}  // namespace
}  // namespace trapeze::rv64::test
