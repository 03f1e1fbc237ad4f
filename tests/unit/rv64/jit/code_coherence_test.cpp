// Code coherence between harts that run on threads of their own from one shared code cache
// (CodeCoherence, issue 21): a store by one hart, or a device's DMA, to code any hart has
// decoded or translated reaches every hart by its next FENCE.I (unpriv spec §6.1) — including
// a store made through a write entry the storing hart cached before the page became code —
// and a block translated for one hart runs on the other without being translated again.
#include <gtest/gtest.h>

#include <memory>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"
#include "rv64/code_coherence.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kFunc = 0x80002000;   // li a0, V; j .
constexpr uint64_t kCaller = 0x80004000;  // fence.i; j kFunc
constexpr uint64_t kStorer = 0x80006000;  // sw t0, 0(t1); j .
constexpr uint32_t kFenceI = 0x0000100f;

inline uint32_t li_a0(int32_t v) { return addi(10, 0, v); }
inline uint32_t j_to(uint64_t from, uint64_t to) {
    return enc_j(static_cast<int32_t>(to - from), 0);
}

// Two harts over one RAM and one engine, joined as the machine joins them.
class CodeCoherenceTest : public ::testing::TestWithParam<Engine> {
protected:
    CodeCoherenceTest() : mem(GuestMemory::create(Gpa(kBase), 1 << 20).value()) {
        if (GetParam() == Engine::Jit)
            jit = std::move(jit::Jit::create(mem, EngineRig::eager()).value());
        else
            interp = std::make_unique<interp::Interpreter>(mem);
        coherence = std::make_unique<CodeCoherence>(cache(), 2);
        cache().set_page_listener(coherence.get());
        for (unsigned i = 0; i < 2; ++i) {
            harts[i] = std::make_unique<Hart>(HartConfig{i, true}, mem, bus, clock);
            if (jit)
                jit->attach(*harts[i]);
            else
                interp->attach(*harts[i]);
            coherence->join(i, *harts[i]);
        }
        write(kFunc, li_a0(1));
        write(kFunc + 4, jal_self());
        write(kCaller, kFenceI);
        write(kCaller + 4, j_to(kCaller + 4, kFunc));
        write(kStorer, sw(5, 6, 0));
        write(kStorer + 4, jal_self());
    }

    interp::CodeCache& cache() { return jit ? jit->cache() : interp->cache(); }
    void write(uint64_t addr, uint32_t insn) { store_le<uint32_t>(mem.span(Gpa(addr), 4).data(), insn); }

    void run_until(unsigned i, uint64_t pc) {
        Hart& h = *harts[i];
        for (int n = 0; n < 100 && h.s.pc != pc; ++n) {
            if (jit)
                jit->run(h, 100);
            else
                interp->run(h, 100);
        }
        ASSERT_EQ(h.s.pc, pc);
    }

    // Hart i runs FENCE.I and then the function: what does it return?
    uint64_t call(unsigned i) {
        harts[i]->s.pc = kCaller;
        run_until(i, kFunc + 4);
        return harts[i]->s.x[10];
    }

    // Hart i stores `value` (32 bits) at addr through its own MMU.
    void store(unsigned i, uint64_t addr, uint32_t value) {
        Hart& h = *harts[i];
        h.s.x[5] = value;
        h.s.x[6] = addr;
        h.s.pc = kStorer;
        run_until(i, kStorer + 4);
    }

    GuestMemory mem;
    MmioBus bus;
    GuestClock clock;
    std::unique_ptr<jit::Jit> jit;
    std::unique_ptr<interp::Interpreter> interp;
    std::unique_ptr<CodeCoherence> coherence;
    std::unique_ptr<Hart> harts[2];
};

TEST_P(CodeCoherenceTest, AnotherHartsStoreToDecodedCodeIsSeenAfterFenceI) {
    EXPECT_EQ(call(0), 1u);
    EXPECT_TRUE(cache().is_code_page(kFunc));
    store(1, kFunc, li_a0(2));  // the store drops the shared blocks: no post needed
    EXPECT_FALSE(coherence->has_posts(0));
    EXPECT_EQ(call(0), 2u);
}

TEST_P(CodeCoherenceTest, AStoreThroughAWriteEntryCachedBeforeThePageBecameCodeIsSeenAfterFenceI) {
    store(1, kFunc + 0x100, 0);  // hart 1 caches write permission for the function's page
    EXPECT_TRUE(harts[1]->has_write_entries(kFunc));
    EXPECT_EQ(call(0), 1u);      // hart 0 decodes the page: hart 1 is told to drop its entries
    EXPECT_TRUE(coherence->has_posts(1));
    EXPECT_EQ(coherence->unconfirmed(), 1u);
    store(1, kFunc, li_a0(3));   // before it has: the store goes through the old entry, unseen
    EXPECT_EQ(call(0), 3u);      // hart 0's FENCE.I drops what was decoded while that could happen
    EXPECT_EQ(call(1), 3u);
    coherence->service(1);       // hart 1 drops its write entries between slices
    EXPECT_FALSE(harts[1]->has_write_entries(kFunc));
    EXPECT_EQ(coherence->unconfirmed(), 0u);
    store(1, kFunc, li_a0(4));   // now the store takes the slow path and drops the shared blocks
    EXPECT_EQ(call(0), 4u);
}

// A store through a stale entry, then the storer drops its entries: blocks decoded before it
// did go too (they may hold the old bytes), though no FENCE.I ran meanwhile.
TEST_P(CodeCoherenceTest, DroppingStaleWriteEntriesDropsTheBlocksDecodedMeanwhile) {
    store(1, kFunc + 0x100, 0);
    EXPECT_EQ(call(0), 1u);
    store(1, kFunc, li_a0(7));
    coherence->service(1);
    EXPECT_FALSE(cache().is_code_page(kFunc));
    harts[0]->s.pc = kFunc;  // no FENCE.I
    run_until(0, kFunc + 4);
    EXPECT_EQ(harts[0]->s.x[10], 7u);
}

TEST_P(CodeCoherenceTest, DeviceDmaToDecodedCodeReachesEveryHart) {
    EXPECT_EQ(call(0), 1u);
    EXPECT_EQ(call(1), 1u);
    uint8_t insn[4];
    store_le<uint32_t>(insn, li_a0(5));
    ASSERT_TRUE(mem.write(Gpa(kFunc), insn));
    EXPECT_FALSE(cache().is_code_page(kFunc));
    EXPECT_EQ(call(0), 5u);
    EXPECT_EQ(call(1), 5u);
    EXPECT_FALSE(cache().is_code_page(kFunc + 0x1000));
}

TEST_P(CodeCoherenceTest, OwnStoresDropOwnCodeAtOnce) {
    EXPECT_EQ(call(0), 1u);
    store(0, kFunc, li_a0(6));
    EXPECT_FALSE(coherence->has_posts(0));
    harts[0]->s.pc = kFunc;  // no FENCE.I needed for the hart's own store in this engine
    run_until(0, kFunc + 4);
    EXPECT_EQ(harts[0]->s.x[10], 6u);
}

// The shared cache: what hart 0 decoded (and the JIT translated) hart 1 runs as it is.
TEST_P(CodeCoherenceTest, CodeDecodedForOneHartRunsOnTheOther) {
    EXPECT_EQ(call(0), 1u);
    const uint64_t built = cache().built();
    const uint64_t translations = jit ? jit->stats().blocks : 0;
    EXPECT_EQ(call(1), 1u);
    EXPECT_EQ(cache().built(), built);
    if (jit) {
        EXPECT_EQ(jit->stats().blocks, translations);
    }
}

INSTANTIATE_TEST_SUITE_P(Engines, CodeCoherenceTest, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "Jit" : "Interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
