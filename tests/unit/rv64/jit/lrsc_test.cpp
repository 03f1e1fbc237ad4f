// LR/SC sequences under both engines (issue 21; unpriv spec §8.2, §8.3, rv64/isa/lr_sequence.hpp):
// a constrained sequence stores; an LR followed by memory accesses, a backward branch, a jalr
// or too many instructions before its SC leaves no reservation, so that SC fails even though
// memory still holds what the LR read (the value compare could not see another hart's A-B-A);
// a trap between LR and SC fails the SC; a constrained sequence across a page end stores, with
// or without paging. Both engines end in the same architectural state.
#include <functional>
#include <utility>
#include <vector>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kData = kBase + 0x8000;
constexpr uint64_t kHandler = kBase + 0x400;
constexpr uint64_t kOld = 41;

inline uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 0); }
inline uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x67); }

// Data at kData (x10) holds kOld; every program stores x5 = kOld + 1 with sc.d x6 and parks.
void prepare(EngineRig& r) {
    r.poke64(kData, kOld);
    r.hart.s.x[10] = kData;
    r.hart.s.x[6] = 7;  // neither of the SC's results
}

// lr.d x5, (x10); the instructions `between`; sc.d x6, x5, (x10); j . -- at `at`.
void sequence(EngineRig& r, uint64_t at, std::initializer_list<uint32_t> between) {
    r.code(at, {lr_d(5, 10)});
    r.code(at + 4, between);
    const uint64_t sc = at + 4 + 4 * between.size();
    r.code(sc, {sc_d(6, 5, 10), jal_self()});
}

void constrained(EngineRig& r) {
    prepare(r);
    sequence(r, kBase, {addi(5, 5, 1)});
}
void load_between(EngineRig& r) {
    prepare(r);
    sequence(r, kBase, {ld(7, 10, 8), addi(5, 5, 1)});
}
void store_between(EngineRig& r) {
    prepare(r);
    sequence(r, kBase, {sd(0, 10, 16), addi(5, 5, 1)});
}
// x7 = 1: the loop's branch is never taken, but it is there.
void backward_branch_between(EngineRig& r) {
    prepare(r);
    r.hart.s.x[7] = 1;
    sequence(r, kBase, {addi(5, 5, 1), addi(7, 7, -1), bne(7, 0, -4)});
}
// jalr to the SC, the next instruction.
void jalr_between(EngineRig& r) {
    prepare(r);
    r.hart.s.x[12] = kBase + 12;
    sequence(r, kBase, {addi(5, 5, 1), jalr(0, 12, 0)});
}
// The SC `n` instructions after the LR (16 in all is the longest constrained loop, §8.3).
void sc_at(EngineRig& r, unsigned n) {
    prepare(r);
    r.code(kBase, {lr_d(5, 10), addi(5, 5, 1)});
    for (unsigned i = 2; i < n; ++i) r.code(kBase + 4 * i, {kNop});
    r.code(kBase + 4 * n, {sc_d(6, 5, 10), jal_self()});
}
// The compare-and-swap shape (Linux's cmpxchg, GCC's and LLVM's): a forward branch past the SC
// leaves the sequence when the value differs; here it does not (x12 = kOld).
void compare_and_swap(EngineRig& r) {
    prepare(r);
    r.hart.s.x[11] = kOld + 1;
    r.hart.s.x[12] = kOld;
    r.code(kBase, {lr_d(5, 10), bne(5, 12, 12), sc_d(6, 11, 10), bne(6, 0, -12), jal_self()});
}

constexpr uint64_t kPageEnd = kBase + 0x1000;

// The LR and an addi at the end of one page, the SC at the start of the next: the code cache
// cannot classify the LR from its page, so it classifies itself as it runs.
void across_page_end(EngineRig& r, std::initializer_list<uint32_t> in_next_page) {
    prepare(r);
    r.code(kPageEnd - 8, {lr_d(5, 10), addi(5, 5, 1)});
    r.code(kPageEnd, in_next_page);
    r.code(kPageEnd + 4 * in_next_page.size(), {sc_d(6, 5, 10), jal_self()});
    r.hart.s.pc = kPageEnd - 8;
}

// The same under Sv39 in S-mode, VA page 0 and 1 on physical pages far apart, the data on VA
// page 2; VA page 1 left unmapped if `next_page` is false.
constexpr uint64_t kRoot = kBase + 0x70000;
constexpr uint64_t kPage0 = kBase + 0x10000, kPage1 = kBase + 0x30000, kDataPage = kBase + 0x50000;

void across_mapped_pages(EngineRig& r, std::initializer_list<uint32_t> in_next_page, bool next_page = true) {
    r.map_page(kRoot, 0, kPage0);
    if (next_page) r.map_page(kRoot, 1, kPage1);
    r.map_page(kRoot, 2, kDataPage);
    r.poke64(kDataPage, kOld);
    r.code(kPage0 + 0xff8, {lr_d(5, 10), addi(5, 5, 1)});
    r.code(kPage1, in_next_page);
    r.code(kPage1 + 4 * in_next_page.size(), {sc_d(6, 5, 10), jal_self()});
    r.hart.s.x[10] = 0x2000;
    r.hart.s.x[6] = 7;
    r.enter_sv39(kRoot);
    r.hart.s.pc = 0xff8;
}

class LrSc : public ::testing::TestWithParam<Engine> {
protected:
    LrSc() : r(GetParam()) {}

    // Runs the program to its park and checks the SC's verdict and memory.
    void expect_sc(bool stored, uint64_t data = kData) {
        r.run(64);
        EXPECT_EQ(r.hart.s.x[6], stored ? 0u : 1u);
        EXPECT_EQ(r.peek64(data), stored ? kOld + 1 : kOld);
        EXPECT_FALSE(r.hart.s.reservation_valid);
    }

    EngineRig r;
};

TEST_P(LrSc, ConstrainedSequenceStores) {
    constrained(r);
    expect_sc(true);
}

TEST_P(LrSc, LoadBetweenLrAndScFailsTheSc) {
    load_between(r);
    expect_sc(false);
}

TEST_P(LrSc, StoreBetweenLrAndScFailsTheSc) {
    store_between(r);
    expect_sc(false);
}

TEST_P(LrSc, BackwardBranchBetweenLrAndScFailsTheSc) {
    backward_branch_between(r);
    expect_sc(false);
}

TEST_P(LrSc, JalrBetweenLrAndScFailsTheSc) {
    jalr_between(r);
    expect_sc(false);
}

TEST_P(LrSc, ScAsTheSixteenthInstructionStoresAndAsTheSeventeenthFails) {
    sc_at(r, 15);
    expect_sc(true);
    EngineRig far(GetParam());
    sc_at(far, 16);
    far.run(64);
    EXPECT_EQ(far.hart.s.x[6], 1u);
    EXPECT_EQ(far.peek64(kData), kOld);
}

TEST_P(LrSc, LrWithNoScAfterItMakesNoReservation) {
    prepare(r);
    r.code(kBase, {lr_d(5, 10)});
    for (unsigned i = 1; i < 20; ++i) r.code(kBase + 4 * i, {kNop});
    r.code(kBase + 80, {jal_self()});
    r.run(64);
    EXPECT_EQ(r.hart.s.x[5], kOld);
    EXPECT_FALSE(r.hart.s.reservation_valid);
}

TEST_P(LrSc, CompareAndSwapWithABranchPastTheScStores) {
    compare_and_swap(r);
    expect_sc(true);
}

// An interrupt taken between the LR's block and the SC's: the handler (which masks it and
// returns) could have run anything, so the SC fails although memory still holds the value.
TEST_P(LrSc, TrapBetweenLrAndScFailsTheSc) {
    prepare(r);
    // beq x0, x0 to the next instruction ends the block: the interrupt comes before the SC.
    sequence(r, kBase, {addi(5, 5, 1), beq(0, 0, 4)});
    r.code(kHandler, {csrrw(0, csr::MIE, 0), kMret});
    r.hart.s.mtvec = kHandler;
    r.hart.s.mstatus |= csr::MSTATUS_MIE;
    r.hart.s.mie = csr::MIP_MSIP;
    r.run(3);
    ASSERT_EQ(r.hart.s.pc, kBase + 12);
    ASSERT_TRUE(r.hart.s.reservation_valid);
    r.hart.set_irq_pin(csr::MIP_MSIP, true);
    expect_sc(false);
    EXPECT_EQ(r.hart.s.mcause, csr::CAUSE_INTERRUPT | csr::IRQ_M_SOFT);
    EXPECT_EQ(r.hart.s.pc, kBase + 16);
}

TEST_P(LrSc, ConstrainedSequenceAcrossAPageEndStores) {
    across_page_end(r, {});
    expect_sc(true);
}

TEST_P(LrSc, LoadInTheNextPageFailsTheSc) {
    across_page_end(r, {ld(7, 10, 8)});
    expect_sc(false);
}

TEST_P(LrSc, ConstrainedSequenceAcrossMappedPagesStores) {
    across_mapped_pages(r, {});
    expect_sc(true, kDataPage);
    EXPECT_EQ(r.hart.s.priv, Priv::S);
}

TEST_P(LrSc, LoadInTheNextMappedPageFailsTheSc) {
    across_mapped_pages(r, {ld(7, 10, 8)});
    expect_sc(false, kDataPage);
}

// The LR cannot read what follows it (no mapping): no reservation, and no fault until the hart
// fetches from that page itself.
TEST_P(LrSc, LrBeforeAnUnmappedPageMakesNoReservationAndRaisesNothing) {
    across_mapped_pages(r, {}, false);
    r.hart.s.mtvec = kHandler;
    r.run(2);
    EXPECT_EQ(r.hart.s.x[5], kOld + 1);
    EXPECT_FALSE(r.hart.s.reservation_valid);
    EXPECT_EQ(r.hart.s.pc, 0x1000u);
    EXPECT_EQ(r.hart.s.priv, Priv::S);
    EXPECT_EQ(r.hart.s.mcause, 0u);
}

INSTANTIATE_TEST_SUITE_P(BothEngines, LrSc, ::testing::Values(Engine::Interp, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "jit" : "interp"; });

// Both engines end every program above in the same architectural state and memory.
TEST(LrScDifferential, EnginesAgreeOnEverySequence) {
    const std::vector<std::pair<const char*, std::function<void(EngineRig&)>>> programs = {
        {"constrained", constrained},
        {"load between", load_between},
        {"store between", store_between},
        {"backward branch", backward_branch_between},
        {"jalr", jalr_between},
        {"sc 16th", [](EngineRig& r) { sc_at(r, 15); }},
        {"sc 17th", [](EngineRig& r) { sc_at(r, 16); }},
        {"compare and swap", compare_and_swap},
        {"across a page end", [](EngineRig& r) { across_page_end(r, {}); }},
        {"load in the next page", [](EngineRig& r) { across_page_end(r, {ld(7, 10, 8)}); }},
        {"across mapped pages", [](EngineRig& r) { across_mapped_pages(r, {}); }},
        {"load in the next mapped page", [](EngineRig& r) { across_mapped_pages(r, {ld(7, 10, 8)}); }},
        {"unmapped next page", [](EngineRig& r) { across_mapped_pages(r, {}, false); }},
    };
    for (const auto& [name, setup] : programs) {
        // Stop right after the LR's block too, where the reservation is compared as well.
        for (const uint64_t budget : {uint64_t{2}, uint64_t{64}})
            expect_engines_agree(setup, budget, fmt::format("{}, budget {}", name, budget));
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
