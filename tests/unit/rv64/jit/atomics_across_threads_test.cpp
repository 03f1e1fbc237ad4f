// Guest atomics when harts run on different host threads (issue 21, RVWMO unpriv spec ch. 17,
// A extension ch. 8): every hart increments one shared counter with AMOs or with LR/SC retry
// loops, each hart on its own host thread and its own engine instance over the same guest
// RAM. The counter must come out exact: an AMO that is a load, an add and a store, or an SC
// that stores without checking memory, loses increments as soon as two host cores race.
#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kCode = 0x80000000;
constexpr uint64_t kCounter = 0x80008000;
// Enough that the harts overlap for many milliseconds under either engine (the translator runs
// the loop some 20 times faster than the interpreter).
uint64_t iterations(Engine e) { return e == Engine::Jit ? 2'000'000 : 200'000; }

inline uint32_t amoadd_d(uint32_t rd, uint32_t rs2, uint32_t rs1) { return enc_r(0x00, rs2, rs1, 3, rd, 0x2f); }

// a0 = the counter, a1 = iterations left, a2 = 1; the loop ends in `j .` at the returned address.
uint64_t amo_loop(GuestMemory& mem) {
    const std::vector<uint32_t> prog = {
        amoadd_d(0, 12, 10),  // loop: amoadd.d zero, a2, (a0)
        addi(11, 11, -1),     //       addi a1, a1, -1
        bne(11, 0, -8),       //       bnez a1, loop
        jal_self(),
    };
    for (size_t i = 0; i < prog.size(); ++i) store_le<uint32_t>(mem.span(Gpa(kCode + 4 * i), 4).data(), prog[i]);
    return kCode + 4 * (prog.size() - 1);
}

uint64_t lrsc_loop(GuestMemory& mem) {
    const std::vector<uint32_t> prog = {
        lr_d(5, 10),       // loop: lr.d t0, (a0)
        addi(5, 5, 1),     //       addi t0, t0, 1
        sc_d(6, 5, 10),    //       sc.d t1, t0, (a0)
        bne(6, 0, -12),    //       bnez t1, loop      (lost the reservation: retry)
        addi(11, 11, -1),  //       addi a1, a1, -1
        bne(11, 0, -20),   //       bnez a1, loop
        jal_self(),
    };
    for (size_t i = 0; i < prog.size(); ++i) store_le<uint32_t>(mem.span(Gpa(kCode + 4 * i), 4).data(), prog[i]);
    return kCode + 4 * (prog.size() - 1);
}

// Runs `harts` harts, one host thread and one engine each, over `mem` until each parks at `end`.
void run_on_threads(GuestMemory& mem, Engine engine, unsigned harts, uint64_t end) {
    std::vector<std::thread> threads;
    std::latch ready(harts);  // setting up an engine takes longer than the loop: start together
    for (unsigned id = 0; id < harts; ++id) {
        threads.emplace_back([&mem, &ready, engine, id, end] {
            MmioBus bus;
            GuestClock clock;
            Hart hart(HartConfig{id, true}, mem, bus, clock);
            std::unique_ptr<jit::Jit> jit;
            std::unique_ptr<interp::Interpreter> interp;
            if (engine == Engine::Jit) {
                jit = std::move(jit::Jit::create(mem, EngineRig::eager()).value());
                jit->attach(hart);
            } else {
                interp = std::make_unique<interp::Interpreter>(mem);
                interp->attach(hart);
            }
            hart.s.pc = kCode;
            hart.s.x[10] = kCounter;
            hart.s.x[11] = iterations(engine);
            hart.s.x[12] = 1;
            ready.arrive_and_wait();
            while (hart.s.pc != end) {
                if (jit)
                    jit->run(hart, 10'000);
                else
                    interp->run(hart, 10'000);
            }
        });
    }
    for (auto& t : threads) t.join();
}

class AtomicsAcrossThreads : public ::testing::TestWithParam<Engine> {
protected:
    GuestMemory mem = GuestMemory::create(Gpa(kCode), 1 << 20).value();
    uint64_t counter() { return load_le<uint64_t>(mem.span(Gpa(kCounter), 8).data()); }
};

TEST_P(AtomicsAcrossThreads, AmoAddCountersSumExactly) {
    const uint64_t end = amo_loop(mem);
    run_on_threads(mem, GetParam(), 4, end);
    EXPECT_EQ(counter(), 4 * iterations(GetParam()));
}

TEST_P(AtomicsAcrossThreads, LrScCountersSumExactly) {
    const uint64_t end = lrsc_loop(mem);
    run_on_threads(mem, GetParam(), 4, end);
    EXPECT_EQ(counter(), 4 * iterations(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(BothEngines, AtomicsAcrossThreads, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "Jit" : "Interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
