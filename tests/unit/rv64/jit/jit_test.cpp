// The JIT engine on directed programs: chaining, budgets, code invalidation, buffer flushes.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "rv64/jit/code_buffer.hpp"
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

// Harts on threads of their own (JitConfig::prompt_interrupts): a pin that another thread
// raises while translated code loops is taken within Jit::kPromptUnits, long before the end
// of the slice, whichever way the loop is chained (in S-mode under Sv39, as guests run): a
// region's back edge to itself, a chained exit to a block in another page and back, an
// indirect jump through the jump cache. Each iteration stores its count, and the other thread
// raises MSIP once the count shows that the loop runs chained; the M-mode handler waits in
// WFI with interrupts off, so run() returns as soon as the interrupt was taken. Without
// prompt interrupts the loop runs the whole budget (a second or more) first.
TEST(Jit, APinRaisedByAnotherThreadIsTakenLongBeforeTheSliceEnds) {
    constexpr uint64_t kRoot = kBase + 0x40000;
    constexpr uint64_t kPageA = kBase + 0x10000, kPageB = kBase + 0x11000, kData = kBase + 0x12000;
    constexpr uint64_t kBudget = 1ull << 32;
    const uint32_t store_count = enc_s(0, 5, 6, 3, 0x23);  // sd x5, 0(x6)
    const uint32_t csrw_mie_zero = enc_i(0x304, 0, 1, 0, 0x73);
    constexpr uint32_t kWfi = 0x10500073;
    struct Loop {
        const char* kind;
        std::vector<uint32_t> page_a, page_b;  // at VA 0 and 0x1000
    };
    const std::vector<Loop> loops = {
        {"back edge", {addi(5, 5, 1), store_count, enc_j(-8, 0)}, {}},
        {"chained exit across pages", {addi(5, 5, 1), store_count, enc_j(0x1000 - 8, 0)}, {enc_j(-0x1000, 0)}},
        {"indirect jump", {addi(5, 5, 1), store_count, enc_i(0, 7, 0, 0, 0x67)}, {}},  // jalr x0, 0(x7)
    };
    for (const Loop& loop : loops) {
        jit::JitConfig cfg = EngineRig::eager();
        cfg.prompt_interrupts = true;
        EngineRig r(Engine::Jit, cfg);
        r.map_page(kRoot, 0, kPageA);
        r.map_page(kRoot, 1, kPageB);
        r.map_page(kRoot, 2, kData);
        for (size_t i = 0; i < loop.page_a.size(); ++i) r.poke32(kPageA + 4 * i, loop.page_a[i]);
        for (size_t i = 0; i < loop.page_b.size(); ++i) r.poke32(kPageB + 4 * i, loop.page_b[i]);
        r.code(kBase + 0x100, {csrw_mie_zero, kWfi, kPark});
        r.hart.s.mtvec = kBase + 0x100;
        r.hart.s.mie = csr::MIP_MSIP;
        r.hart.s.x[6] = 0x2000;  // the count
        r.hart.s.x[7] = 0;       // the indirect jump's target
        r.enter_sv39(kRoot);     // M-mode interrupts are enabled in S-mode whatever mstatus.MIE
        std::thread raiser([&r] {
            std::atomic_ref<uint64_t> count(*reinterpret_cast<uint64_t*>(r.mem.span(Gpa(kData), 8).data()));
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (count.load(std::memory_order_relaxed) < 10'000 && std::chrono::steady_clock::now() < give_up)
                std::this_thread::yield();
            r.hart.set_irq_pin(csr::MIP_MSIP, true);
        });
        const jit::Jit::Exit exit = r.jit->run(r.hart, kBudget);
        raiser.join();
        EXPECT_EQ(exit, jit::Jit::Exit::Wfi) << loop.kind;
        EXPECT_EQ(r.hart.s.mcause, (1ull << 63) | 3) << loop.kind;
        const uint64_t count = r.peek64(kData);
        EXPECT_GE(count, 10'000u) << loop.kind;
        // The loop ran chained, not through the dispatcher (which looks at the pins anyway).
        EXPECT_LT(r.jit->dispatches(), count / 100) << loop.kind;
        EXPECT_LT(r.jit->retired(), kBudget / 4) << loop.kind;  // about count * 3 + kPromptUnits
        EXPECT_LT(r.hart.s.mepc, 0x1004u) << loop.kind;  // taken in the loop
    }
}

// Two address spaces (ASIDs 1 and 2) map VA 0x1000 to different code; VA 0 jumps there
// (a chained exit into another page). Switching satp without a flush must switch the code.
TEST(Jit, ChainedJumpAcrossPagesFollowsTheCurrentAddressSpace) {
    EngineRig r(Engine::Jit);
    const uint64_t root1 = kBase + 0x40000, root2 = kBase + 0x50000;
    for (uint64_t root : {root1, root2}) r.map_page(root, 0, kBase + 0x10000);  // page A: shared
    r.map_page(root1, 1, kBase + 0x11000);
    r.map_page(root2, 1, kBase + 0x12000);
    r.code(kBase + 0x10000, {enc_j(0x1000, 0)});              // VA 0: j 0x1000
    r.code(kBase + 0x11000, {addi(5, 0, 1), kPark});          // ASID 1's page B
    r.code(kBase + 0x12000, {addi(5, 0, 2), kPark});          // ASID 2's page B
    r.grant_all_memory();
    for (int round = 0; round < 3; ++round) {
        for (uint64_t asid : {1ull, 2ull}) {
            r.hart.s.priv = Priv::M;
            ASSERT_TRUE(r.hart.csr_write(csr::SATP, csr::SATP_MODE_SV39 << 60 | asid << csr::SATP_ASID_SHIFT |
                                                        (asid == 1 ? root1 : root2) >> 12));
            r.hart.s.priv = Priv::S;
            r.hart.update_mmu_view();
            r.hart.s.pc = 0;
            r.hart.s.x[5] = 0;
            r.run(3);
            EXPECT_EQ(r.hart.s.x[5], asid) << "round " << round;
            EXPECT_EQ(r.hart.s.pc, 0x1004u);
        }
    }
}

// VA 0 (page A): x6 += 1; j 0x1000. VA 0x1000 (page B, mapped to kB1 or kB2): x5 += 1 or
// += 2; j 0 (back to A). Both jumps cross pages, so their slots are followed under the
// hart's fetch key (ExitSlot).
struct TwoPageLoop {
    static constexpr uint64_t kRoot = kBase + 0x40000;
    static constexpr uint64_t kA = kBase + 0x10000, kB1 = kBase + 0x11000, kB2 = kBase + 0x12000;
    EngineRig& r;

    explicit TwoPageLoop(EngineRig& rig) : r(rig) {
        r.map_page(kRoot, 0, kA);
        map_b(kB1);
        r.code(kA, {addi(6, 6, 1), enc_j(0x1000 - 4, 0)});
        r.code(kB1, {addi(5, 5, 1), enc_j(-0x1004, 0)});
        r.code(kB2, {addi(5, 5, 2), enc_j(-0x1004, 0)});
        r.enter_sv39(kRoot);
    }
    void map_b(uint64_t pa) { r.map_page(kRoot, 1, pa); }
};

// A single-page sfence.vma changes the fetch key: a slot filled before it is followed again
// only if the fetch TLB still maps its target as when it was filled. Here the target page is
// remapped and flushed, so the jump into it must reach the new code.
TEST(Jit, JumpAcrossPagesReachesTheNewCodeAfterItsTargetIsRemapped) {
    EngineRig r(Engine::Jit);
    TwoPageLoop loop(r);
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.x[5], 10u);
    loop.map_b(TwoPageLoop::kB2);
    r.hart.flush_tlb_va(0x1000);
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.x[5], 10u + 2 * 10);
    EXPECT_EQ(r.hart.s.x[6], 20u);
}

// Before a block is translated it runs through the interpreter; from one such block to the
// next the dispatcher follows the blocks' links, as the interpreter does, instead of looking
// the pc up again. A store to the code retires the links (the new code runs).
TEST(Jit, InterpretedBlocksFollowTheirLinks) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.translate_after = 1000;  // everything below stays interpreted
    EngineRig r(Engine::Jit, cfg);
    // A: x5 += 1; j B.  B: x6 += 1; j A.
    r.code(kBase, {addi(5, 5, 1), enc_j(4, 0)});
    r.code(kBase + 8, {addi(6, 6, 1), enc_j(-12, 0)});
    r.run(2 * 100);
    EXPECT_EQ(r.hart.s.x[5], 50u);
    EXPECT_EQ(r.hart.s.x[6], 50u);
    EXPECT_LE(r.jit->lookups(), 3u);  // A, B, and A once more to link B -> A
    ASSERT_TRUE(r.hart.store<uint32_t>(kBase, addi(5, 5, 2)));
    r.run(2 * 100);
    EXPECT_EQ(r.hart.s.x[5], 150u);
    EXPECT_EQ(r.hart.s.x[6], 100u);
}

// An interpreted block whose successor has code by now enters that code through its link, as
// it would an interpreted successor, without looking the pc up: A and C stay interpreted
// (they run too seldom), B, a loop, is translated; per turn of the outer loop only B's exit
// to C looks a pc up.
TEST(Jit, InterpretedBlocksEnterTranslatedSuccessorsThroughTheirLinks) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.translate_after = 50;
    EngineRig r(Engine::Jit, cfg);
    // A: x5 = 100; j B.  B: x5 -= 1; bne x5, x0, B.  C: x6 += 1; j A.
    r.code(kBase, {addi(5, 0, 100), enc_j(4, 0)});
    r.code(kBase + 8, {addi(5, 5, -1), bne(5, 0, -4)});
    r.code(kBase + 16, {addi(6, 6, 1), enc_j(-20, 0)});
    constexpr uint64_t kTurn = 2 + 2 * 100 + 2;
    r.run(3 * kTurn);  // B runs 300 times: translated
    EXPECT_EQ(r.hart.s.x[6], 3u);
    const uint64_t before = r.jit->lookups();
    r.run(10 * kTurn);
    EXPECT_EQ(r.hart.s.x[6], 13u);
    EXPECT_EQ(r.hart.s.pc, kBase);
    EXPECT_LE(r.jit->lookups() - before, 10u + 1u);  // C once per turn, and the run's start
}

// A flush of another page changes the fetch key too, but the slots' targets still translate
// as they did: each slot takes the new key after one fetch-TLB probe, without a return to the
// dispatcher (one entry per run, as before the flush).
TEST(Jit, JumpAcrossPagesStaysChainedWhenAnotherPageIsFlushed) {
    EngineRig r(Engine::Jit);
    TwoPageLoop loop(r);
    r.run(4 * 10);
    const uint64_t before = r.jit->dispatches();
    r.run(4 * 10);
    EXPECT_EQ(r.jit->dispatches(), before + 1);  // chained: the run's own entry only
    r.hart.flush_tlb_va(0x5000);
    r.run(4 * 10);
    EXPECT_EQ(r.jit->dispatches(), before + 2);
    EXPECT_EQ(r.hart.s.x[5], 30u);
}

// A full flush leaves the fetch TLB empty: a stale slot's recheck fills the entry of its pc
// itself (Hart::refill_fetch) and follows the slot if the pc still translates as when it was
// filled, without a return to the dispatcher.
TEST(Jit, JumpAcrossPagesStaysChainedAfterAFullFlush) {
    EngineRig r(Engine::Jit);
    TwoPageLoop loop(r);
    r.run(4 * 10);
    const uint64_t before = r.jit->dispatches();
    r.hart.flush_tlb();
    r.run(4 * 10);
    EXPECT_EQ(r.jit->dispatches(), before + 1);  // the run's own entry only
    EXPECT_EQ(r.hart.s.x[5], 20u);
}

TEST(Jit, JumpAcrossPagesReachesTheNewCodeAfterAFullFlush) {
    EngineRig r(Engine::Jit);
    TwoPageLoop loop(r);
    r.run(4 * 10);
    loop.map_b(TwoPageLoop::kB2);
    r.hart.flush_tlb();
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.x[5], 10u + 2 * 10);
    EXPECT_EQ(r.hart.s.x[6], 20u);
}

// The recheck's refill takes no fault: the dispatcher raises it (instruction page fault).
TEST(Jit, JumpIntoAPageUnmappedBeforeAFullFlushFaults) {
    EngineRig r(Engine::Jit);
    TwoPageLoop loop(r);
    r.code(kBase + 0x800, {kPark});
    r.hart.s.mtvec = kBase + 0x800;
    r.run(4 * 10);
    r.poke64(TwoPageLoop::kRoot + 0x2000 + 8, 0);  // VA 0x1000's leaf: invalid
    r.hart.flush_tlb();
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.mcause, csr::EXC_INST_PAGE_FAULT);
    EXPECT_EQ(r.hart.s.mepc, 0x1000u);
    EXPECT_EQ(r.hart.s.x[6], 11u);
}

// sfence.vma ends its block but chains on (Emitter::emit_then_chain). Code at VA 0 remaps its
// own page (sd to the PTE, sfence.vma of VA 0) and falls through to VA 8, which must be
// fetched through the new mapping: two physical copies of the page differ there. The first
// run links the exit to copy 1's successor; the second must not follow that link.
TEST(Jit, SfenceVmaOfTheCurrentPageRefetchesTheNextInstruction) {
    for (Engine e : {Engine::Interp, Engine::Jit}) {
        EngineRig r(e);
        constexpr uint64_t kRoot = kBase + 0x40000, kL0 = kRoot + 0x2000;
        constexpr uint64_t kCopy1 = kBase + 0x10000, kCopy2 = kBase + 0x11000;
        r.map_page(kRoot, 1, kL0);  // VA 0x1000: the last-level table itself, to store to
        const uint32_t sd_t1_t0 = enc_s(0, 6, 5, 3, 0x23);
        const uint32_t sfence_t2 = 0x12000073 | 7u << 15;  // sfence.vma x7, x0
        r.code(kCopy1, {sd_t1_t0, sfence_t2, addi(10, 0, 1), kPark});
        r.code(kCopy2, {sd_t1_t0, sfence_t2, addi(10, 0, 2), kPark});
        r.enter_sv39(kRoot);
        for (uint64_t target : {kCopy1, kCopy2, kCopy1, kCopy2}) {
            r.map_page(kRoot, 0, kCopy1);  // VA 0 -> copy 1 when the run starts
            r.hart.flush_tlb();
            r.hart.s.x[5] = 0x1000;       // t0: VA 0's PTE
            r.hart.s.x[6] = EngineRig::leaf(target);
            r.hart.s.x[7] = 0;
            r.hart.s.x[10] = 0;
            r.hart.s.pc = 0;
            r.run(3);
            EXPECT_EQ(r.hart.s.x[10], target == kCopy1 ? 1u : 2u)
                << (e == Engine::Jit ? "jit" : "interp") << ", remapped to " << std::hex << target;
        }
    }
}

// A translation's exits to successors in its own page are linked when it is installed, to a
// successor that has code already: its first run goes through without a trip back to the
// dispatcher to fill the slot.
TEST(Jit, ANewTranslationsExitsInItsPageAreLinkedWhenInstalled) {
    EngineRig r(Engine::Jit);
    // A: x5 += 1; j B.  B: j B (the run spins there until its budget is used).
    r.code(kBase, {addi(5, 5, 1), enc_j(0x100 - 4, 0)});
    r.code(kBase + 0x100, {enc_j(0, 0)});
    r.hart.s.pc = kBase + 0x100;
    r.run(10);  // B has code now
    r.hart.s.pc = kBase;
    const uint64_t before = r.jit->dispatches();
    r.run(10);
    EXPECT_EQ(r.jit->dispatches(), before + 1);  // A translated and entered; on to B linked
    EXPECT_EQ(r.hart.s.x[5], 1u);
    EXPECT_EQ(r.hart.s.pc, kBase + 0x100);
}

// An exit taken while its successor had no code waits on the successor's block, and is
// linked when the successor's translation is installed, whichever path asked for it (here an
// exit from another block): the exit's next run does not come back to the dispatcher.
TEST(Jit, AnExitWaitingForItsSuccessorIsLinkedWhenTheSuccessorIsTranslated) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.translate_after = 2;
    EngineRig r(Engine::Jit, cfg);
    constexpr uint64_t kA1 = kBase, kA2 = kBase + 0x40, kB = kBase + 0x1000, kP = kBase + 0x1100;
    // A1: x5 += 1; beq x11, x0, B (the next page); j P.  A2: x6 += 1; j B.
    // B: x7 += 1; j P.  P: j P.
    r.code(kA1, {addi(5, 5, 1), enc_b(static_cast<int32_t>(kB - kA1 - 4), 0, 11, 0),
                 enc_j(static_cast<int32_t>(kP - kA1 - 8), 0)});
    r.code(kA2, {addi(6, 6, 1), enc_j(static_cast<int32_t>(kB - kA2 - 4), 0)});
    r.code(kB, {addi(7, 7, 1), enc_j(static_cast<int32_t>(kP - kB - 4), 0)});
    r.code(kP, {enc_j(0, 0)});
    auto run_from = [&r](uint64_t pc) {
        r.hart.s.pc = pc;
        r.run(20);
    };
    r.hart.s.x[11] = 1;
    run_from(kA1);
    run_from(kA1);  // A1 has run twice, without going to B
    r.hart.s.x[11] = 0;
    run_from(kA1);  // A1 translated: its exit to B (interpreted, once) waits for B's code
    run_from(kA2);
    run_from(kA2);  // B translated on its way from A2
    ASSERT_EQ(r.hart.s.x[7], 3u);
    const uint64_t before = r.jit->dispatches();
    run_from(kA1);
    EXPECT_EQ(r.jit->dispatches(), before + 1);  // A1 -> B -> P, linked all the way
    EXPECT_EQ(r.hart.s.x[5], 4u);
    EXPECT_EQ(r.hart.s.x[6], 2u);
    EXPECT_EQ(r.hart.s.x[7], 4u);
}

// fence.i ends its block but chains on (Emitter::emit_then_chain): a loop through one runs
// without returning to the dispatcher once its exits are linked. (The kernel fences after each
// of the ~40 K instructions ftrace patches while it boots.)
TEST(Jit, FenceIChainsToTheNextBlock) {
    constexpr uint32_t kFenceI = 0x0000100f;
    EngineRig r(Engine::Jit);
    // loop: addi x5, x5, 1; fence.i; addi x6, x6, 1; j loop
    r.code(kBase, {addi(5, 5, 1), kFenceI, addi(6, 6, 1), enc_j(-12, 0)});
    r.run(4 * 10);
    const uint64_t before = r.jit->dispatches();
    r.run(4 * 10);
    EXPECT_EQ(r.jit->dispatches(), before + 1);  // the run's own entry only
    EXPECT_EQ(r.hart.s.x[5], 20u);
    EXPECT_EQ(r.hart.s.x[6], 20u);
}

// Code that patches the instruction after its fence.i runs the new instruction at once, every
// time: the store dropped the block the fence chains to, unlinking the fence's exit from it.
// The fence ends its page, so its own block is not dropped and keeps the (cross-page) exit;
// the patch alternates between two instructions, so a stale link would show in x5. The
// interpreter runs the same program for comparison.
TEST(Jit, FenceIChainsToTheCodeAStoreBeforeItWrote) {
    constexpr uint32_t kFenceI = 0x0000100f;
    constexpr uint64_t kLoop = kBase + 0xff4, kNext = kBase + 0x1000;
    auto program = [](EngineRig& r) {
        // loop:  xor x7, x7, x9   (x7: the patch, alternately `one` and `hundred`)
        //        sw x7, 4(x8)     (x8: kNext)
        //        fence.i          (the page's last instruction)
        // kNext: addi x6, x6, 1
        //        addi x5, x5, 1   (patched: `one` or `hundred`)
        //        j loop
        const uint32_t one = addi(5, 5, 1), hundred = addi(5, 5, 100);
        r.hart.s.x[7] = hundred;
        r.hart.s.x[8] = kNext;
        r.hart.s.x[9] = one ^ hundred;
        r.code(kLoop, {enc_r(0, 9, 7, 4, 7, 0x33), enc_s(4, 7, 8, 2, 0x23), kFenceI});
        r.code(kNext, {addi(6, 6, 1), one, enc_j(static_cast<int32_t>(kLoop - (kNext + 8)), 0)});
        r.hart.s.pc = kLoop;
    };
    for (uint64_t budget : {7u, 70u, 700u}) {
        expect_engines_agree(program, budget, fmt::format("budget {}", budget), [budget](EngineRig& r) {
            // Runs end at block ends: a turn's count and its patched instruction are in one block.
            const uint64_t turns = r.hart.s.x[6];
            EXPECT_GE(turns, budget / 6) << "budget " << budget;
            EXPECT_EQ(r.hart.s.x[5], (turns + 1) / 2 * 1 + turns / 2 * 100) << "budget " << budget;
        });
    }
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

TEST(Jit, StoreToAChainedSuccessorUnlinksItsPredecessors) {
    EngineRig r(Engine::Jit);
    // A (page 0): x6 += 1; j B.  B (page 1): x5 += 1; jalr x0, 0(x12) back to A, through the
    // jump cache. After a few turns both exits are chained.
    constexpr uint64_t kB = kBase + 0x1000;
    r.code(kBase, {addi(6, 6, 1), enc_j(0x1000 - 4, 0)});
    r.code(kB, {addi(5, 5, 1), enc_i(0, 12, 0, 0, 0x67)});
    r.hart.s.x[12] = kBase;
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.x[5], 10u);
    ASSERT_TRUE(r.hart.store<uint32_t>(kB, addi(5, 5, 100)));
    ASSERT_TRUE(r.hart.store<uint32_t>(kBase, addi(6, 6, 100)));
    r.run(4 * 10);
    EXPECT_EQ(r.hart.s.x[5], 10u + 100 * 10);
    EXPECT_EQ(r.hart.s.x[6], 10u + 100 * 10);
}

// The loops below walk 64 doublewords from x10 up to x11.
void loop_data(EngineRig& r) {
    constexpr uint64_t kData = kBase + 0x8000;
    for (unsigned i = 0; i < 64; ++i) r.poke64(kData + 8 * i, 3 * i + 1);
    r.hart.s.x[10] = kData;
    r.hart.s.x[11] = kData + 8 * 64;
}

// A one-block loop keeps its registers in host registers across iterations (a region of one,
// see Emitter::emit_region): with more written registers than the cache holds, loads that
// miss the TLB (slow path, a helper call) and a store, it must end exactly as the
// interpreter, and stop at the same place when the budget runs out mid-loop.
TEST(Jit, OneBlockLoopMatchesTheInterpreter) {
    auto program = [](EngineRig& r) {
        loop_data(r);
        // loop: ld x5, 0(x10); add x6, x6, x5; xor x7, x7, x6; addi x28, x28, 1;
        //       slli x29, x5, 1; sd x29, 0(x10); addi x30, x30, 2; xor x31, x31, x5;
        //       mul x9, x5, x6; addi x10, x10, 8; bltu x10, x11, loop
        // (eight registers written: more than RegCache holds)
        r.code(kBase, {enc_i(0, 10, 3, 5, 0x03), enc_r(0, 5, 6, 0, 6, 0x33), enc_r(0, 6, 7, 4, 7, 0x33),
                       addi(28, 28, 1), enc_i(1, 5, 1, 29, 0x13), enc_s(0, 29, 10, 3, 0x23), addi(30, 30, 2),
                       enc_r(0, 5, 31, 4, 31, 0x33), enc_r(1, 6, 5, 0, 9, 0x33), addi(10, 10, 8),
                       enc_b(-40, 11, 10, 6), kPark});
    };
    for (uint64_t budget : {5u, 77u, 100000u}) expect_engines_agree(program, budget, fmt::format("budget {}", budget));
}

// Eleven registers in a one-block loop: more than the cache's eight (rdi is one: no access
// group needs it), so destinations evict registers an instruction still reads: subtractions
// whose subtrahend was just evicted from the destination's host register, in 64 and 32 bits,
// a multiply, a misaligned load (slow path: a helper call) and a CSR read (the interpreter's
// semantics) in between.
TEST(Jit, LoopOfMoreRegistersThanTheCacheMatchesTheInterpreter) {
    auto program = [](EngineRig& r) {
        loop_data(r);
        for (unsigned x = 12; x <= 20; ++x) r.hart.s.x[x] = 0x1111 * x;
        r.code(kBase, {
                          enc_i(0, 10, 3, 5, 0x03),            // loop: ld x5, 0(x10)
                          enc_r(0x20, 5, 12, 0, 13, 0x33),     //       sub x13, x12, x5
                          enc_r(0x20, 13, 14, 0, 15, 0x33),    //       sub x15, x14, x13
                          enc_r(0x20, 15, 16, 0, 17, 0x3b),    //       subw x17, x16, x15
                          enc_r(0x00, 17, 18, 0, 19, 0x3b),    //       addw x19, x18, x17
                          enc_r(1, 19, 20, 0, 12, 0x33),       //       mul x12, x20, x19
                          enc_i(3, 10, 3, 14, 0x03),           //       ld x14, 3(x10): misaligned
                          enc_r(0x20, 14, 16, 0, 16, 0x33),    //       sub x16, x16, x14
                          enc_i(csr::MSCRATCH, 0, 2, 18, 0x73),  //     csrr x18, mscratch
                          enc_r(0x20, 12, 20, 0, 20, 0x33),    //       sub x20, x20, x12
                          addi(10, 10, 8),                     //       addi x10, x10, 8
                          enc_b(-44, 11, 10, 6),               //       bltu x10, x11, loop
                          kPark,
                      });
        r.hart.s.mscratch = 0x5a5a;
    };
    for (uint64_t budget : {7u, 100000u}) expect_engines_agree(program, budget, fmt::format("budget {}", budget));
}

// Zero and sign extensions of words, emitted as single moves (Emitter::emit_zext_w, sext.w in
// emit_word): `slli rd, rs, 32; srli rd, rd, 32` with rd = rs, rd != rs, rs = x0, rd = x0,
// rs cached or not, next to pairs that must not fuse (another shift amount, another register),
// and `addiw rd, rs, 0`; in a loop over more registers than the cache holds.
TEST(Jit, WordExtensionsMatchTheInterpreter) {
    auto slli = [](uint32_t rd, uint32_t rs, uint32_t sh) { return enc_i(static_cast<int32_t>(sh), rs, 1, rd, 0x13); };
    auto srli = [](uint32_t rd, uint32_t rs, uint32_t sh) { return enc_i(static_cast<int32_t>(sh), rs, 5, rd, 0x13); };
    auto sext_w = [](uint32_t rd, uint32_t rs) { return enc_i(0, rs, 0, rd, 0x1b); };
    auto program = [&](EngineRig& r) {
        for (unsigned x = 5; x <= 20; ++x) r.hart.s.x[x] = 0x8badf00d'f0000000ull * x + 0x87654321u * x;
        r.hart.s.x[21] = 0;
        r.code(kBase, {
                          slli(5, 5, 32), srli(5, 5, 32),     // loop: zext.w x5, x5
                          slli(6, 7, 32), srli(6, 6, 32),     //       zext.w x6, x7
                          slli(8, 0, 32), srli(8, 8, 32),     //       zext.w x8, x0
                          slli(0, 9, 32), srli(0, 0, 32),     //       (to x0)
                          slli(10, 11, 32), srli(10, 10, 31), //       not a zext
                          slli(12, 13, 32), srli(14, 12, 32), //       nor this
                          sext_w(15, 16), sext_w(17, 17),     //       sext.w
                          sext_w(18, 0),
                          enc_r(0, 5, 7, 0, 7, 0x33),         //       add x7, x7, x5
                          enc_r(0, 6, 9, 0, 9, 0x33),         //       add x9, x9, x6
                          enc_r(0, 15, 11, 0, 11, 0x33),      //       add x11, x11, x15
                          enc_r(0, 17, 16, 0, 16, 0x33),      //       add x16, x16, x17
                          addi(19, 19, 13), slli(20, 19, 32), srli(20, 20, 32),
                          addi(21, 21, 1), enc_i(200, 0, 0, 22, 0x13),  // addi x21 += 1; li x22, 200
                          bne(21, 22, -4 * 24),
                          kPark,
                      });
    };
    for (uint64_t budget : {3u, 8u, 17u, 100000u}) expect_engines_agree(program, budget, fmt::format("budget {}", budget));
    expect_engines_agree(program, 100000, "the loop ran", [](EngineRig& r) { EXPECT_EQ(r.hart.s.x[21], 200u); });
}

// A loop of four blocks in one page (an odd and an even arm, then the loop test) over
// loop_data: ten registers (more than the cache holds), a load that misses the TLB, a store.
void four_block_loop(EngineRig& r) {
    loop_data(r);
    r.code(kBase, {
                      enc_i(0, 10, 3, 5, 0x03),         // loop: ld x5, 0(x10)
                      enc_i(1, 5, 7, 6, 0x13),          //       andi x6, x5, 1
                      enc_b(24, 0, 6, 0),               //       beq x6, x0, even
                      enc_r(0, 5, 7, 0, 7, 0x33),       //       add x7, x7, x5
                      enc_r(1, 7, 5, 0, 9, 0x33),       //       mul x9, x5, x7
                      enc_r(0, 9, 31, 4, 31, 0x33),     //       xor x31, x31, x9
                      enc_j(16, 0),                     //       j next
                      enc_r(0x20, 5, 28, 0, 28, 0x33),  // even: sub x28, x28, x5
                      enc_i(2, 5, 1, 29, 0x13),         //       slli x29, x5, 2
                      enc_s(0, 29, 10, 3, 0x23),        //       sd x29, 0(x10)
                      addi(30, 30, 3),                  // next: addi x30, x30, 3
                      addi(10, 10, 8),                  //       addi x10, x10, 8
                      enc_b(-48, 11, 10, 6),            //       bltu x10, x11, loop
                      kPark,
                  });
}

// The loop above becomes one region (Jit::region) once its blocks have run, and ends as under
// the interpreter with budgets that run out in every block.
TEST(Jit, LoopOfSeveralBlocksMatchesTheInterpreter) {
    jit::JitConfig cfg;
    cfg.translate_after = 2;  // the arms run (and are decoded) before the loop head is translated
    for (uint64_t budget : {5u, 9u, 13u, 77u, 100000u}) {
        expect_engines_agree(four_block_loop, budget, fmt::format("budget {}", budget), {}, cfg);
    }
    expect_engines_agree(
        four_block_loop, 100000, "regions", [](EngineRig& r) { EXPECT_GE(r.jit->stats().regions, 1u); }, cfg);
}

// Slices of 5 instructions leave the loop above at each of its blocks in turn, and the next
// slice enters it there: through the head's region (its entry at that block, Emitter::entries),
// not through a region of its own per block, with the state equal to the interpreter's after
// every slice. In line, and with the Translator, whose regions headed by those blocks, asked
// for before the head's was installed, are then left out.
void expect_loop_entered_at_every_block_runs_one_region(bool background) {
    jit::JitConfig cfg;
    cfg.translate_after = 2;  // both arms run before the head is translated
    cfg.background = background;
    expect_engines_agree_by_slices(four_block_loop, 5, 60, [](EngineRig& b) {
        EXPECT_EQ(b.jit->stats().regions, 1u);
        EXPECT_GE(b.jit->side_entries(), 1u);
        EXPECT_GT(b.jit->dispatches(), 20u);
    }, cfg);
}

TEST(Jit, LoopEnteredAtEveryBlockRunsOneRegion) { expect_loop_entered_at_every_block_runs_one_region(false); }
TEST(Jit, LoopEnteredAtEveryBlockRunsOneRegionWithTheTranslator) {
    expect_loop_entered_at_every_block_runs_one_region(true);
}

// A scan loop shaped as a compiler lays out `for (...) { if (a[i]) continue; ... }` (the
// sieve's in bench/cpu): entered by a jump at its load, whose branch goes back to the increment
// at a lower address. In the region headed by the load the increment is laid out next, so the
// back edge runs into it and the loop's exit (a zero byte) goes out of line: budgets that end
// in every block, and slices that re-enter it anywhere, end as the interpreter does.
TEST(Jit, BackEdgeToTheBlockLaidOutNextMatchesTheInterpreter) {
    auto program = [](EngineRig& r) {
        constexpr uint64_t kData = kBase + 0x8000;
        for (unsigned w = 0; w < 8; ++w) {  // bytes of 1, and of 0 where i % 7 == 3
            uint64_t v = 0;
            for (unsigned k = 0; k < 8; ++k) v |= uint64_t{(8 * w + k) % 7 != 3} << (8 * k);
            r.poke64(kData + 8 * w, v);
        }
        r.hart.s.x[10] = kData;
        r.hart.s.x[11] = kData + 64;
        r.code(kBase, {
                          enc_j(12, 0),                // j scan
                          addi(10, 10, 1),             // next: addi x10, x10, 1
                          enc_b(20, 11, 10, 0),        //       beq x10, x11, done
                          enc_i(0, 10, 4, 5, 0x03),    // scan: lbu x5, 0(x10)
                          bne(5, 0, -12),              //       bne x5, x0, next
                          addi(7, 7, 1),               //       addi x7, x7, 1
                          enc_j(-20, 0),               //       j next
                          kPark,                       // done:
                      });
    };
    jit::JitConfig cfg;
    cfg.translate_after = 2;
    for (uint64_t budget : {4u, 5u, 6u, 41u, 100000u}) {
        expect_engines_agree(program, budget, fmt::format("budget {}", budget), {}, cfg);
    }
    expect_engines_agree(program, 100000, "count", [](EngineRig& b) {
        EXPECT_EQ(b.hart.s.x[7], 9u);  // the zero bytes
        EXPECT_EQ(b.hart.s.pc, kBase + 28);
        EXPECT_GE(b.jit->stats().regions, 1u);
    }, cfg);
    expect_engines_agree_by_slices(program, 3, 80, {}, cfg);
}

// A device that raises the hart's machine software interrupt when the value 100 is written
// to it: an interrupt that becomes pending while translated code runs.
struct Doorbell : MmioDevice {
    Hart* hart = nullptr;
    uint64_t mmio_read(uint64_t, unsigned) override { return 0; }
    void mmio_write(uint64_t, uint64_t value, unsigned) override {
        if (value == 100) hart->set_irq_pin(csr::MIP_MSIP, true);
    }
};

// The doorbell at kDoorbell (x8 points at it), machine software interrupts enabled, and their
// handler parked at kBase + 0x100.
constexpr uint64_t kDoorbell = 0x10000000;
void wire_doorbell(EngineRig& r, Doorbell& bell) {
    bell.hart = &r.hart;
    ASSERT_TRUE(r.bus.map(Gpa(kDoorbell), 0x1000, bell, "doorbell").ok());
    r.hart.s.x[8] = kDoorbell;
    r.code(kBase + 0x100, {kPark});
    r.hart.s.mtvec = kBase + 0x100;
    r.hart.s.mie = csr::MIP_MSIP;
    r.hart.s.mstatus |= csr::MSTATUS_MIE;
}

// The doorbell loops below count x5 up to 100 (which rings it) and x6 once per iteration
// after the ring: the interrupt was taken at mepc, in the iteration that rang.
void expect_rung_interrupt_at(const EngineRig& r, uint64_t mepc) {
    EXPECT_EQ(r.hart.s.pc, kBase + 0x100);
    EXPECT_EQ(r.hart.s.mcause, (1ull << 63) | 3);
    EXPECT_EQ(r.hart.s.mepc, mepc);
    EXPECT_EQ(r.hart.s.x[5], 100u);
    EXPECT_EQ(r.hart.s.x[6], 99u);
}

// A pin raised by a store in a two-block loop (a device access through the store's slow
// path) is taken right after that store, not at a later block boundary nor when the budget
// runs out: translated code checks for pending interrupts only after helper calls.
TEST(Jit, TakesAnInterruptRaisedInsideALoopOfSeveralBlocks) {
    jit::JitConfig cfg;
    cfg.translate_after = 2;
    EngineRig r(Engine::Jit, cfg);
    Doorbell bell;
    wire_doorbell(r, bell);
    // loop: x5 += 1; sw x5, 0(x8); j b.  b: x6 += 1; j loop
    r.code(kBase, {addi(5, 5, 1), enc_s(0, 5, 8, 2, 0x23), enc_j(4, 0), addi(6, 6, 1), enc_j(-16, 0)});
    r.run(1000);
    EXPECT_EQ(r.jit->stats().regions, 1u);
    expect_rung_interrupt_at(r, kBase + 8);  // the j after the store
}

// The same from an FP store (native code, emit_fp.cpp, whose device access goes through the
// store's slow path): the interrupt is taken right after it, and the value it stored is the
// one fmv.w.x moved into f1.
TEST(Jit, TakesAnInterruptRaisedByAnFpStore) {
    jit::JitConfig cfg;
    cfg.translate_after = 2;
    EngineRig r(Engine::Jit, cfg);
    Doorbell bell;
    wire_doorbell(r, bell);
    r.hart.s.mstatus |= csr::MSTATUS_FS;
    const uint32_t fmv_w_x_f1_x5 = enc_r(0x78, 0, 5, 0, 1, 0x53);
    const uint32_t fsw_f1_0_x8 = enc_s(0, 1, 8, 2, 0x27);
    // loop: x5 += 1; fmv.w.x f1, x5; fsw f1, 0(x8); x6 += 1; j loop
    r.code(kBase, {addi(5, 5, 1), fmv_w_x_f1_x5, fsw_f1_0_x8, addi(6, 6, 1), enc_j(-16, 0)});
    r.run(1000);
    EXPECT_EQ(r.jit->stats().fallbacks, 0u);
    EXPECT_EQ(r.hart.s.f[1], 0xffffffff00000000ull | 100);
    expect_rung_interrupt_at(r, kBase + 12);  // the addi after the store
}

TEST(Jit, TranslatesABlockOnlyAfterItRanInterpretedEnoughTimes) {
    jit::JitConfig cfg;
    cfg.translate_after = 3;
    EngineRig r(Engine::Jit, cfg);
    r.code(kBase, {addi(5, 5, 1), enc_j(-4, 0)});  // loop: x5 += 1; j loop
    r.run(3 * 2);
    EXPECT_EQ(r.jit->stats().blocks, 0u);
    EXPECT_EQ(r.hart.s.x[5], 3u);
    EXPECT_EQ(r.hart.s.minstret, 6u);
    r.run(2 * 100);
    EXPECT_EQ(r.jit->stats().blocks, 1u);
    EXPECT_EQ(r.hart.s.x[5], 103u);
    EXPECT_EQ(r.hart.s.minstret, 206u);
    EXPECT_EQ(r.jit->retired(), 206u);
}

// LR/SC and AMOs run natively on the TLB hit path and through the interpreter's semantics
// otherwise (misaligned: a trap): both engines must agree on every result and trap.
TEST(Jit, AtomicsMatchTheInterpreter) {
    constexpr uint32_t kAmo = 0x2f;
    auto amo = [](uint32_t f5, uint32_t f3, uint32_t rd, uint32_t rs1, uint32_t rs2) {
        return enc_r(f5 << 2, rs2, rs1, f3, rd, kAmo);
    };
    constexpr uint64_t kData = kBase + 0x8000;
    for (uint64_t base : {kData, kData + 0xff9, kData + 0xffc}) {
        auto program = [&](EngineRig& r) {
            r.poke64(kData, 0x1111'2222'8000'0005);
            r.poke64(kData + 0xff8, 0x0123'4567'89ab'cdef);
            r.hart.s.x[10] = base;
            r.hart.s.x[11] = 0xffff'ffff'0000'0003;
            r.hart.s.mtvec = kBase + 0x400;
            r.code(kBase + 0x400, {kPark});
            // lr.d x5; sc.d x6 (succeeds); sc.d x7 (fails); amoadd.w x8; amoor.d x9; amoswap.w x12;
            // lr.w x13; amoxor.d x14; sc.w x15 (fails: the AMO between makes the sequence
            // unconstrained, so the LR reserved nothing); amoand.w x16
            r.code(kBase, {amo(2, 3, 5, 10, 0), amo(3, 3, 6, 10, 11), amo(3, 3, 7, 10, 11), amo(0, 2, 8, 10, 11),
                           amo(8, 3, 9, 10, 11), amo(1, 2, 12, 10, 11), amo(2, 2, 13, 10, 0), amo(4, 3, 14, 10, 11),
                           amo(3, 2, 15, 10, 11), amo(12, 2, 16, 10, 11), kPark});
        };
        expect_engines_agree(program, 40, fmt::format("base {:#x}", base));
    }
}

// The inline TLB probe folds the alignment test into the tag compare (address low bits XOR
// tag id). An entry left from before a flush, under an older tag id, must not match a
// misaligned access either: here a misaligned AMO must still trap.
TEST(Jit, MisalignedAccessAfterAFlushMissesEntriesOfOlderTagIds) {
    EngineRig r(Engine::Jit);
    constexpr uint64_t kData = kBase + 0x8000;
    r.hart.s.x[10] = kData;
    r.hart.s.mtvec = kBase + 0x400;
    r.code(kBase + 0x400, {kPark});
    r.code(kBase, {enc_s(0, 0, 10, 3, 0x23), kPark});         // sd x0, 0(x10): a write entry
    r.code(kBase + 0x100, {0x12000073, kPark});               // sfence.vma: a new tag id
    r.code(kBase + 0x200, {enc_r(0, 6, 11, 3, 5, 0x2f), kPark});  // amoadd.d x5, x6, (x11)
    r.run(2);
    for (unsigned flushes = 1; flushes <= 16; ++flushes) {
        r.hart.s.pc = kBase + 0x100;
        r.run(2);
        for (uint64_t m = 1; m < 8; ++m) {
            r.hart.s.x[11] = kData + m;
            r.hart.s.pc = kBase + 0x200;
            r.hart.s.mcause = 0;
            r.run(1);
            EXPECT_EQ(r.hart.s.mcause, csr::EXC_STORE_MISALIGNED) << flushes << " flushes, offset " << m;
        }
    }
}

// cbo.zero: the 64-byte block holding rs1 is zeroed natively (M mode, TLB hit); in S mode
// without menvcfg.CBZE it is illegal even with a write entry, as in the interpreter.
TEST(Jit, CboZeroMatchesTheInterpreter) {
    constexpr uint64_t kData = kBase + 0x8000;
    constexpr uint32_t kCboZero = 0x0040200f;  // cbo.zero (x0); rs1 goes in bits 15..19
    for (const bool s_mode : {false, true}) {
        auto program = [&](EngineRig& r) {
            for (unsigned i = 0; i < 32; ++i) r.poke64(kData + 8 * i, 0x0101'0101'0101'0101 * (i + 1));
            r.hart.s.x[10] = kData + 64 + 13;  // inside the second block
            r.hart.s.x[11] = kData + 0x800;
            r.hart.s.mtvec = kBase + 0x400;
            r.code(kBase + 0x400, {kPark});
            // sd x0, 0(x11) first, so the TLB holds a write entry for the page and cbo.zero
            // takes the native path (or, in S mode, must still be refused).
            r.code(kBase, {enc_s(0, 0, 11, 3, 0x23), kCboZero | (10u << 15), kPark});
            r.grant_all_memory();
            if (s_mode) r.set_priv(Priv::S);
        };
        expect_engines_agree(program, 3, s_mode ? "S" : "M", [&](EngineRig& r) {
            EXPECT_EQ(r.hart.s.mcause, s_mode ? uint64_t{csr::EXC_ILLEGAL_INST} : 0u);
            EXPECT_EQ(r.peek64(kData + 64), s_mode ? 0x0909'0909'0909'0909u : 0u);
            EXPECT_EQ(r.peek64(kData + 120), s_mode ? 0x1010'1010'1010'1010u : 0u);
            EXPECT_EQ(r.peek64(kData + 128), 0x1111'1111'1111'1111u);
        });
    }
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

// 16384 two-instruction blocks: x5 += 1; j next (each jal ends a block), several times what
// the smallest allowed buffer (a few hundred blocks) holds: every pass runs exactly, across
// flushes. With `background`, translations are queued and finished on the other thread when
// the flushes come; that thread copies its translations into the buffer itself until only the
// room a hart's own translation needs is left, and the ones made then travel in their jobs for
// a hart to copy (so the passes install both kinds).
void expect_passes_across_flushes(bool background, unsigned passes) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.code_bytes = 512 * 1024;
    cfg.background = background;
    EngineRig r(Engine::Jit, cfg);
    constexpr unsigned kBlocks = 16384;
    for (unsigned i = 0; i < kBlocks; ++i) r.code(kBase + 8 * i, {addi(5, 5, 1), enc_j(4, 0)});
    r.code(kBase + 8 * kBlocks, {kPark});
    for (unsigned pass = 0; pass < passes; ++pass) {
        r.hart.s.pc = kBase;
        r.hart.s.x[5] = 0;
        r.run(2 * kBlocks);
        EXPECT_EQ(r.hart.s.x[5], kBlocks);
        EXPECT_EQ(r.hart.s.pc, kBase + 8 * kBlocks);
        r.jit->wait_for_translations();
    }
    EXPECT_GT(r.jit->flushes(), 0u);
    if (background) {
        EXPECT_GT(r.jit->placed(), 0u);
        EXPECT_GT(r.jit->stats().blocks, r.jit->placed() + r.jit->stolen());  // some came in their jobs
    }
}

TEST(Jit, RefillsTheCodeBufferWhenItIsFull) { expect_passes_across_flushes(false, 3); }

// With the Translator (JitConfig::background) a block runs interpreted until its region's code,
// made on the other thread, is installed: a loop of several blocks ends exactly as under the
// interpreter, slice by slice, and runs translated once the translations are made.
// A loop of two blocks (at kBase and kBase + 12), 5 instructions an iteration, `iterations`
// times, then the park loop.
void two_block_loop(EngineRig& r, uint64_t iterations) {
    r.hart.s.x[28] = iterations;
    r.code(kBase, {
                      addi(5, 5, 3),                // loop: addi x5, x5, 3
                      bne(5, 0, 8),                 //       bne x5, x0, +8 (always)
                      addi(6, 6, 100),              //       (skipped)
                      enc_r(0, 5, 7, 0, 7, 0x33),  //       add x7, x7, x5
                      addi(28, 28, -1),             //       addi x28, x28, -1
                      bne(28, 0, -20),              //       bne x28, x0, loop
                      kPark,
                  });
}

TEST(Jit, BackgroundTranslationMatchesTheInterpreter) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    auto program = [](EngineRig& r) { two_block_loop(r, 500); };
    expect_engines_agree_by_slices(program, 37, 80, [](EngineRig& b) {
        EXPECT_EQ(b.hart.s.x[28], 0u);
        EXPECT_GE(b.jit->stats().regions, 1u);
        EXPECT_GT(b.jit->dispatches(), 0u);
    }, cfg);
}

// A block whose translation waits in the queue of a Translator that gets no CPU (held here, as
// when the harts keep every core busy) is taken back after JitConfig::steal_after runs and
// translated on the hart thread: the loop runs native from then on, ending every slice exactly as
// the interpreter does; once the Translator runs again, nothing else is installed.
TEST(Jit, AQueuedHotBlockIsTranslatedByTheHart) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    cfg.translate_after = 2;
    cfg.steal_after = 50;
    EngineRig a(Engine::Interp), b(Engine::Jit, cfg);
    b.jit->hold_translator(true);
    two_block_loop(a, 2000);
    two_block_loop(b, 2000);
    for (unsigned slice = 0; slice < 120; ++slice) {  // 2000 iterations of 5 instructions
        a.run(97);
        b.run(97);
        ASSERT_EQ(diff_state(a.hart.s, b.hart.s), "") << "after slice " << slice;
    }
    EXPECT_EQ(b.hart.s.x[28], 0u);
    // One region covers the loop's two blocks (kBase and kBase + 12; the other enters it), one
    // the park loop the hart reaches at the end.
    EXPECT_EQ(b.jit->stolen(), 2u);
    EXPECT_GT(b.jit->dispatches(), 0u);
    const uint64_t made = b.jit->stats().blocks;
    EXPECT_EQ(made, 2u);
    b.jit->hold_translator(false);
    b.jit->wait_for_translations();
    b.hart.s.pc = kBase + 24;
    b.run(1);
    EXPECT_EQ(b.jit->stats().blocks, made);
}

// A hot block's job taken back from the middle of the queue (Translator::withdraw leaves its
// place empty) is neither started nor installed by the thread, and the jobs queued before and
// after it still are, each once. Six blocks (addi, then a park of their own) each queue a job
// at their first run while the thread is held; the third runs until steal_after.
TEST(Jit, AJobTakenBackFromTheMiddleOfTheQueueLeavesTheOthersQueued) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    cfg.steal_after = 3;
    EngineRig r(Engine::Jit, cfg);
    constexpr uint64_t kJobs = 6;
    for (uint64_t i = 0; i < kJobs; ++i) r.code(kBase + 8 * i, {addi(5, 5, 1), kPark});
    r.jit->hold_translator(true);
    auto run_block = [&r](uint64_t i) {
        r.hart.s.pc = kBase + 8 * i;
        r.run(2);
        EXPECT_EQ(r.hart.s.pc, kBase + 8 * i + 4);
    };
    for (uint64_t i = 0; i < kJobs; ++i) run_block(i);
    for (int run = 0; run < 3; ++run) run_block(2);
    EXPECT_EQ(r.jit->stolen(), 1u);
    EXPECT_EQ(r.jit->stats().blocks, 1u);
    r.jit->hold_translator(false);
    r.jit->wait_for_translations();
    for (uint64_t i = 0; i < kJobs; ++i) run_block(i);  // installs the finished jobs
    EXPECT_EQ(r.hart.s.x[5], 2 * kJobs + 3);
    EXPECT_EQ(r.jit->translator_waits().started, kJobs - 1);
    EXPECT_EQ(r.jit->stats().blocks, kJobs);
    EXPECT_EQ(r.jit->stolen(), 1u);
}

// The Translator counts how long its jobs waited to be started: here one job, queued while the
// thread was held (as when the harts keep every core busy) for longer than a long wait.
TEST(Jit, TranslatorCountsHowLongItsJobsWaited) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    EngineRig r(Engine::Jit, cfg);
    EXPECT_EQ(r.jit->translator_waits().started, 0u);
    r.jit->hold_translator(true);
    r.code(kBase, {addi(5, 0, 1), kPark});
    r.run(1);  // interpreted; its translation is asked for
    const auto held = jit::Translator::kLongWait + std::chrono::milliseconds(20);
    std::this_thread::sleep_for(held);
    r.jit->hold_translator(false);
    r.jit->wait_for_translations();
    const jit::Translator::Waits w = r.jit->translator_waits();
    EXPECT_EQ(w.started, 1u);
    EXPECT_EQ(w.long_ones, 1u);
    EXPECT_GE(w.total_ns, static_cast<uint64_t>(std::chrono::nanoseconds(held).count()));
    EXPECT_NE(r.jit->summary().find("its jobs waited"), std::string::npos) << r.jit->summary();
}

// A region made on the other thread is not installed if one of its blocks was dropped while it
// was made (here the guest's store rewrote it): the new code runs, through the interpreter
// until its own translation is made.
TEST(Jit, BackgroundTranslationOfRewrittenCodeIsDropped) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    EngineRig r(Engine::Jit, cfg);
    r.code(kBase, {addi(5, 0, 1), kPark});
    r.run(1);  // interpreted; its translation is asked for
    EXPECT_EQ(r.hart.s.x[5], 1u);
    r.jit->wait_for_translations();
    ASSERT_TRUE(r.hart.store<uint32_t>(kBase, addi(5, 0, 2)));
    r.hart.s.pc = kBase;
    r.run(1);
    EXPECT_EQ(r.hart.s.x[5], 2u);
    EXPECT_EQ(r.jit->stats().blocks, 0u);  // the stale translation was not installed
    r.jit->wait_for_translations();
    r.hart.s.pc = kBase;
    r.run(1);  // the rewritten block's translation, installed now
    EXPECT_EQ(r.hart.s.x[5], 2u);
    EXPECT_EQ(r.jit->stats().blocks, 1u);
    EXPECT_EQ(r.jit->dispatches(), 1u);
}

TEST(Jit, BackgroundTranslationSurvivesFlushes) { expect_passes_across_flushes(true, 4); }

// Jobs that come further apart than the translator thread's spin: how many of them a hart
// thread had to wake it for (Jit::translator_wakeups). Each job is a block of its own: addi,
// then a taken bne to the next one.
uint64_t wakeups_for_jobs_apart(std::chrono::microseconds naps_for) {
    jit::JitConfig cfg = EngineRig::eager();
    cfg.background = true;
    cfg.translator_naps_for = naps_for;
    EngineRig r(Engine::Jit, cfg);
    constexpr int kJobs = 6;
    for (uint64_t i = 0; i < kJobs; ++i) r.code(kBase + 8 * i, {addi(5, 5, 1), bne(6, 0, 4)});
    r.code(kBase + 8 * kJobs, {kPark});
    r.hart.s.x[6] = 1;
    for (int i = 0; i < kJobs; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        r.run(2);  // the block, interpreted; its translation is asked for
        r.jit->wait_for_translations();
    }
    EXPECT_EQ(r.hart.s.x[5], uint64_t{kJobs});
    EXPECT_EQ(r.hart.s.pc, kBase + 8 * kJobs);
    return r.jit->translator_wakeups();
}

// A translator thread that naps while it has nothing to do (JitConfig::translator_naps_for,
// here for longer than the test) takes each job without a wakeup, a system call on the hart
// thread; one that sleeps instead must be woken for them.
TEST(Jit, ANappingTranslatorIsNotWokenForItsJobs) {
    EXPECT_EQ(wakeups_for_jobs_apart(std::chrono::hours(1)), 0u);
    EXPECT_GT(wakeups_for_jobs_apart(std::chrono::microseconds(0)), 0u);
}

// TRAPEZE_PERF_MAP=1: every translation is named in /tmp/perf-PID.map and its bytes follow, in
// the same order, in /tmp/perf-PID.code (tools/jit-profile --annotate disassembles them).
TEST(Jit, PerfMapWritesEachTranslationAndItsCode) {
    const std::string map_path = fmt::format("/tmp/perf-{}.map", ::getpid());
    const std::string code_path = fmt::format("/tmp/perf-{}.code", ::getpid());
    std::remove(map_path.c_str());
    std::remove(code_path.c_str());
    ::setenv("TRAPEZE_PERF_MAP", "1", 1);
    EngineRig r(Engine::Jit);
    ::unsetenv("TRAPEZE_PERF_MAP");
    r.code(kBase, {addi(5, 0, 1000), addi(6, 6, 3), addi(5, 5, -1), bne(5, 0, -8), kPark});
    r.run(1 + 3 * 1000);
    ASSERT_EQ(r.hart.s.x[6], 3000u);

    std::ifstream map(map_path);
    std::ifstream code(code_path, std::ios::binary);
    ASSERT_TRUE(map && code);
    unsigned translations = 0;
    for (std::string line; std::getline(map, line); ++translations) {
        uint64_t start = 0;
        uint64_t size = 0;
        char name[64] = {};
        ASSERT_EQ(std::sscanf(line.c_str(), "%" SCNx64 " %" SCNx64 " %63s", &start, &size, name), 3) << line;
        EXPECT_TRUE(std::string(name).starts_with("guest_")) << line;
        std::array<uint64_t, 2> header{};
        ASSERT_TRUE(code.read(reinterpret_cast<char*>(header.data()), sizeof(header)));
        EXPECT_EQ(header[0], start);
        ASSERT_EQ(header[1], size);
        std::vector<uint8_t> bytes(size);
        ASSERT_TRUE(code.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)));
        // The buffer still holds what was installed, but for the rel32 of the exits chained
        // since (two per block here: taken and not taken).
        const auto* live = reinterpret_cast<const uint8_t*>(start);
        const auto differ = static_cast<size_t>(std::count_if(
            bytes.begin(), bytes.end(), [&, i = size_t{0}](uint8_t v) mutable { return v != live[i++]; }));
        EXPECT_LE(differ, 8u) << line;
    }
    EXPECT_GE(translations, 1u);
    EXPECT_EQ(code.peek(), std::ifstream::traits_type::eof());  // no record without its line
    std::remove(map_path.c_str());
    std::remove(code_path.c_str());
}

// Appending maps the buffer's next MiB in both views at once (no fault per page): the pages
// are resident after the first append and the RX view runs what was written.
TEST(CodeBuffer, MapsItsNextMibAtOnceInBothViews) {
    auto buf = jit::CodeBuffer::create(4 << 20);
    ASSERT_TRUE(buf.ok()) << buf.error().message;
    const std::vector<uint8_t> ret{0xb8, 0x2a, 0, 0, 0, 0xc3};  // mov eax, 42; ret
    const uint8_t* code = buf->append(ret);
    ASSERT_NE(code, nullptr);
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> resident((1 << 20) / page);
    const auto* page0 = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(code) & ~uintptr_t(page - 1));
    ASSERT_EQ(::mincore(const_cast<uint8_t*>(page0), 1 << 20, resident.data()), 0);
    EXPECT_TRUE(std::all_of(resident.begin(), resident.end(), [](unsigned char v) { return (v & 1) != 0; }));
    EXPECT_EQ(reinterpret_cast<int (*)()>(reinterpret_cast<uintptr_t>(code))(), 42);
}

// Reservations from several threads at once (harts under the code cache's mutex, the
// Translator without it) each get room of their own: every byte written through one room is
// still there after all threads are done, and the rooms together fill the buffer up to what
// was asked to stay free.
TEST(CodeBuffer, ThreadsReservingAtOnceGetDisjointRoom) {
    constexpr size_t kBytes = 3 << 20;
    constexpr size_t kKeep = 64 << 10;
    auto buf = jit::CodeBuffer::create(kBytes);
    ASSERT_TRUE(buf.ok()) << buf.error().message;
    struct Taken {
        uint8_t* rw;
        size_t size;
        uint8_t mark;
    };
    std::vector<std::vector<Taken>> taken(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < taken.size(); ++t) {
        threads.emplace_back([&, t] {
            for (size_t i = 0;; ++i) {
                const size_t size = 1 + (i * 37 + t * 11) % 700;
                const jit::CodeBuffer::Room room = buf->reserve(size, kKeep);
                if (room.rw == nullptr) return;
                const auto mark = static_cast<uint8_t>(t * 64 + i % 64);
                std::memset(room.rw, mark, size);
                taken[t].push_back({room.rw, size, mark});
            }
        });
    }
    for (std::thread& th : threads) th.join();
    size_t total = 0, count = 0, overwritten = 0;
    for (const auto& rooms : taken) {
        for (const Taken& r : rooms) {
            total += r.size;
            ++count;
            if (!std::all_of(r.rw, r.rw + r.size, [&](uint8_t b) { return b == r.mark; })) ++overwritten;
        }
    }
    EXPECT_EQ(overwritten, 0u) << "rooms overwritten by another thread's, of " << count;
    EXPECT_GE(buf->free(), kKeep);
    EXPECT_LT(buf->free(), kKeep + 700 + jit::CodeBuffer::kAlign);  // no room left unused but the last
    // Each room starts aligned: at most kAlign - 1 bytes between two.
    EXPECT_GE(total + count * (jit::CodeBuffer::kAlign - 1), kBytes - kKeep - 700 - jit::CodeBuffer::kAlign);
}

// A translation's cold part goes to the other end of the buffer, and the jumps between its
// two parts are rewritten to reach: a jump that ends the hot part (its displacement 0 as
// emitted, falling into the cold code) and a jump from the cold part back.
TEST(CodeBuffer, PlacesTheColdPartAtTheOtherEndAndItsJumpsStillReach) {
    auto buf = jit::CodeBuffer::create(4 << 20);
    ASSERT_TRUE(buf.ok()) << buf.error().message;
    const std::vector<uint8_t> falls_in = {
        0xb8, 1, 0, 0, 0,               // 0: mov eax, 1
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90,  // 5: nops
        0xe9, 0, 0, 0, 0,               // 11: jmp 16 (the cold part's start)
        0x83, 0xc0, 41,                 // 16: add eax, 41
        0xc3};                          // 19: ret
    const std::vector<uint32_t> falls_in_cross = {12};
    const jit::CodeBuffer::Placed a = buf->place_split(falls_in, 16, falls_in_cross);
    ASSERT_NE(a.hot, nullptr);
    EXPECT_GE(a.cold - a.hot, 3 << 20);  // the cold part near the end, far from the hot one
    EXPECT_EQ(reinterpret_cast<int (*)()>(reinterpret_cast<uintptr_t>(a.hot))(), 42);
    const std::vector<uint8_t> comes_back = {
        0xb8, 2, 0, 0, 0,               // 0: mov eax, 2
        0xe9, 6, 0, 0, 0,               // 5: jmp 16
        0xc3,                           // 10: ret
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc,   // 11: padding
        0x83, 0xc0, 40,                 // 16: add eax, 40
        0xe9, 0xf2, 0xff, 0xff, 0xff};  // 19: jmp 10
    const std::vector<uint32_t> comes_back_cross = {6, 20};
    const jit::CodeBuffer::Placed b = buf->place_split(comes_back, 16, comes_back_cross);
    ASSERT_NE(b.hot, nullptr);
    EXPECT_LT(b.cold, a.cold);  // cold parts stack downwards
    EXPECT_EQ(b.at(16), b.cold);
    EXPECT_EQ(b.at(10), b.hot + 10);
    EXPECT_EQ(reinterpret_cast<int (*)()>(reinterpret_cast<uintptr_t>(b.hot))(), 42);
    // Both ends count against what is free; a flush's truncate gives both back.
    EXPECT_LE(buf->free(), (4u << 20) - 2 * 16 - 2 * 8);
    buf->truncate(0);
    EXPECT_EQ(buf->free(), 4u << 20);
}

// A buffer beyond a rel32's reach is refused before any memory is asked for: the jumps between
// a translation's two parts, at the buffer's two ends, could not be encoded.
TEST(CodeBuffer, RefusesASizeBeyondARel32sReach) {
    const auto too_big = jit::CodeBuffer::create(jit::CodeBuffer::kMaxSize + 1);
    ASSERT_FALSE(too_big.ok());
    EXPECT_NE(too_big.error().message.find("at most"), std::string::npos) << too_big.error().message;
}

// A reservation that would leave less than keep_free free fails and takes nothing.
TEST(CodeBuffer, AReservationLeavesWhatItIsToldToKeepFree) {
    auto buf = jit::CodeBuffer::create(1 << 20);
    ASSERT_TRUE(buf.ok()) << buf.error().message;
    ASSERT_NE(buf->reserve((1 << 20) - 4096, 4096).rw, nullptr);
    EXPECT_EQ(buf->free(), 4096u);
    EXPECT_EQ(buf->reserve(16, 4096 - 8).rw, nullptr);
    EXPECT_EQ(buf->free(), 4096u);
    EXPECT_NE(buf->reserve(16, 4096 - 16).rw, nullptr);
    EXPECT_EQ(buf->free(), 4096u - 16);
}

}  // namespace
}  // namespace trapeze::rv64::test
