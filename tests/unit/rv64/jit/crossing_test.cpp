// 32-bit instructions whose halves lie in different pages (Op::crossing), under both engines:
// they retire and count like any other instruction, see a rewrite of either half, and a
// fault on the upper half traps precisely.
#include "engine_rig.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kPageEnd = kBase + 0x1000;
constexpr uint32_t kPark = 0x0000006f;  // j .
constexpr uint16_t kCNop = 0x0001;

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }

class Crossing : public ::testing::TestWithParam<Engine> {
protected:
    Crossing() : r(GetParam()) {}

    // A compressed nop at kPageEnd - 4, then `insn` across the page end, then a park.
    void place(uint32_t insn) {
        store_le<uint16_t>(r.mem.span(Gpa(kPageEnd - 4), 2).data(), kCNop);
        put_crossing(insn);
        r.code(kPageEnd + 2, {kPark});
        r.hart.s.pc = kPageEnd - 4;
    }
    void put_crossing(uint32_t insn) {
        store_le<uint16_t>(r.mem.span(Gpa(kPageEnd - 2), 2).data(), static_cast<uint16_t>(insn));
        store_le<uint16_t>(r.mem.span(Gpa(kPageEnd), 2).data(), static_cast<uint16_t>(insn >> 16));
    }

    EngineRig r;
};

TEST_P(Crossing, RetiresAndCountsLikeAnyInstruction) {
    place(addi(5, 0, 7));
    r.run(3);  // c.nop, the crossing addi, one turn of the park loop
    EXPECT_EQ(r.hart.s.x[5], 7u);
    EXPECT_EQ(r.hart.s.pc, kPageEnd + 2);
    EXPECT_EQ(r.hart.s.minstret, 3u);
}

// A W instruction across the page end is translated on its own (emit_crossing), outside the
// lazy sign extension of emit_body: its result must be sign-extended at once.
TEST_P(Crossing, SignExtendsAWordResult) {
    place(enc_r(0, 6, 5, 0, 7, 0x3b));  // addw x7, x5, x6
    r.hart.s.x[5] = 0x7fffffff;
    r.hart.s.x[6] = 1;
    // A turn of the park loop first puts the upper half's page in the fetch TLB, so the JIT
    // translates the whole instruction (Jit::prepare_crossing) instead of its fallback.
    r.hart.s.pc = kPageEnd + 2;
    r.run(1);
    r.hart.s.pc = kPageEnd - 4;
    r.run(3);
    EXPECT_EQ(r.hart.s.x[7], 0xffffffff80000000u);
    EXPECT_EQ(r.hart.s.pc, kPageEnd + 2);
    if (r.jit != nullptr) {
        EXPECT_EQ(r.jit->stats().fallbacks, 0u);  // translated, not interpreted
    }
}

TEST_P(Crossing, SeesARewriteOfTheUpperHalf) {
    place(addi(5, 0, 7));
    r.run(3);
    EXPECT_EQ(r.hart.s.x[5], 7u);
    // addi x5, x0, 0x400 differs from the first only in the upper half (imm[11:4]).
    ASSERT_TRUE(r.hart.store<uint16_t>(kPageEnd, static_cast<uint16_t>(addi(5, 0, 0x400) >> 16)));
    r.hart.s.pc = kPageEnd - 4;
    r.run(3);
    EXPECT_EQ(r.hart.s.x[5], 0x400u);
}

TEST_P(Crossing, SeesARewriteOfTheLowerHalf) {
    place(addi(5, 0, 7));
    r.run(3);
    ASSERT_TRUE(r.hart.store<uint16_t>(kPageEnd - 2, static_cast<uint16_t>(addi(6, 0, 7))));
    r.hart.s.pc = kPageEnd - 4;
    r.hart.s.x[5] = 0;
    r.run(3);
    EXPECT_EQ(r.hart.s.x[5], 0u);
    EXPECT_EQ(r.hart.s.x[6], 7u);
}

TEST_P(Crossing, FetchFaultOnTheUpperHalfTrapsAtTheInstruction) {
    // PMP: M-mode code is unrestricted, so run in U with one entry covering only the first page.
    store_le<uint16_t>(r.mem.span(Gpa(kPageEnd - 4), 2).data(), kCNop);
    put_crossing(addi(5, 0, 7));
    r.code(kBase + 0x800, {kPark});
    r.hart.s.mtvec = kBase + 0x800;
    ASSERT_TRUE(r.hart.csr_write(csr::PMPADDR0, kPageEnd >> 2));  // TOR: [0, kPageEnd)
    ASSERT_TRUE(r.hart.csr_write(csr::PMPCFG0, 0x08 | 0x04));      // A=TOR, X
    r.hart.s.priv = Priv::U;
    r.hart.s.pc = kPageEnd - 4;
    r.run(2);  // the c.nop, then the trap (a budget unit of its own)
    EXPECT_EQ(r.hart.s.pc, kBase + 0x800);
    EXPECT_EQ(r.hart.s.priv, Priv::M);
    EXPECT_EQ(r.hart.s.mcause, csr::EXC_INST_ACCESS);
    EXPECT_EQ(r.hart.s.mepc, kPageEnd - 2);  // the instruction, not its upper half
    EXPECT_EQ(r.hart.s.x[5], 0u);
    EXPECT_EQ(r.hart.s.minstret, 1u);  // only the c.nop retired
}

// In a loop, the JIT translates the crossing instruction natively behind a check of its upper
// half (it is translated on its second run, after the first filled the fetch TLB).
TEST(CrossingJit, RunsNativelyInALoopAndFallsBackWhenTheUpperHalfChanges) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.translate_after = 1;
    EngineRig r(Engine::Jit, cfg);
    // loop: c.nop; addi x5, x5, -1 (across the page end; upper half 0xfff2); j loop
    store_le<uint16_t>(r.mem.span(Gpa(kPageEnd - 4), 2).data(), kCNop);
    const uint32_t inc = addi(5, 5, -1);
    store_le<uint16_t>(r.mem.span(Gpa(kPageEnd - 2), 2).data(), static_cast<uint16_t>(inc));
    store_le<uint16_t>(r.mem.span(Gpa(kPageEnd), 2).data(), static_cast<uint16_t>(inc >> 16));
    r.code(kPageEnd + 2, {enc_j(-6, 0)});
    r.hart.s.pc = kPageEnd - 4;
    r.run(3 * 100);
    EXPECT_EQ(r.hart.s.x[5], static_cast<uint64_t>(-100));
    EXPECT_EQ(r.hart.s.minstret, 300u);
    EXPECT_EQ(r.jit->stats().fallbacks, 0u);  // the crossing addi ran as native code
    // addi x5, x5, 0x400 differs only in the upper half: the check fails, exec_crossing runs.
    ASSERT_TRUE(r.hart.store<uint16_t>(kPageEnd, static_cast<uint16_t>(addi(5, 5, 0x400) >> 16)));
    r.run(3 * 10);
    EXPECT_EQ(r.hart.s.x[5], static_cast<uint64_t>(-100 + 10 * 0x400));
    EXPECT_EQ(r.hart.s.minstret, 330u);
}

INSTANTIATE_TEST_SUITE_P(BothEngines, Crossing, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "jit" : "interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
