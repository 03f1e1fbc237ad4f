// Code coherence between harts that run from caches of their own (CodeCoherence, issue 21):
// a store by one hart, or a device's DMA, to code that another hart has decoded or translated
// reaches that hart by its next FENCE.I (unpriv spec §6.1) — including a store made through a
// write entry the storing hart cached before the page became code.
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

// Two harts over one RAM, each with its own engine, joined as the machine joins them.
class CodeCoherenceTest : public ::testing::TestWithParam<Engine> {
protected:
    struct Side {
        Hart hart;
        std::unique_ptr<jit::Jit> jit;
        std::unique_ptr<interp::Interpreter> interp;
        Side(unsigned id, GuestMemory& mem, MmioBus& bus, const GuestClock& clock) : hart(HartConfig{id, true}, mem, bus, clock) {}
        interp::CodeCache& cache() { return jit ? jit->cache() : interp->cache(); }
    };

    CodeCoherenceTest() : mem(GuestMemory::create(Gpa(kBase), 1 << 20).value()), coherence(mem, 2) {
        for (unsigned i = 0; i < 2; ++i) {
            sides[i] = std::make_unique<Side>(i, mem, bus, clock);
            Side& s = *sides[i];
            if (GetParam() == Engine::Jit) {
                s.jit = std::move(jit::Jit::create(mem, EngineRig::eager()).value());
                s.jit->attach(s.hart);
            } else {
                s.interp = std::make_unique<interp::Interpreter>(mem);
                s.interp->attach(s.hart);
            }
            coherence.join(i, s.hart, s.cache());
        }
        mem.set_write_observer([this](Gpa gpa, uint64_t len) { coherence.invalidate_range(gpa.value, len); });
        write(kFunc, li_a0(1));
        write(kFunc + 4, jal_self());
        write(kCaller, kFenceI);
        write(kCaller + 4, j_to(kCaller + 4, kFunc));
        write(kStorer, sw(5, 6, 0));
        write(kStorer + 4, jal_self());
    }

    void write(uint64_t addr, uint32_t insn) { store_le<uint32_t>(mem.span(Gpa(addr), 4).data(), insn); }

    void run_until(unsigned i, uint64_t pc) {
        Side& s = *sides[i];
        for (int n = 0; n < 100 && s.hart.s.pc != pc; ++n) {
            if (s.jit)
                s.jit->run(s.hart, 100);
            else
                s.interp->run(s.hart, 100);
        }
        ASSERT_EQ(s.hart.s.pc, pc);
    }

    // Hart i runs FENCE.I and then the function: what does it return?
    uint64_t call(unsigned i) {
        sides[i]->hart.s.pc = kCaller;
        run_until(i, kFunc + 4);
        return sides[i]->hart.s.x[10];
    }

    // Hart i stores `value` (32 bits) at addr through its own MMU.
    void store(unsigned i, uint64_t addr, uint32_t value) {
        Hart& h = sides[i]->hart;
        h.s.x[5] = value;
        h.s.x[6] = addr;
        h.s.pc = kStorer;
        run_until(i, kStorer + 4);
    }

    GuestMemory mem;
    MmioBus bus;
    GuestClock clock;
    CodeCoherence coherence;
    std::unique_ptr<Side> sides[2];
};

TEST_P(CodeCoherenceTest, AnotherHartsStoreToDecodedCodeIsSeenAfterFenceI) {
    EXPECT_EQ(call(0), 1u);
    EXPECT_TRUE(coherence.is_code_page(kFunc));
    store(1, kFunc, li_a0(2));
    EXPECT_TRUE(coherence.has_posts(0));  // the store reached hart 0 as a post
    EXPECT_EQ(call(0), 2u);
    EXPECT_FALSE(coherence.has_posts(0));
}

TEST_P(CodeCoherenceTest, AStoreThroughAWriteEntryCachedBeforeThePageBecameCodeIsSeenAfterFenceI) {
    store(1, kFunc + 0x100, 0);  // hart 1 caches write permission for the function's page
    EXPECT_TRUE(sides[1]->hart.has_write_entries(kFunc));
    EXPECT_EQ(call(0), 1u);      // hart 0 decodes the page: hart 1 is told to drop its entries
    EXPECT_TRUE(coherence.has_posts(1));
    store(1, kFunc, li_a0(3));   // before it has: the store goes through the old entry, unseen
    EXPECT_EQ(call(0), 3u);      // hart 0's FENCE.I drops what it decoded while that could happen
    coherence.service(1);        // hart 1 drops its write entries between slices
    EXPECT_FALSE(sides[1]->hart.has_write_entries(kFunc));
    store(1, kFunc, li_a0(4));   // now the store takes the slow path and reaches hart 0
    EXPECT_TRUE(coherence.has_posts(0));
    EXPECT_EQ(call(0), 4u);
}

TEST_P(CodeCoherenceTest, DeviceDmaToDecodedCodeReachesEveryHartHoldingIt) {
    EXPECT_EQ(call(0), 1u);
    EXPECT_EQ(call(1), 1u);
    uint8_t insn[4];
    store_le<uint32_t>(insn, li_a0(5));
    ASSERT_TRUE(mem.write(Gpa(kFunc), insn));
    EXPECT_TRUE(coherence.has_posts(0));
    EXPECT_TRUE(coherence.has_posts(1));
    EXPECT_EQ(call(0), 5u);
    EXPECT_EQ(call(1), 5u);
    EXPECT_FALSE(coherence.is_code_page(kFunc + 0x1000));
}

TEST_P(CodeCoherenceTest, OwnStoresDropOwnCodeAtOnce) {
    EXPECT_EQ(call(0), 1u);
    store(0, kFunc, li_a0(6));
    EXPECT_FALSE(coherence.has_posts(0));
    sides[0]->hart.s.pc = kFunc;  // no FENCE.I needed for the hart's own store in this engine
    run_until(0, kFunc + 4);
    EXPECT_EQ(sides[0]->hart.s.x[10], 6u);
}

INSTANTIATE_TEST_SUITE_P(Engines, CodeCoherenceTest, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "Jit" : "Interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
