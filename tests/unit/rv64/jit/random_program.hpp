// The random-program generator and its M-mode setup, shared by the JIT and snapshot differential tests.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "engine_rig.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::test::random_program {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kHandler = kBase + 0x8000;
constexpr uint64_t kData = kBase + 0x10000;  // two data pages
constexpr uint64_t kRoot = kBase + 0x20000;  // Sv39 root table

// Registers with fixed roles; random instructions never write them.
constexpr unsigned kBadBase = 6;    // outside RAM and devices: access faults
constexpr unsigned kCodeBase = 7;   // the program itself: self-modifying stores
constexpr unsigned kDataBase = 8;   // aligned, inside the first data page
constexpr unsigned kEdgeBase = 9;   // just below the page boundary between the data pages
constexpr unsigned kSmcValue = 27;
constexpr unsigned kHandlerA = 30, kHandlerB = 31;
// The link of a jump into the bad base's page (Mix::fetch): a handler of the fetch fault
// returns there. Random instructions may write it too.
constexpr unsigned kFetchLink = 5;

inline bool reserved(unsigned r) {
    return r == kBadBase || r == kCodeBase || r == kDataBase || r == kEdgeBase || r == kSmcValue ||
           r == kHandlerA || r == kHandlerB;
}

inline uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
inline uint32_t csrrs(uint32_t rd, uint32_t csr, uint32_t rs1) {
    return enc_i(static_cast<int32_t>(csr), rs1, 2, rd, 0x73);
}
inline uint32_t csrrw(uint32_t rd, uint32_t csr, uint32_t rs1) {
    return enc_i(static_cast<int32_t>(csr), rs1, 1, rd, 0x73);
}
inline uint32_t csrrci(uint32_t rd, uint32_t csr, uint32_t uimm) {
    return enc_i(static_cast<int32_t>(csr), uimm, 7, rd, 0x73);
}
constexpr uint32_t kMret = 0x30200073;
constexpr uint32_t kPark = 0x0000006f;  // j .

enum class Kind { Plain, Load, Store, Atomic, Cbo, Other };

inline Kind kind_of(Op op) {
    switch (op) {
        case Op::lb: case Op::lh: case Op::lw: case Op::ld: case Op::lbu: case Op::lhu: case Op::lwu:
        case Op::flw: case Op::fld:
            return Kind::Load;
        case Op::sb: case Op::sh: case Op::sw: case Op::sd: case Op::fsw: case Op::fsd:
            return Kind::Store;
        case Op::cbo_inval: case Op::cbo_clean: case Op::cbo_flush: case Op::cbo_zero:
            return Kind::Cbo;
        case Op::jal: case Op::jalr: case Op::beq: case Op::bne: case Op::blt:
        case Op::bge: case Op::bltu: case Op::bgeu: case Op::ecall: case Op::ebreak: case Op::mret:
        case Op::sret: case Op::wfi: case Op::csrrw: case Op::csrrs: case Op::csrrc: case Op::csrrwi:
        case Op::csrrsi: case Op::csrrci: case Op::invalid:
            return Kind::Other;
        default:
            break;
    }
    const std::string_view m = mnemonic(op);
    if (m.starts_with("lr.") || m.starts_with("sc.") || m.starts_with("amo")) return Kind::Atomic;
    return Kind::Plain;
}

// A CSR the programs access, and how: read it (csrrs rd, csr, x0), or half the time write it
// instead: swap it with a random register (csrrw), or clear SIE in it (csrrci rd, csr, 2).
struct CsrUse {
    enum How : uint8_t { Read, Swap, ClearSie };
    uint16_t num;
    How how = Read;
};

// The CSRs of programs that run in M-mode (or S-mode, where all of them trap).
inline constexpr CsrUse kMachineCsrs[] = {{csr::MINSTRET}, {csr::MCYCLE}, {csr::MSCRATCH, CsrUse::Swap}, {csr::MCAUSE},
                                          {csr::MEPC},     {csr::MSTATUS}, {csr::INSTRET}};

// What a program is made of: each construct is picked when a draw c in [0, 100) is below its
// bound and not below the previous one (a bound equal to the previous one leaves it out).
struct Mix {
    unsigned plain, load, store, atomic, cbo, branch, jal, jalr, csr, smc;
    unsigned fetch = 0;  // jumps into the bad base's page (0: none); the rest: traps
    unsigned jal_reach;  // a jal skips 0 .. jal_reach - 1 instructions
    std::span<const CsrUse> csrs = kMachineCsrs;
};

// How a program ends: parked in `j .` (it runs to its end and stays there), or jumping back
// to its first instruction (it runs as long as asked).
enum class Ending { Park, LoopBack };

class ProgramGenerator {
public:
    ProgramGenerator(uint64_t seed, unsigned slots, const Mix& mix, Ending ending)
        : m_rng(seed), m_slots(slots), m_mix(mix), m_ending(ending) {
        for (const OpInfo& info : op_table()) m_by_kind[static_cast<size_t>(kind_of(info.op))].push_back(info);
    }

    // Control transfers only go forward, and only to the start of a construct (never into
    // the middle of a multi-instruction sequence), so every program reaches its last slot.
    std::vector<uint32_t> generate() {
        std::vector<uint32_t> p(m_slots, addi(0, 0, 0));
        m_starts.assign(m_slots, false);
        m_fixups.clear();
        for (unsigned i = 0; i + 8 < m_slots;) {
            m_starts[i] = true;
            i += emit(p, i);
        }
        m_starts[m_slots - 1] = true;
        p.back() = m_ending == Ending::Park ? kPark : enc_j(-static_cast<int32_t>(4 * (m_slots - 1)), 0);
        for (const Fixup& f : m_fixups) {
            unsigned t = f.slot + f.distance;
            while (!m_starts[t]) ++t;
            const auto off = static_cast<int32_t>(4 * (t - f.slot));
            if (f.kind == 0) p[f.slot] = enc_b(off, p[f.slot] >> 20 & 31, p[f.slot] >> 15 & 31, p[f.slot] >> 12 & 7);
            if (f.kind == 1) p[f.slot] = enc_j(off, p[f.slot] >> 7 & 31);
            if (f.kind == 2) p[f.slot] = enc_i(static_cast<int32_t>(4 * t), kCodeBase, 0, p[f.slot] >> 7 & 31, 0x67);
        }
        return p;
    }

    uint64_t next() { return m_rng(); }
    unsigned below(unsigned n) { return static_cast<unsigned>(m_rng() % n); }

private:
    unsigned free_reg() {
        for (;;) {
            const unsigned r = below(32);
            if (!reserved(r)) return r;
        }
    }
    uint32_t random_of(Kind k) {
        const auto& v = m_by_kind[static_cast<size_t>(k)];
        const OpInfo& info = v[below(static_cast<unsigned>(v.size()))];
        return info.match | (static_cast<uint32_t>(m_rng()) & ~info.mask);
    }
    static uint32_t with_rd(uint32_t insn, unsigned rd) { return (insn & ~(0x1fu << 7)) | rd << 7; }
    static uint32_t with_rs1(uint32_t insn, unsigned rs1) { return (insn & ~(0x1fu << 15)) | rs1 << 15; }
    uint32_t with_imm12(uint32_t insn, bool store, int32_t imm) {
        if (store) return (insn & 0x01fff07f) | (enc_s(imm, 0, 0, 0, 0) & 0xfe000f80);
        return (insn & 0x000fffff) | (static_cast<uint32_t>(imm) & 0xfff) << 20;
    }
    unsigned base_reg() {
        const unsigned c = below(10);
        return c < 5 ? kDataBase : c < 9 ? kEdgeBase : kBadBase;
    }

    // Emits one construct at slot i; returns how many slots it used.
    unsigned emit(std::vector<uint32_t>& p, unsigned i) {
        using namespace csr;
        const unsigned c = below(100);
        if (c < m_mix.plain) {
            p[i] = with_rd(random_of(Kind::Plain), free_reg());
            return 1;
        }
        if (c < m_mix.store) {  // loads and stores around the data bases, some faulting
            const bool store = c >= m_mix.load;
            uint32_t insn = random_of(store ? Kind::Store : Kind::Load);
            if (!store) insn = with_rd(insn, free_reg());
            p[i] = with_imm12(with_rs1(insn, base_reg()), store, static_cast<int32_t>(below(24)) - 12);
            return 1;
        }
        if (c < m_mix.atomic) {  // atomics on the aligned base (sometimes misaligned by the edge base)
            p[i] = with_rs1(with_rd(random_of(Kind::Atomic), free_reg()), below(4) == 0 ? kEdgeBase : kDataBase);
            return 1;
        }
        if (c < m_mix.cbo) {
            p[i] = with_rs1(random_of(Kind::Cbo), kDataBase);
            return 1;
        }
        if (c < m_mix.branch) {  // forward branch over 0..3 instructions
            const uint32_t f3s[] = {0, 1, 4, 5, 6, 7};
            p[i] = enc_b(0, below(32), below(32), f3s[below(6)]);
            m_fixups.push_back({i, 1 + below(4), 0});
            return 1;
        }
        if (c < m_mix.jal) {
            p[i] = enc_j(0, below(2) == 0 ? 0 : free_reg());
            m_fixups.push_back({i, 1 + below(m_mix.jal_reach), 1});
            return 1;
        }
        if (c < m_mix.jalr) {  // indirect jump forward, off the code base register
            p[i] = enc_i(0, kCodeBase, 0, below(2) == 0 ? 0 : free_reg(), 0x67);
            m_fixups.push_back({i, 1 + below(3), 2});
            return 1;
        }
        if (c < m_mix.csr) {  // CSR accesses, including the counters
            const CsrUse use = m_mix.csrs[below(static_cast<unsigned>(m_mix.csrs.size()))];
            if (use.how == CsrUse::Read || below(2) != 0)
                p[i] = csrrs(free_reg(), use.num, 0);
            else if (use.how == CsrUse::Swap)
                p[i] = csrrw(free_reg(), use.num, below(32));
            else
                p[i] = csrrci(free_reg(), use.num, MSTATUS_SIE);
            return 1;
        }
        if (c < m_mix.smc) {  // self-modifying: rewrite a later slot of this construct with an addi
            const unsigned gap = below(4);
            const unsigned target = i + 3 + gap;
            for (unsigned k = 0; k < gap; ++k) p[i + 3 + k] = with_rd(random_of(Kind::Plain), free_reg());
            const uint32_t insn = addi(free_reg(), below(32), static_cast<int32_t>(below(2048)));
            const auto hi = static_cast<int32_t>((insn + 0x800) >> 12);
            const int32_t lo = static_cast<int32_t>(insn & 0xfff) - ((insn & 0x800) != 0 ? 0x1000 : 0);
            p[i] = (static_cast<uint32_t>(hi) << 12) | kSmcValue << 7 | 0x37;  // lui
            p[i + 1] = enc_i(lo, kSmcValue, 0, kSmcValue, 0x1b);               // addiw
            p[i + 2] = enc_s(static_cast<int32_t>(4 * target), kSmcValue, kCodeBase, 2, 0x23);
            return 4 + gap;
        }
        if (c < m_mix.fetch) {  // jalr kFetchLink, off(kBadBase): a fetch fault at the target
            p[i] = enc_i(static_cast<int32_t>(4 * below(8)), kBadBase, 0, kFetchLink, 0x67);
            return 1;
        }
        const uint32_t traps[] = {0x00000073 /* ecall */, 0x00100073 /* ebreak */, 0 /* illegal */,
                                  0x12000073 /* sfence.vma */, 0x0000100f /* fence.i */};
        p[i] = traps[below(5)];
        return 1;
    }

    struct Fixup {
        unsigned slot;
        unsigned distance;  // at least this many slots ahead
        int kind;           // 0 branch, 1 jal, 2 jalr
    };

    std::mt19937_64 m_rng;
    unsigned m_slots;
    Mix m_mix;
    Ending m_ending;
    std::vector<OpInfo> m_by_kind[6];
    std::vector<bool> m_starts;
    std::vector<Fixup> m_fixups;
};

// Writes the program at kBase and the M-mode trap handler (an exception skips its instruction;
// an interrupt returns to where it was taken), fills the data pages from `seed`, and gives the
// registers random values (from `gen`, after it generated the program) and their fixed roles;
// the hart starts at kBase in M-mode with FP enabled (dirty), so F/D instructions execute.
inline void install(EngineRig& rig, const std::vector<uint32_t>& program, ProgramGenerator& gen, uint64_t seed) {
    using namespace csr;
    for (size_t i = 0; i < program.size(); ++i) rig.poke32(kBase + 4 * i, program[i]);
    rig.code(kHandler, {csrrs(kHandlerA, MCAUSE, 0), csrrs(kHandlerB, MEPC, 0), enc_b(8, 0, kHandlerA, 4),
                        addi(kHandlerB, kHandlerB, 4), csrrw(0, MEPC, kHandlerB), kMret});
    std::mt19937_64 data_rng(seed);
    for (uint64_t a = kData; a < kData + 0x2000; a += 8) rig.poke64(a, data_rng());
    HartState& s = rig.hart.s;
    for (unsigned r = 1; r < 32; ++r) s.x[r] = gen.next();
    for (unsigned r = 0; r < 32; ++r) s.f[r] = gen.next();
    s.x[kBadBase] = 0x1000;
    s.x[kCodeBase] = kBase;
    s.x[kDataBase] = kData + 8 * gen.below(64);
    s.x[kEdgeBase] = kData + 0x1000 - 1 - gen.below(8);
    s.mtvec = kHandler;
    s.mstatus |= MSTATUS_FS;
    s.pc = kBase;
}

// Sv39 (priv spec §4.4): the program goes on in S-mode (the handler's mret returns there too)
// with the first GiB of virtual addresses mapped onto RAM by one gigapage (so code, data and
// tables alias at an offset: VA = PA - kBase), and the second GiB unmapped (page faults).
// `leaf` holds the gigapage's permission bits (V R W X, with A and D set or left to the hart).
inline void enter_sv39(EngineRig& rig, uint64_t asid, uint64_t leaf = 0xcf) {
    using namespace csr;
    HartState& s = rig.hart.s;
    s.x[kBadBase] = 0x40000000;
    for (uint64_t* reg : {&s.x[kCodeBase], &s.x[kDataBase], &s.x[kEdgeBase], &s.pc}) *reg -= kBase;
    s.mstatus |= 1ull << 11;  // MPP = S
    rig.poke64(kRoot + 0 * 8, (kBase >> 12) << 10 | leaf);
    rig.poke64(kRoot + 2 * 8, (kBase >> 12) << 10 | leaf);  // identity, for the M-mode handler's view
    rig.grant_all_memory();
    ASSERT_TRUE(rig.hart.csr_write(SATP, SATP_MODE_SV39 << 60 | asid << SATP_ASID_SHIFT | kRoot >> 12));
    rig.set_priv(Priv::S);
}

}  // namespace trapeze::rv64::test::random_program
