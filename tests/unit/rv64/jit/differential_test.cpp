// Differential runs: random programs executed under the interpreter and the JIT from the
// same state, with the same sequence of run() budgets; afterwards every architectural
// register and all of RAM must match. Programs mix every integer, bit-manipulation, FP and
// atomic encoding of the table with loads and stores (aligned, misaligned, page-crossing,
// faulting), forward branches and jumps, CSR accesses, traps and self-modifying stores.
#include <random>
#include <vector>

#include "engine_rig.hpp"
#include "random_program.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;
using namespace random_program;

constexpr unsigned kSlots = 400;  // instructions per program
constexpr Mix kMix{.plain = 45, .load = 54, .store = 62, .atomic = 67, .cbo = 69, .branch = 80, .jal = 83,
                   .jalr = 86, .csr = 93, .smc = 96, .jal_reach = 3};

ProgramGenerator generator(uint64_t seed) { return ProgramGenerator(seed, kSlots, kMix, Ending::Park); }

void install(EngineRig& rig, const std::vector<uint32_t>& program, ProgramGenerator& gen, uint64_t seed, bool paged) {
    random_program::install(rig, program, gen, seed);
    if (paged) enter_sv39(rig, seed & 0x7ff);
}

void run_differential(uint64_t seed, bool paged) {
    EngineRig a(Engine::Interp), b(Engine::Jit);
    ProgramGenerator gen_a = generator(seed), gen_b = generator(seed);
    const auto program = gen_a.generate();
    (void)gen_b.generate();
    install(a, program, gen_a, seed, paged);
    install(b, program, gen_b, seed, paged);
    std::mt19937_64 budgets(seed ^ 0x5eed);
    // Machine software interrupts come and go between slices; the handler skips an
    // instruction for them too, which both engines must do at the same block boundary.
    for (EngineRig* r : {&a, &b}) {
        r->hart.s.mie = MIP_MSIP;
        r->hart.s.mstatus |= MSTATUS_MIE;
    }
    bool pin = false;
    for (unsigned step = 0; step < 100; ++step) {
        if (budgets() % 6 == 0 || step + 1 == 100) {
            pin = !pin && step + 1 < 100;
            a.hart.set_irq_pin(MIP_MSIP, pin);
            b.hart.set_irq_pin(MIP_MSIP, pin);
        }
        // Small budgets end slices inside chains; the last one lets the program finish.
        const uint64_t budget = step + 1 == 100 ? 20000 : 1 + budgets() % 40;
        a.run(budget);
        b.run(budget);
        const std::string d = diff_state(a.hart.s, b.hart.s);
        ASSERT_EQ(d, "") << "seed " << seed << " after run " << step << " (budget " << budget << ")";
    }
    EXPECT_EQ(a.hart.s.pc, (paged ? 0 : kBase) + 4 * (kSlots - 1)) << "seed " << seed << ": the program did not reach its end; priv "
        << static_cast<int>(a.hart.s.priv) << fmt::format(" mcause {:#x} mepc {:#x} mtval {:#x} minstret {}", a.hart.s.mcause,
                                                          a.hart.s.mepc, a.hart.s.mtval, a.hart.s.minstret);
    EXPECT_TRUE(same_memory(a, b)) << "seed " << seed;
    EXPECT_EQ(a.interp->retired(), b.jit->retired()) << "seed " << seed;
}

TEST(JitDifferential, RandomProgramsMatchTheInterpreter) {
    for (uint64_t seed = 1; seed <= 300; ++seed) {
        run_differential(seed, false);
        if (::testing::Test::HasFailure()) return;
    }
}

TEST(JitDifferential, RandomProgramsUnderSv39MatchTheInterpreter) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        run_differential(seed, true);
        if (::testing::Test::HasFailure()) return;
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
