// Lazy sign extension (Emitter: a W instruction's result is sign-extended only when something
// uses more than its low 32 bits): random straight runs of W instructions, AND/OR/XOR (register
// and immediate forms) and the instructions that read all 64 bits (ADD, SLT, 64-bit shifts,
// stores, branches, loads over the same registers) on a few registers, so that lazy values meet
// every kind of use, are evicted from the register cache and reach block ends. Lazy values
// stay lazy across the instructions that do not read them (loads, stores, 64-bit arithmetic),
// so misaligned accesses (always the slow path, which stores every register for its helper)
// and narrow stores of lazy values are in the mix too. Every engine state must match the
// interpreter's, run whole and in small slices.
#include <random>
#include <vector>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kData = kBase + 0x10000;  // x5 points here: the stores' and loads' area
constexpr unsigned kLen = 300;
constexpr uint64_t kTrap = kBase + 0x8000;  // mtvec: on past the faulting instruction
constexpr uint64_t kNoRam = 0x1000;         // x7 points here: no memory, an access fault

uint32_t op(uint32_t f7, uint32_t f3, uint32_t rd, uint32_t rs1, uint32_t rs2) {
    return enc_r(f7, rs2, rs1, f3, rd, 0x33);
}
uint32_t op32(uint32_t f7, uint32_t f3, uint32_t rd, uint32_t rs1, uint32_t rs2) {
    return enc_r(f7, rs2, rs1, f3, rd, 0x3b);
}
uint32_t op_imm(uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, f3, rd, 0x13); }
uint32_t op_imm32(uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, f3, rd, 0x1b); }

// One random instruction over x10..x17 (more registers than the cache holds in a lone block,
// so values are evicted), x5 being the data pointer.
uint32_t random_insn(std::mt19937_64& rng, unsigned left) {
    auto reg = [&] { return 10 + static_cast<uint32_t>(rng() % 8); };
    const uint32_t rd = reg(), a = reg(), b = reg();
    const auto shamt5 = static_cast<int32_t>(rng() % 32), shamt6 = static_cast<int32_t>(rng() % 64);
    const auto imm = static_cast<int32_t>(rng() % 4096) - 2048;
    const auto odd = static_cast<int32_t>(1 + rng() % 7);  // a misaligned offset
    switch (rng() % 30) {
        case 0: return op32(0, 0, rd, a, b);                    // addw
        case 1: return op32(0x20, 0, rd, a, b);                 // subw
        case 2: return op_imm32(0, rd, a, imm);                 // addiw
        case 3: return op_imm32(1, rd, a, shamt5);              // slliw
        case 4: return op_imm32(5, rd, a, shamt5);              // srliw
        case 5: return op_imm32(5, rd, a, 0x400 | shamt5);      // sraiw
        case 6: return op32(0, 1, rd, a, b);                    // sllw
        case 7: return op32(0, 5, rd, a, b);                    // srlw
        case 8: return op32(0x20, 5, rd, a, b);                 // sraw
        case 9: case 10: return op(0, 7, rd, a, b);             // and
        case 11: case 12: return op(0, 6, rd, a, b);            // or
        case 13: case 14: return op(0, 4, rd, a, b);            // xor
        case 15: return op_imm(7, rd, a, imm);                  // andi
        case 16: return op_imm(6, rd, a, imm);                  // ori
        case 17: return op_imm(4, rd, a, imm);                  // xori
        case 18: return rng() % 2 ? op(0, 0, rd, a, b) : op(0, 3, rd, a, b);  // add, sltu
        case 19: return rng() % 2 ? op_imm(5, rd, a, shamt6) : op_imm(0, rd, a, 0);  // srli, mv
        case 20: return rng() % 2 ? sd(a, 5, 8 * static_cast<int32_t>(rng() % 32))
                                  : sw(a, 5, 4 * static_cast<int32_t>(rng() % 64));
        case 21: return ld(rd, 5, 8 * static_cast<int32_t>(rng() % 32));
        case 22: return op_imm32(0, rd, a, 0);                  // sext.w
        case 23: return rng() % 2 ? op(1, 0, rd, a, b) : op(0x20, 5, rd, a, b);  // mul, sra
        case 24: return rng() % 2 ? op(0x20, 0, rd, a, b) : op(0, 1, rd, a, b);  // sub, sll
        case 25: return rng() % 2 ? ld(rd, 5, 8 * static_cast<int32_t>(rng() % 31) + odd)
                                  : lw(rd, 5, 4 * static_cast<int32_t>(rng() % 62) + odd);
        case 26: return rng() % 2 ? sd(a, 5, 8 * static_cast<int32_t>(rng() % 31) + odd)
                                  : sw(a, 5, 4 * static_cast<int32_t>(rng() % 62) + odd);
        case 27: return enc_s(static_cast<int32_t>(rng() % 255), a, 5, rng() % 2, 0x23);  // sb, sh
        case 28: return enc_i(static_cast<int32_t>(rng() % 250), 5, rng() % 2 ? 0 : 5, rd, 0x03);  // lb, lhu
        case 29: return rng() % 2 ? ld(rd, 7, 0) : sw(a, 7, 0);  // access faults (kTrap goes on)
        default:
            // beq a, b over the next instruction (ends the block; compares all 64 bits).
            return left > 2 ? enc_b(8, b, a, 0) : op(0, 6, rd, a, b);
    }
}

// A load or store that takes the slow path and succeeds (misaligned) or faults (no RAM at
// x7), into or from a random register among x10..x17 (the fault's store takes x5's value).
uint32_t slow_access(std::mt19937_64& rng) {
    const uint32_t r = 10 + static_cast<uint32_t>(rng() % 8);
    const auto odd = static_cast<int32_t>(1 + rng() % 7);
    switch (rng() % 4) {
        case 0: return ld(r, 7, 0);
        case 1: return sw(5, 7, 0);
        case 2: return ld(r, 5, 8 * static_cast<int32_t>(rng() % 31) + odd);
        default: return lw(r, 5, 4 * static_cast<int32_t>(rng() % 62) + odd);
    }
}

// A rotate as compilers write it without Zbb, `srliw a, x, n; slliw b, x, 32 - n;
// or rd, a, b` (or its 64-bit form, the shifts and the OR's operands in either order, random
// instructions perhaps in between), which the emitter turns into one host rotate when nothing
// else sees a and b (Emitter::plan_rotations): the random instructions around it read them,
// overwrite them, write x or fault, so it is fused or not.
void push_rotation(std::mt19937_64& rng, std::vector<uint32_t>& p) {
    auto reg = [&] { return 10 + static_cast<uint32_t>(rng() % 8); };
    const uint32_t x = reg(), a = reg(), b = reg(), rd = rng() % 2 ? a : reg();
    if (a == b || a == x) return;
    const bool word = rng() % 2;
    const int32_t bits = word ? 32 : 64;
    const auto n = static_cast<int32_t>(1 + rng() % static_cast<uint64_t>(bits - 1));
    const uint32_t right = word ? op_imm32(5, a, x, n) : op_imm(5, a, x, n);
    const uint32_t left = word ? op_imm32(1, b, x, bits - n) : op_imm(1, b, x, bits - n);
    // Compilers schedule other work in between, loads and stores among it, whose slow paths
    // must then store the shifts' results (a trap handler may look at them).
    auto between = [&] {
        if (rng() % 2) p.push_back(rng() % 3 == 0 ? slow_access(rng) : random_insn(rng, 0));
    };
    const bool right_first = rng() % 2;
    p.push_back(right_first ? right : left);
    between();
    p.push_back(right_first ? left : right);
    between();
    p.push_back(rng() % 2 ? op(0, 6, rd, a, b) : op(0, 6, rd, b, a));
    if (rng() % 2) {  // a or b still holding its shift's result at an access, then overwritten
        p.push_back(slow_access(rng));
        p.push_back(op_imm(0, rng() % 2 ? a : b, 0, 1));
    }
}

std::vector<uint32_t> random_program(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint32_t> p;
    while (p.size() < kLen) {
        if (rng() % 8 == 0)
            push_rotation(rng, p);
        else
            p.push_back(random_insn(rng, kLen - static_cast<unsigned>(p.size())));
    }
    p.push_back(jal_self());
    return p;
}

void setup(EngineRig& r, const std::vector<uint32_t>& program, uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0xa5a5);
    for (unsigned x = 10; x < 18; ++x) {
        // Values that are the sign extension of their low half and values that are not.
        const uint64_t v = rng();
        r.hart.s.x[x] = rng() % 2 ? v : static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
    }
    r.hart.s.x[5] = kData;
    r.hart.s.x[7] = kNoRam;
    for (uint64_t i = 0; i < 256; i += 8) r.poke64(kData + i, rng());
    for (size_t i = 0; i < program.size(); ++i) r.poke32(kBase + 4 * i, program[i]);
    r.hart.s.mtvec = kTrap;
    r.code(kTrap, {
                      enc_i(0x341, 0, 2, 6, 0x73),  // csrr x6, mepc
                      addi(6, 6, 4),
                      enc_i(0x341, 6, 1, 0, 0x73),  // csrw mepc, x6
                      0x30200073,                   // mret
                  });
}

TEST(LazySignExtension, RandomRunsOfWordAndBitwiseInstructionsMatchTheInterpreter) {
    for (uint64_t seed = 1; seed <= 150; ++seed) {
        const std::vector<uint32_t> program = random_program(seed);
        auto s = [&](EngineRig& r) { setup(r, program, seed); };
        expect_engines_agree(s, 2000, fmt::format("seed {}", seed));
        expect_engines_agree_by_slices(s, 1 + seed % 7, 40);
        if (::testing::Test::HasFailure()) return;
    }
}

// The same instructions in a loop region (its registers stay in the cache from one iteration
// to the next, so lazy values reach the loop's back edge).
TEST(LazySignExtension, ALoopOfHashSteps) {
    auto program = [](EngineRig& r) {
        r.hart.s.x[10] = 0x123456789abcdef0;
        r.hart.s.x[11] = 0xfedcba9876543210;
        r.hart.s.x[12] = 0;
        r.hart.s.x[13] = 200;
        r.hart.s.x[5] = kData;
        r.code(kBase, {
                          op_imm32(1, 14, 10, 7),        // loop: slliw x14, x10, 7
                          op_imm32(5, 15, 10, 25),       //       srliw x15, x10, 25
                          op(0, 6, 14, 14, 15),          //       or    x14, x14, x15  (rotate)
                          op(0, 4, 11, 11, 14),          //       xor   x11, x11, x14
                          op32(0, 0, 10, 10, 11),        //       addw  x10, x10, x11
                          op_imm(4, 11, 11, 0x5a5),      //       xori  x11, x11, 0x5a5
                          op(0, 0, 12, 12, 11),          //       add   x12, x12, x11   (all 64 bits)
                          sd(11, 5, 0),                  //       sd    x11, 0(x5)
                          addi(13, 13, -1),              //       addi  x13, x13, -1
                          bne(13, 0, -36),               //       bne   x13, x0, loop
                          jal_self(),
                      });
    };
    expect_engines_agree(program, 100000, "the loop");
    expect_engines_agree_by_slices(program, 13, 60);
}

}  // namespace
}  // namespace trapeze::rv64::test
