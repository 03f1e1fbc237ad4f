// Harts on different host threads (issue 21), each on its own host thread, all on one engine
// (its code cache and translations shared, as in the machine): guest atomics (RVWMO unpriv
// spec ch. 17, A extension ch. 8) — every hart increments one shared counter with AMOs or with
// LR/SC retry loops, and the counter must come out exact: an AMO that is a load, an add and a
// store, or an SC that stores without checking memory, loses increments as soon as two host
// cores race — and the shared code cache itself, flushed while the harts run.
#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <mutex>
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

// Runs `harts` harts, one host thread each, on one engine over `mem` until each parks at
// `end`; `setup(hart)` sets its registers before they all start together.
template <typename Setup>
void run_on_threads(GuestMemory& mem, Engine engine, unsigned harts, uint64_t end, Setup setup,
                    const jit::JitConfig& cfg = EngineRig::eager(), uint64_t slice = 2'000) {
    MmioBus bus;
    GuestClock clock;
    std::vector<std::unique_ptr<Hart>> hart_list;
    std::unique_ptr<jit::Jit> jit;
    std::unique_ptr<interp::Interpreter> interp;
    if (engine == Engine::Jit)
        jit = std::move(jit::Jit::create(mem, cfg).value());
    else
        interp = std::make_unique<interp::Interpreter>(mem);
    for (unsigned id = 0; id < harts; ++id) {
        hart_list.push_back(std::make_unique<Hart>(HartConfig{id, true}, mem, bus, clock));
        Hart& hart = *hart_list.back();
        if (jit)
            jit->attach(hart);
        else
            interp->attach(hart);
        hart.s.pc = kCode;
        setup(hart);
    }
    std::vector<std::thread> threads;
    std::latch ready(harts);
    for (auto& h : hart_list) {
        threads.emplace_back([&ready, &jit, &interp, &hart = *h, end, slice] {
            ready.arrive_and_wait();
            while (hart.s.pc != end) {
                if (jit)
                    jit->run(hart, slice);
                else
                    interp->run(hart, slice);
                // The harts spin on each other: with more threads than free host cores (ctest
                // -j2 on two), a spinning one must let the one it waits for run.
                std::this_thread::yield();
            }
        });
    }
    for (auto& t : threads) t.join();
}

void run_counters(GuestMemory& mem, Engine engine, uint64_t end) {
    run_on_threads(mem, engine, 4, end, [engine](Hart& h) {
        h.s.x[10] = kCounter;
        h.s.x[11] = iterations(engine);
        h.s.x[12] = 1;
    });
}

// The store-buffering shape (RVWMO appendix A, "SB"): in round i each of two harts stores 1 to
// its own flag[i], fences, and loads the other's flag[i]. With FENCE RW,RW both loads cannot
// read 0. The harts meet at an AMO barrier before every round, then each waits a different
// number of steps ((round * its multiplier) mod 256), so that over the rounds their stores and
// loads meet at every relative timing. Checked by hand on the 2-core development host: with
// the fence replaced by a NOP (store_buffering(mem, kNop)) and harts that run 2M-instruction
// slices without yielding, the forbidden outcome showed in 47-190 of the 10,000 rounds under
// the JIT; with the fence, never. The test yields every 2,000 instructions so that it stays
// quick when ctest runs it beside other tests; it can then show fewer interleavings, never a
// false failure.
constexpr uint64_t kBarrier = 0x80008000;
constexpr uint64_t kFlags[2] = {0x80010000, 0x80030000};
constexpr uint64_t kSeen[2] = {0x80050000, 0x80070000};
constexpr uint64_t kRounds = 10'000;
constexpr uint64_t kMultiplier[2] = {37, 101};

inline uint32_t slli(uint32_t rd, uint32_t rs1, uint32_t sh) { return enc_i(static_cast<int32_t>(sh), rs1, 1, rd, 0x13); }
inline uint32_t andi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 7, rd, 0x13); }
inline uint32_t mul(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(1, rs2, rs1, 0, rd, 0x33); }
inline uint32_t blt(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 4); }
constexpr uint32_t kFenceRwRw = enc_i(0x33, 0, 0, 0, 0x0f);

// a0 = own flags, a1 = the other's flags, a2 = what this hart saw, a3 = rounds, a4 = barrier,
// a5 = this hart's delay multiplier.
uint64_t store_buffering(GuestMemory& mem, uint32_t fence = kFenceRwRw) {
    std::vector<uint32_t> prog = {
        addi(6, 0, 1),   //        li t1, 1
        addi(28, 0, 0),  //        li t3, 0             round
    };
    const auto round = static_cast<int32_t>(prog.size());
    prog.insert(prog.end(), {
        addi(29, 28, 1),     // round: addi t4, t3, 1
        slli(29, 29, 1),     //        slli t4, t4, 1       2 * (round + 1) arrivals
        amoadd_d(0, 6, 14),  //        amoadd.d zero, t1, (a4)
        ld(7, 14, 0),        // wait:  ld t2, 0(a4)
        blt(7, 29, -4),      //        blt t2, t4, wait
        mul(18, 28, 15),     //        mul s2, t3, a5
        andi(18, 18, 255),   //        andi s2, s2, 255
        addi(18, 18, 1),     //        addi s2, s2, 1
        addi(18, 18, -1),    // delay: addi s2, s2, -1
        bne(18, 0, -4),      //        bnez s2, delay
        slli(30, 28, 3),     //        slli t5, t3, 3
        add(31, 10, 30),     //        add t6, a0, t5
        sd(6, 31, 0),        //        sd t1, 0(t6)         own flag[round] = 1
        fence,               //        fence rw, rw
        add(31, 11, 30),     //        add t6, a1, t5
        ld(7, 31, 0),        //        ld t2, 0(t6)         the other's flag[round]
        add(31, 12, 30),     //        add t6, a2, t5
        sd(7, 31, 0),        //        sd t2, 0(t6)
        addi(28, 28, 1),     //        addi t3, t3, 1
    });
    prog.push_back(bne(28, 13, 4 * (round - static_cast<int32_t>(prog.size()))));  // bne t3, a3, round
    prog.push_back(jal_self());
    for (size_t i = 0; i < prog.size(); ++i) store_le<uint32_t>(mem.span(Gpa(kCode + 4 * i), 4).data(), prog[i]);
    return kCode + 4 * (prog.size() - 1);
}

class AtomicsAcrossThreads : public ::testing::TestWithParam<Engine> {
protected:
    GuestMemory mem = GuestMemory::create(Gpa(kCode), 1 << 20).value();
    uint64_t counter() { return load_le<uint64_t>(mem.span(Gpa(kCounter), 8).data()); }
    void run_store_buffering(Engine engine, uint64_t end) {
        run_on_threads(mem, engine, 2, end, [](Hart& h) {
            const auto me = static_cast<unsigned>(h.s.mhartid);
            h.s.x[10] = kFlags[me];
            h.s.x[11] = kFlags[1 - me];
            h.s.x[12] = kSeen[me];
            h.s.x[13] = kRounds;
            h.s.x[14] = kBarrier;
            h.s.x[15] = kMultiplier[me];
        });
    }
    uint64_t both_saw_zero() {
        uint64_t n = 0;
        for (uint64_t i = 0; i < kRounds; ++i) {
            auto seen = [&](unsigned h) { return load_le<uint64_t>(mem.span(Gpa(kSeen[h] + 8 * i), 8).data()); };
            n += seen(0) == 0 && seen(1) == 0;
        }
        return n;
    }
};

TEST_P(AtomicsAcrossThreads, AmoAddCountersSumExactly) {
    const uint64_t end = amo_loop(mem);
    run_counters(mem, GetParam(), end);
    EXPECT_EQ(counter(), 4 * iterations(GetParam()));
}

TEST_P(AtomicsAcrossThreads, LrScCountersSumExactly) {
    const uint64_t end = lrsc_loop(mem);
    run_counters(mem, GetParam(), end);
    EXPECT_EQ(counter(), 4 * iterations(GetParam()));
}

TEST_P(AtomicsAcrossThreads, AFenceRwRwForbidsTheStoreBufferingOutcome) {
    run_store_buffering(GetParam(), store_buffering(mem));
    EXPECT_EQ(both_saw_zero(), 0u) << "rounds in which each hart's load passed its own earlier store";
}

// The shared code cache flushed under running harts: four harts on four threads walk the same
// chain of 16384 two-instruction blocks (x5 += 1; j next), several times what the code buffer
// holds, so flushes come while the others are in the middle of translated code, an interpreted
// block or a link. Each must count every block of every pass, and park at the end.
constexpr unsigned kChain = 16384;
constexpr unsigned kPasses = 3;
// Translation runs in the background: on a loaded host (or under a sanitizer) the harts may
// interpret three whole passes before the translator has filled the buffer once, so they go
// on, pass by pass, until a flush has come (at most this many passes).
constexpr unsigned kMaxPasses = 200;

void block_chain(GuestMemory& mem) {
    auto put = [&mem](uint64_t at, uint32_t insn) { store_le<uint32_t>(mem.span(Gpa(at), 4).data(), insn); };
    for (unsigned i = 0; i < kChain; ++i) {
        put(kCode + 8 * i, addi(5, 5, 1));
        put(kCode + 8 * i + 4, i + 1 < kChain ? enc_j(4, 0) : enc_j(-static_cast<int32_t>(8 * i + 4), 0));
    }
}

TEST_P(AtomicsAcrossThreads, HartsShareTheCodeCacheAndSurviveEachOthersFlushes) {
    block_chain(mem);
    jit::JitConfig cfg = EngineRig::eager();
    cfg.code_bytes = 512 * 1024;
    cfg.background = true;
    // A pass is the whole chain (2 instructions a block), run in slices of a whole number of
    // blocks, so each pass's last slice ends exactly where the pass does.
    const uint64_t pass = 2 * kChain;
    constexpr uint64_t kSlice = 256;
    static_assert((2 * kChain) % kSlice == 0);
    MmioBus bus;
    GuestClock clock;
    std::unique_ptr<jit::Jit> jit;
    std::unique_ptr<interp::Interpreter> interp;
    if (GetParam() == Engine::Jit)
        jit = std::move(jit::Jit::create(mem, cfg).value());
    else
        interp = std::make_unique<interp::Interpreter>(mem);
    std::vector<std::unique_ptr<Hart>> harts;
    for (unsigned id = 0; id < 4; ++id) {
        harts.push_back(std::make_unique<Hart>(HartConfig{id, true}, mem, bus, clock));
        jit ? jit->attach(*harts.back()) : interp->attach(*harts.back());
        harts.back()->s.pc = kCode;
    }
    auto enough = [&](unsigned passes) {
        return passes >= kMaxPasses || (passes >= kPasses && (!jit || jit->flushes() > 0));
    };
    std::vector<unsigned> passes(harts.size(), 0);
    std::vector<std::thread> threads;
    std::latch ready(4);
    for (size_t i = 0; i < harts.size(); ++i) {
        threads.emplace_back([&, i, &hart = *harts[i]] {
            ready.arrive_and_wait();
            while (!enough(passes[i])) {
                for (uint64_t done = 0; done < pass; done += kSlice) {
                    jit ? static_cast<void>(jit->run(hart, kSlice)) : static_cast<void>(interp->run(hart, kSlice));
                    std::this_thread::yield();
                }
                ++passes[i];
            }
        });
    }
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < harts.size(); ++i) {
        EXPECT_EQ(harts[i]->s.x[5], uint64_t{kChain} * passes[i]) << "hart " << i;
        EXPECT_EQ(harts[i]->s.pc, kCode) << "hart " << i;
    }
    if (jit) {
        EXPECT_GT(jit->flushes(), 0u) << "after " << kMaxPasses << " passes";
    }
}

INSTANTIATE_TEST_SUITE_P(BothEngines, AtomicsAcrossThreads, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "Jit" : "Interp"; });

}  // namespace
}  // namespace trapeze::rv64::test
