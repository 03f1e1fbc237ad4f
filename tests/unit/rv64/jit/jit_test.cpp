// The JIT engine on directed programs: chaining, budgets, code invalidation, buffer flushes.
#include "engine_rig.hpp"

namespace trapeze::rv64::test {
namespace {

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 1); }
constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint32_t kPark = 0x0000006f;

TEST(Jit, RunsACountedLoopWithExactInstructionCounts) {
    EngineRig r(Engine::Jit);
    // x5 = 1000; loop: x6 += 3; x5 -= 1; bne x5, x0, loop; park
    r.code(kBase, {addi(5, 0, 1000), addi(6, 6, 3), addi(5, 5, -1), bne(5, 0, -8), kPark});
    r.run(1 + 3 * 1000);
    EXPECT_EQ(r.hart.s.x[6], 3000u);
    EXPECT_EQ(r.hart.s.x[5], 0u);
    EXPECT_EQ(r.hart.s.pc, kBase + 16);
    EXPECT_EQ(r.hart.s.minstret, 3001u);
    EXPECT_EQ(r.jit->retired(), 3001u);
}

TEST(Jit, TakesAnInterruptInsideAChainedLoop) {
    EngineRig r(Engine::Jit);
    r.code(kBase, {addi(5, 5, 1), enc_j(-4, 0)});  // loop: x5 += 1; j loop
    r.code(kBase + 0x100, {kPark});
    r.hart.s.mtvec = kBase + 0x100;
    r.hart.s.mie = csr::MIP_MSIP;
    r.hart.s.mstatus |= csr::MSTATUS_MIE;
    r.run(1000);
    EXPECT_EQ(r.hart.s.x[5], 500u);
    r.hart.set_irq_pin(csr::MIP_MSIP, true);
    r.run(1000);
    EXPECT_EQ(r.hart.s.pc, kBase + 0x100);
    EXPECT_EQ(r.hart.s.mcause, (1ull << 63) | 3);
    EXPECT_EQ(r.hart.s.x[5], 500u);  // taken at the first block boundary
}

TEST(Jit, StoreToTranslatedCodeIsSeenByTheNextExecution) {
    EngineRig r(Engine::Jit);
    r.code(kBase, {addi(5, 0, 1), kPark});
    r.run(1);
    EXPECT_EQ(r.hart.s.x[5], 1u);
    ASSERT_TRUE(r.hart.store<uint32_t>(kBase, addi(5, 0, 2)));
    r.hart.s.pc = kBase;
    r.run(1);
    EXPECT_EQ(r.hart.s.x[5], 2u);
}

TEST(Jit, DeviceWriteToTranslatedCodeIsSeenByTheNextExecution) {
    EngineRig r(Engine::Jit);
    r.code(kBase, {addi(5, 0, 1), kPark});
    r.run(1);
    const uint32_t patched = addi(5, 0, 3);
    ASSERT_TRUE(r.mem.write(Gpa(kBase), std::span(reinterpret_cast<const uint8_t*>(&patched), 4)));
    r.hart.s.pc = kBase;
    r.run(1);
    EXPECT_EQ(r.hart.s.x[5], 3u);
}

TEST(Jit, RefillsTheCodeBufferWhenItIsFull) {
    jit::JitConfig cfg;
    cfg.code_bytes = 512 * 1024;  // the smallest allowed: a few hundred blocks
    EngineRig r(Engine::Jit, cfg);
    // 4096 one-instruction blocks: x5 += 1; j next (each jal ends a block).
    constexpr unsigned kBlocks = 4096;
    for (unsigned i = 0; i < kBlocks; ++i) r.code(kBase + 8 * i, {addi(5, 5, 1), enc_j(4, 0)});
    r.code(kBase + 8 * kBlocks, {kPark});
    for (unsigned pass = 0; pass < 3; ++pass) {
        r.hart.s.pc = kBase;
        r.hart.s.x[5] = 0;
        r.run(2 * kBlocks);
        EXPECT_EQ(r.hart.s.x[5], kBlocks);
        EXPECT_EQ(r.hart.s.pc, kBase + 8 * kBlocks);
    }
    EXPECT_GT(r.jit->flushes(), 0u);
}

}  // namespace
}  // namespace trapeze::rv64::test
