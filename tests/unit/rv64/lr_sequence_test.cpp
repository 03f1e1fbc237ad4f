// Which LRs start a constrained LR/SC sequence (rv64/isa/lr_sequence.hpp, unpriv spec §8.3):
// classify_lr on the code after an LR, and the verdicts the code cache keeps in its blocks.
#include <vector>

#include "hart_fixture.hpp"
#include "rv64/interp/code_cache.hpp"
#include "rv64/interp/single_step.hpp"
#include "rv64/isa/decoder.hpp"
#include "rv64/isa/lr_sequence.hpp"

namespace trapeze::rv64::test {
namespace {

inline uint32_t sc_w(uint32_t rd, uint32_t rs2, uint32_t rs1) { return enc_r(0x0c, rs2, rs1, 2, rd, 0x2f); }
inline uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 0); }
inline uint32_t jal(uint32_t rd, int32_t off) { return enc_j(off, rd); }
inline uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x67); }
inline uint32_t mul(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(1, rs2, rs1, 0, rd, 0x33); }
inline uint32_t max(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(5, rs2, rs1, 6, rd, 0x33); }
inline uint32_t fadd_d(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(1, rs2, rs1, 7, rd, 0x53); }
inline uint32_t flw(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 2, rd, 0x07); }
constexpr uint32_t kFence = 0x0ff0000f;       // fence iorw, iorw
constexpr uint32_t kCboZero = 0x0040200f;     // cbo.zero (x0)
constexpr uint32_t kCsrrCycle = 0xc00022f3;   // csrrs x5, cycle, x0
constexpr uint16_t kCAddi = 0x0505;           // c.addi a0, 1
constexpr uint16_t kCBnez = 0xe111;           // c.bnez a0, +4 (over the next compressed instruction)
constexpr uint16_t kCJr = 0x8082;             // c.jr ra (ret)
constexpr uint16_t kCLd = 0x6108;             // c.ld a0, 0(a0)

// The parcels of `insns` (32-bit ones, or 16-bit ones given below 0x10000 with low bits != 3).
std::vector<uint16_t> parcels(std::initializer_list<uint32_t> insns) {
    std::vector<uint16_t> out;
    for (uint32_t i : insns) {
        out.push_back(static_cast<uint16_t>(i));
        if ((i & 3) == 3) out.push_back(static_cast<uint16_t>(i >> 16));
    }
    return out;
}

// The verdict for a 4-byte LR followed by `insns`, all readable.
int32_t after_lr(std::initializer_list<uint32_t> insns) { return classify_lr(4, parcels(insns), -99); }

TEST(LrSequence, ScRightAfterTheLrIsConstrained) {
    EXPECT_EQ(after_lr({sc_d(6, 5, 10)}), 4);
}

TEST(LrSequence, ComputationBetweenLrAndScIsConstrained) {
    EXPECT_EQ(after_lr({addi(5, 5, 1), mul(5, 5, 5), max(5, 5, 6), fadd_d(1, 2, 3), sc_w(6, 5, 10)}), 20);
    EXPECT_EQ(after_lr({kCAddi, sc_d(6, 5, 10)}), 6);
}

TEST(LrSequence, MemoryAccessesFencesAndSystemInstructionsBetweenAreUnconstrained) {
    for (uint32_t insn : {ld(7, 10, 8), sd(0, 10, 8), amoadd_w(0, 5, 10), lr_d(7, 11), flw(1, 10, 0), kFence,
                          kCboZero, kCsrrCycle, kEcall, kWfi, uint32_t{kCLd}})
        EXPECT_EQ(after_lr({insn, sc_d(6, 5, 10)}), kLrUnconstrained) << disassemble(decode(insn));
}

TEST(LrSequence, JumpsBetweenGoForwardOrLeaveTheSequence) {
    EXPECT_EQ(after_lr({beq(5, 6, 8), addi(5, 5, 1), sc_d(6, 5, 10)}), 12);  // to the SC
    EXPECT_EQ(after_lr({jal(0, 8), addi(5, 5, 1), sc_d(6, 5, 10)}), 12);     // j to the SC
    EXPECT_EQ(after_lr({kCBnez, kCAddi, sc_d(6, 5, 10)}), 8);                // c.bnez over a c.addi
    EXPECT_EQ(after_lr({bne(5, 6, 12), sc_d(6, 5, 10), bne(6, 0, -12)}), 8);  // cmpxchg: out past the SC
    EXPECT_EQ(after_lr({bne(5, 6, -4), sc_d(6, 5, 10)}), 8);                 // back to the LR
    EXPECT_EQ(after_lr({beq(5, 6, 8), jal(0, -0x100), sc_d(6, 5, 10)}), 12);  // `j fail` before it
    // A loop between LR and SC (§8.3: no taken backward branch), even one never taken.
    EXPECT_EQ(after_lr({addi(5, 5, 1), bne(5, 0, -4), sc_d(6, 5, 10)}), kLrUnconstrained);
    EXPECT_EQ(after_lr({beq(0, 0, 0), sc_d(6, 5, 10)}), kLrUnconstrained);  // to itself
    EXPECT_EQ(after_lr({jal(1, 8), addi(5, 5, 1), sc_d(6, 5, 10)}), kLrUnconstrained);     // a call
    EXPECT_EQ(after_lr({jalr(0, 12, 0), sc_d(6, 5, 10)}), kLrUnconstrained);
    EXPECT_EQ(after_lr({uint32_t{kCJr}, sc_d(6, 5, 10)}), kLrUnconstrained);
    // Into the middle of the addi: what runs there is not what was scanned.
    EXPECT_EQ(after_lr({beq(5, 6, 6), addi(5, 5, 1), sc_d(6, 5, 10)}), kLrUnconstrained);
}

TEST(LrSequence, TheScMustBeAmongTheSixteenInstructionsOfALoop) {
    std::vector<uint16_t> code;
    for (unsigned i = 0; i < 14; ++i) code.insert(code.end(), {static_cast<uint16_t>(kNop), 0});
    std::vector<uint16_t> seventeen = code;
    seventeen.insert(seventeen.end(), {static_cast<uint16_t>(kNop), 0});
    for (auto* c : {&code, &seventeen}) {
        const uint32_t sc = sc_d(6, 5, 10);
        c->insert(c->end(), {static_cast<uint16_t>(sc), static_cast<uint16_t>(sc >> 16)});
    }
    EXPECT_EQ(classify_lr(4, code, -99), 4 + 14 * 4);  // LR, 14 between, SC: 16 in all
    EXPECT_EQ(classify_lr(4, seventeen, -99), kLrUnconstrained);
}

TEST(LrSequence, AnLrWithNoScIsUnconstrained) {
    std::vector<uint16_t> code(kLrScScanBytes / 2, static_cast<uint16_t>(kCAddi));
    EXPECT_EQ(classify_lr(4, code, -99), kLrUnconstrained);
}

TEST(LrSequence, CodeThatEndsBeforeTheScanGivesTheCallersVerdict) {
    EXPECT_EQ(classify_lr(4, parcels({addi(5, 5, 1)}), kLrUndecided), kLrUndecided);
    auto half = parcels({addi(5, 5, 1), sc_d(6, 5, 10)});
    half.pop_back();  // the SC's upper half is missing
    EXPECT_EQ(classify_lr(4, half, kLrUnconstrained), kLrUnconstrained);
    // A load before the end decides it whatever lies beyond.
    EXPECT_EQ(classify_lr(4, parcels({ld(7, 10, 0)}), kLrUndecided), kLrUnconstrained);
}

TEST(LrSequence, DecodeLeavesEveryLrUndecided) {
    EXPECT_EQ(decode(lr_d(5, 10)).imm, kLrUndecided);
    EXPECT_EQ(decode(enc_r(0x08, 0, 10, 2, 5, 0x2f)).imm, kLrUndecided);  // lr.w
}

// The code cache classifies from the LR's own page, past the LR's block (the SC usually
// follows a branch), and leaves undecided a sequence that reaches the page end.
TEST(LrSequence, CodeCacheClassifiesLrsFromTheirPage) {
    constexpr uint64_t kAt = 0x80000000;
    GuestMemory m = GuestMemory::create(Gpa(kAt), 1 << 20).value();
    auto code = [&](uint64_t at, std::initializer_list<uint32_t> insns) {
        for (uint32_t i : insns) {
            store_le<uint32_t>(m.span(Gpa(at), 4).data(), i);
            at += 4;
        }
    };
    code(kAt, {lr_d(5, 10), bne(5, 11, 12), sc_d(6, 12, 10), bne(6, 0, -12), jal_self()});
    code(kAt + 0x100, {lr_d(5, 10), ld(7, 10, 0), sc_d(6, 12, 10), jal_self()});
    code(kAt + 0xff8, {addi(5, 5, 0), lr_d(5, 10)});
    code(kAt + 0x1000, {sc_d(6, 5, 10)});
    interp::CodeCache cache(m);
    MmioBus bus;
    GuestClock clock;
    Hart h(HartConfig{0, true}, m, bus, clock);
    cache.attach(h);
    EXPECT_EQ(cache.build(kAt, h)->insns[0].imm, 8);
    EXPECT_EQ(cache.build(kAt + 0x100, h)->insns[0].imm, kLrUnconstrained);
    EXPECT_EQ(cache.build(kAt + 0xff8, h)->insns[1].imm, kLrUndecided);
}

// The debugger's single step decodes instructions alone: each LR classifies itself.
TEST_F(HartTest, SingleSteppedLrScStoresOnlyWithoutMemoryAccessesBetween) {
    for (const bool load : {false, true}) {
        poke64(kBase + 0x800, 5);
        hart.s.x[10] = kBase + 0x800;
        code(kBase, {lr_d(5, 10), load ? ld(7, 10, 8) : addi(5, 5, 1), sc_d(6, 5, 10), jal_self()});
        hart.s.pc = kBase;
        for (int i = 0; i < 3; ++i) ASSERT_EQ(interp::step_instruction(hart, false), interp::StepOutcome::Retired);
        EXPECT_EQ(hart.s.x[6], load ? 1u : 0u) << (load ? "load" : "addi");
        EXPECT_EQ(peek64(kBase + 0x800), load ? 5u : 6u) << (load ? "load" : "addi");
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
