// Floating point under both engines: loops of random F and D instructions on operands drawn
// from the values where IEEE 754 implementations differ (zeros, infinities, quiet and
// signaling NaNs, subnormals, the edges of the normal range and of every integer format,
// improperly NaN-boxed binary32 values), in every rounding mode (static and through frm,
// reserved ones included) and with FP switched off now and then, must leave the same
// registers, fflags, mstatus and memory, also where CSR instructions between them read and
// write fflags, frm, fcsr and sstatus. The JIT runs the common cases in host SSE and the
// rest through the interpreter's software FPU (emit_fp.cpp), so this is where the two meet.
#include <array>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "engine_rig.hpp"
#include "random_program.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;
using namespace random_program;

constexpr unsigned kSlots = 48;  // instructions per loop

constexpr std::array<uint64_t, 36> kDoubles = {
    0x0000000000000000, 0x8000000000000000,  // ±0
    0x7ff0000000000000, 0xfff0000000000000,  // ±inf
    0x7ff8000000000000, 0xfff8000000000001,  // quiet NaNs (canonical, with payload)
    0x7ff0000000000001, 0x7ff4000000000000,  // signaling NaNs
    0x0000000000000001, 0x800fffffffffffff,  // smallest and largest subnormals
    0x0010000000000000, 0x8010000000000000,  // ±smallest normal
    0x7fefffffffffffff, 0xffefffffffffffff,  // ±largest finite
    0x3ff0000000000000, 0xbff0000000000000,  // ±1
    0x3fe0000000000000, 0x4008000000000000,  // 0.5, 3
    0x3ff0000000000001, 0x3cb0000000000000,  // 1 + ulp, 2^-52
    0x43e0000000000000, 0xc3e0000000000000,  // ±2^63
    0x41dfffffffc00000, 0xc1e0000000100000,  // 2^31 - 1, -(2^31) - 0.5
    0x41efffffffe00000, 0x43f0000000000000,  // 2^32 - 1, 2^64
    0x4330000000000001, 0x3ff8000000000000,  // 2^52 + 1, 1.5
    0x4004000000000000, 0xc004000000000000,  // ±2.5 (ties in integer conversions)
    0xbfe0000000000000, 0xbfe8000000000000,  // -0.5, -0.75 (unsigned conversions' lower edges)
    0x41efffffffF00000, 0x41f0000000000000,  // 2^32 - 0.5, 2^32 (fcvt.wu's upper edges)
    0x43dfffffffffffff, 0xbff0000000000001,  // the largest double below 2^63, -(1 + ulp)
};

constexpr std::array<uint32_t, 28> kSingles = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7fa00000,
    0x00000001, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
    0x3f000000, 0x40400000, 0x4f000000, 0xcf000000, 0x3fc00000, 0x40200000,
    0xbf000000, 0xbf400000, 0x4f800000, 0x4f7fffff,  // -0.5, -0.75, 2^32, the largest below it
    0x5f000000, 0x5effffff,                          // 2^63, the largest below it
};

constexpr std::array<uint64_t, 10> kIntegers = {
    0, 1, ~0ull, 0x80000000, 0xffffffff80000000, 0x7fffffff, 0x8000000000000000, 0x7fffffffffffffff,
    0x20000000000001, 0xfffffffffffffffe,
};

class FpProgram {
public:
    // split: binary32 instructions use only f0-f15 and binary64 ones f16-f31, as compiled code
    // mostly keeps a register at one width, so that the JIT pins registers of the loop to host
    // registers (emit_fp.cpp, plan_fp_pins); otherwise any register at either width.
    explicit FpProgram(uint64_t seed, bool split = false) : m_rng(seed), m_split(split) {
        for (const OpInfo& info : op_table()) {
            const std::string_view m = mnemonic(info.op);
            if (m.starts_with('f') && !m.starts_with("fence")) m_ops.push_back(info);
        }
    }

    // A loop of FP instructions (jumping back to its start), loads and stores off the data
    // bases of random_program (the edge base makes some misaligned or page-crossing, the bad
    // base some fault).
    std::vector<uint32_t> generate() {
        std::vector<uint32_t> p;
        for (unsigned i = 0; i + 1 < kSlots; ++i) {
            // Now and then a branch over one or two instructions (on random registers, so
            // either way), which makes the loop a region of several blocks, entered in the
            // middle where a run's budget ran out (the JIT's side entries).
            if (i + 4 < kSlots && below(16) == 0) {
                unsigned a = 0, b = 0;
                do a = below(32); while (reserved(a));
                do b = below(32); while (reserved(b));
                p.push_back(enc_b(static_cast<int32_t>(4 * (2 + below(2))), b, a, 1));  // bne
                continue;
            }
            p.push_back(instruction());
        }
        p.push_back(enc_j(-static_cast<int32_t>(4 * (kSlots - 1)), 0));
        return p;
    }

    uint64_t f_value() {
        const unsigned c = below(10);
        if (c < 4) return kDoubles[below(kDoubles.size())];
        if (c < 7) return 0xffffffff00000000ull | kSingles[below(kSingles.size())];
        if (c < 8) return m_rng() << 32 | kSingles[below(kSingles.size())];  // not NaN-boxed
        if (c < 9) return 0xffffffff00000000ull | static_cast<uint32_t>(m_rng());
        return m_rng();
    }
    uint64_t x_value() { return below(2) == 0 ? kIntegers[below(kIntegers.size())] : m_rng(); }
    unsigned below(size_t n) { return static_cast<unsigned>(m_rng() % n); }
    uint64_t next() { return m_rng(); }

private:
    uint32_t instruction() {
        if (below(12) == 0) return csr_instruction();
        const OpInfo& info = m_ops[below(m_ops.size())];
        uint32_t insn = info.match | (static_cast<uint32_t>(m_rng()) & ~info.mask);
        const std::string_view m = mnemonic(info.op);
        const bool load = m == "flw" || m == "fld", store = m == "fsw" || m == "fsd";
        if (load || store) {
            const unsigned c = below(10);
            const unsigned base = c < 6 ? kDataBase : c < 9 ? kEdgeBase : kBadBase;
            const auto imm = static_cast<int32_t>(8 * below(4));
            insn = (insn & ~(0x1fu << 15)) | base << 15;
            if (store)
                insn = (insn & 0x01fff07f) | (enc_s(imm, 0, 0, 0, 0) & 0xfe000f80);
            else
                insn = (insn & 0x000fffff) | static_cast<uint32_t>(imm) << 20;
        }
        // An integer destination must not be one of the registers with a fixed role.
        if (info.dest == Dest::X) {
            unsigned rd = 0;
            do rd = below(32); while (reserved(rd));
            insn = (insn & ~(0x1fu << 7)) | rd << 7;
        }
        // Mostly the dynamic mode and RNE, which programs use; every other mode too.
        if ((info.mask & 0x7000) == 0) {
            const unsigned c = below(8);
            const uint32_t rm = c < 4 ? 7 : c < 6 ? 0 : below(8);
            insn = (insn & ~(7u << 12)) | rm << 12;
        }
        return m_split ? split_widths(insn, info.mask, m) : insn;
    }

    // The f register fields of insn (mnemonic m; mask: its fixed bits) moved to the half of the
    // file for their width.
    static uint32_t split_widths(uint32_t insn, uint32_t mask, std::string_view m) {
        // 's' or 'd' for an f register of that width, 0 for an x register or no register.
        auto width = [](std::string_view t) { return t == "s" || t == "w" ? 's' : t == "d" ? 'd' : '\0'; };
        char rd = 0, rs1 = 0, rs2 = 0, rs3 = 0;
        const size_t dot = m.find('.');
        const std::string_view name = m.substr(0, dot), rest = dot == std::string_view::npos ? "" : m.substr(dot + 1);
        const std::string_view first = rest.substr(0, rest.find('.'));
        const std::string_view second = rest.find('.') == std::string_view::npos ? "" : rest.substr(rest.find('.') + 1);
        if (m == "flw" || m == "fld") {
            rd = m == "flw" ? 's' : 'd';
        } else if (m == "fsw" || m == "fsd") {
            rs2 = m == "fsw" ? 's' : 'd';
        } else if (name == "fmv" || name == "fcvt") {  // fmv.x.w, fmv.w.x, fcvt.<to>.<from>
            auto integer = [&](std::string_view t) {
                return t == "x" || (t == "w" && name == "fcvt") || t == "wu" || t == "l" || t == "lu";
            };
            rd = integer(first) ? '\0' : width(first);
            rs1 = integer(second) ? '\0' : width(second);
        } else if (name == "fclass" || name == "feq" || name == "flt" || name == "fle") {
            rs1 = rs2 = width(first);
            if (name == "fclass") rs2 = 0;
        } else {  // arithmetic, fused, sign injection, min/max, sqrt
            rd = rs1 = rs2 = width(first);
            if ((name.starts_with("fm") && name != "fmin" && name != "fmax" && name != "fmul") || name.starts_with("fnm"))
                rs3 = rd;
        }
        auto place = [&](unsigned shift, char w) {
            if (w == 0 || (mask >> shift & 0x1f) != 0) return;
            const uint32_t r = (insn >> shift & 15) | (w == 'd' ? 16u : 0u);
            insn = (insn & ~(0x1fu << shift)) | r << shift;
        };
        place(7, rd);
        place(15, rs1);
        place(20, rs2);
        place(27, rs3);
        return insn;
    }

    // Between FP instructions, what observes or changes their flags and modes: fflags, frm and
    // fcsr read, swapped with a random register, or cleared in part, and sstatus read (its FS
    // and SD, which an FP instruction with an integer result makes Dirty only if it raised a
    // flag; the JIT reads sstatus natively). The JIT keeps native instructions' flags in the
    // host's MXCSR until something may look (emit_fp.cpp).
    uint32_t csr_instruction() {
        unsigned rd = 0;
        do rd = below(32); while (reserved(rd));
        const unsigned rs1 = below(32);
        static constexpr std::array<uint16_t, 3> kFp = {FFLAGS, FRM, FCSR};
        const uint16_t csr = kFp[below(kFp.size())];
        switch (below(5)) {
            case 0: return csrrs(rd, SSTATUS, 0);
            case 1: return csrrs(rd, csr, 0);
            case 2: return csrrw(rd, csr, rs1);
            case 3: return enc_i(static_cast<int32_t>(csr), rs1, 3, rd, 0x73);  // csrrc
            default: return enc_i(static_cast<int32_t>(csr), below(32), 5, rd, 0x73);  // csrrwi
        }
    }

    std::mt19937_64 m_rng;
    bool m_split = false;
    std::vector<OpInfo> m_ops;
};

void install(EngineRig& rig, const std::vector<uint32_t>& program, FpProgram& gen, uint64_t seed) {
    ProgramGenerator regs(seed, 16, Mix{}, Ending::Park);  // random x registers for install
    random_program::install(rig, program, regs, seed);
    HartState& s = rig.hart.s;
    for (unsigned r = 0; r < 32; ++r) s.f[r] = gen.f_value();
    for (unsigned r = 1; r < 32; ++r)
        if (!reserved(r)) s.x[r] = gen.x_value();
    for (uint64_t a = kData; a < kData + 0x2000; a += 8) rig.poke64(a, gen.f_value());
    s.frm = static_cast<uint8_t>(gen.below(2) == 0 ? 0 : gen.below(5));
}

void run_fp_differential(uint64_t seed) {
    // Every third seed translates a block after it ran twice, by when the loop's other blocks
    // are known, so the loop becomes one region entered at its blocks (its side entries).
    jit::JitConfig cfg = EngineRig::eager();
    if (seed % 3 == 0) cfg.translate_after = 2;
    EngineRig a(Engine::Interp), b(Engine::Jit, cfg);
    FpProgram gen_a(seed, seed % 2 == 0), gen_b(seed, seed % 2 == 0);
    const auto program = gen_a.generate();
    (void)gen_b.generate();
    install(a, program, gen_a, seed);
    install(b, program, gen_b, seed);
    FpProgram between(seed ^ 0xf1f1);
    for (unsigned step = 0; step < 60; ++step) {
        // Now and then the rounding mode changes (reserved values included), fflags are
        // cleared, or FP is switched off or back to Initial/Clean (no longer Dirty).
        const unsigned c = between.below(12);
        for (EngineRig* r : {&a, &b}) {
            HartState& s = r->hart.s;
            if (c == 0) s.frm = static_cast<uint8_t>(step % 8);
            if (c == 1) s.fflags = 0;
            if (c == 2) s.mstatus &= ~(MSTATUS_FS | MSTATUS_SD);
            if (c == 3) s.mstatus = (s.mstatus & ~(MSTATUS_FS | MSTATUS_SD)) | (1ull << 13);
            if (c == 4) s.mstatus |= MSTATUS_FS | MSTATUS_SD;
        }
        const uint64_t budget = 1 + between.below(3 * kSlots);
        a.run(budget);
        b.run(budget);
        const std::string d = diff_state(a.hart.s, b.hart.s);
        ASSERT_EQ(d, "") << "seed " << seed << " after run " << step << " (budget " << budget << ")";
    }
    EXPECT_TRUE(same_memory(a, b)) << "seed " << seed;
    EXPECT_EQ(a.interp->retired(), b.jit->retired()) << "seed " << seed;
}

// Every result of the loop `body` goes into a hash (x11 = x11 * x12 + result, x12 odd, so that
// any one result that differs changes it): an integer result in x10, an f result in f31
// (moved to x10 whole, NaN-boxing and all), and the flags each instruction raised (read and
// cleared after it).
constexpr uint32_t kFmvXD_x10_f31 = 0xe2000053 | 31u << 15 | 10u << 7;
constexpr uint32_t kMul_x11 = 0x02000033 | 12u << 20 | 11u << 15 | 11u << 7;  // mul x11, x11, x12
constexpr uint32_t kAdd_x11 = 0x00000033 | 10u << 20 | 11u << 15 | 11u << 7;  // add x11, x11, x10
constexpr uint32_t kSwapFlags_x10 = 0x00001073 | 1u << 20 | 10u << 7;          // csrrw x10, fflags, x0

// `body` as a loop run three times round under both engines, from f registers holding
// `values` (f31 is the destination) and with frm as given.
void run_loop(std::vector<uint32_t> body, std::span<const uint64_t> values, uint8_t frm) {
    body.push_back(enc_j(-static_cast<int32_t>(4 * body.size()), 0));
    EngineRig a(Engine::Interp), b(Engine::Jit);
    for (EngineRig* r : {&a, &b}) {
        ProgramGenerator regs(7, 16, Mix{}, Ending::Park);
        random_program::install(*r, body, regs, 7);
        for (unsigned i = 0; i < 31; ++i) r->hart.s.f[i] = values[i % values.size()];
        r->hart.s.x[11] = 0;
        r->hart.s.x[12] = 0x9e3779b97f4a7c15;
        r->hart.s.frm = frm;
        r->hart.s.fflags = 0;
    }
    a.run(3 * body.size());
    b.run(3 * body.size());
    ASSERT_EQ(diff_state(a.hart.s, b.hart.s), "") << "frm " << unsigned{frm};
}

// The operations the JIT runs natively behind run-time checks of their operands' values:
// fmin/fmax (NaNs, equal values and ±0) and the unsigned conversions (the edges of their
// range, which depend on the rounding mode), over every pair or every one of the edge values,
// in RNE and RTZ, static and through frm. The random loops reach a given pair too rarely.
TEST(JitFpDifferential, MinMaxAndUnsignedConversionsAtTheEdges) {
    std::vector<uint64_t> doubles(kDoubles.begin(), kDoubles.end()), singles;
    for (const uint32_t v : kSingles) singles.push_back(0xffffffff00000000ull | v);
    const auto f = [](uint32_t match, unsigned rs1, unsigned rs2, unsigned rm, unsigned rd) {
        return match | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7;
    };
    for (const bool single : {true, false}) {
        const std::vector<uint64_t>& values = single ? singles : doubles;
        for (size_t first = 0; first < values.size(); first += 31) {
            const std::span<const uint64_t> window(values.begin() + static_cast<ptrdiff_t>(first),
                                                   std::min<size_t>(31, values.size() - first));
            for (const uint32_t minmax : {single ? 0x28000053u : 0x2a000053u, single ? 0x28001053u : 0x2a001053u}) {
                std::vector<uint32_t> body;
                for (unsigned i = 0; i < 31; ++i) {
                    for (unsigned j = 0; j < 31; ++j) {
                        body.insert(body.end(), {f(minmax, i, j, 0, 31), kFmvXD_x10_f31, kMul_x11, kAdd_x11,
                                                 kSwapFlags_x10, kMul_x11, kAdd_x11});
                    }
                }
                run_loop(body, window, 0);
                if (::testing::Test::HasFailure()) return;
            }
            for (const uint32_t convert : {single ? 0xc0100053u : 0xc2100053u, single ? 0xc0300053u : 0xc2300053u}) {
                for (const unsigned rm : {0u, 1u, 7u}) {
                    std::vector<uint32_t> body;
                    for (unsigned i = 0; i < 31; ++i)
                        body.insert(body.end(), {f(convert, i, 0, rm, 10), kMul_x11, kAdd_x11, kSwapFlags_x10, kMul_x11, kAdd_x11});
                    for (const uint8_t frm : {uint8_t{0}, uint8_t{1}}) {
                        if (rm != 7 && frm != 0) continue;
                        run_loop(body, window, frm);
                        if (::testing::Test::HasFailure()) return;
                    }
                }
            }
        }
    }
}

TEST(JitFpDifferential, RandomFloatingPointLoopsMatchTheInterpreter) {
    for (uint64_t seed = 1; seed <= 400; ++seed) {
        run_fp_differential(seed);
        if (::testing::Test::HasFailure()) return;
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
