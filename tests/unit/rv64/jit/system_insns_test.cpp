// The system instructions the JIT runs natively instead of through the interpreter's
// semantics (emit_system.cpp): the same results as the interpreter's in every privilege mode,
// and the same exceptions where the access is not allowed.
#include <string>

#include "engine_rig.hpp"

namespace trapeze::rv64::test {
namespace {

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) {
    return enc_i(imm, rs1, 0, rd, 0x13);
}
uint32_t csrr(uint32_t rd, uint16_t num) {
    return enc_i(static_cast<int32_t>(num), 0, 2, rd, 0x73);
}
constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint32_t kPark = 0x0000006f;
constexpr uint64_t kTm = 1u << (csr::TIME - csr::CYCLE);  // the counter-enable bit of time

// csrr sstatus and csrrci sstatus, SIE run natively in S and M; in U they are illegal.
TEST(JitSystem, SstatusReadAndSieClearMatchTheInterpreter) {
    constexpr uint32_t kCsrrSstatus5 = 0x100022f3;  // csrrs x5, sstatus, x0
    constexpr uint32_t kCsrrciSie = 0x10017373;     // csrrci x6, sstatus, 2
    constexpr uint32_t kCsrrSstatus7 = 0x100023f3;  // csrrs x7, sstatus, x0
    for (const Priv p : {Priv::M, Priv::S, Priv::U}) {
        auto program = [&](EngineRig& r) {
            r.hart.s.mstatus |= csr::MSTATUS_SIE | csr::MSTATUS_SUM | csr::MSTATUS_MPIE;
            r.hart.s.mtvec = kBase + 0x400;
            r.code(kBase + 0x400, {kPark});
            r.code(kBase, {kCsrrSstatus5, kCsrrciSie, kCsrrSstatus7, kPark});
            r.grant_all_memory();
            r.set_priv(p);
        };
        expect_engines_agree(program, 4, fmt::format("priv {}", static_cast<int>(p)), [&](EngineRig& r) {
            if (p == Priv::U) {
                EXPECT_EQ(r.hart.s.mcause, csr::EXC_ILLEGAL_INST);
                return;
            }
            EXPECT_NE(r.hart.s.x[5] & csr::MSTATUS_SIE, 0u);
            EXPECT_EQ(r.hart.s.x[7] & csr::MSTATUS_SIE, 0u);
            EXPECT_EQ(r.hart.s.mstatus & csr::MSTATUS_SIE, 0u);
        });
    }
}

// csrs sstatus, rs1 (local_irq_restore) runs natively when rs1 holds no bit but SIE and no
// interrupt is pending; setting SIE with one pending must end the block so it is taken before
// the next instruction, exactly where the interpreter takes it.
// So does csrsi sstatus, SIE (local_irq_enable), the immediate form (`immediate`: its value is
// SIE).
TEST(JitSystem, SstatusSetMatchesTheInterpreter) {
    constexpr uint32_t kCsrrciSie = 0x10017373;                                     // csrrci x6, sstatus, 2
    constexpr uint32_t kCsrrsSstatus = 0x100422f3;                                  // csrrs x5, sstatus, x8
    const uint32_t kCsrrsiSie = enc_i(csr::SSTATUS, csr::MSTATUS_SIE, 6, 5, 0x73);  // csrrsi x5, sstatus, 2
    for (const Priv p : {Priv::M, Priv::S, Priv::U}) {
        for (const uint64_t value : {uint64_t{0}, csr::MSTATUS_SIE, csr::MSTATUS_SIE | csr::MSTATUS_SUM}) {
            for (const bool pending : {false, true}) {
                for (const bool immediate : {false, true}) {
                    if (immediate && value != csr::MSTATUS_SIE) continue;
                    auto program = [&](EngineRig& r) {
                        r.hart.s.mstatus &= ~csr::MSTATUS_SIE;  // nothing deliverable before the csrrs
                        r.hart.s.mideleg = csr::MIP_SSIP;
                        r.hart.s.mie = csr::MIP_SSIP;
                        if (pending) r.hart.s.mip = csr::MIP_SSIP;
                        r.hart.s.mtvec = kBase + 0x400;
                        r.hart.s.stvec = kBase + 0x800;
                        r.code(kBase + 0x400, {kPark});
                        r.code(kBase + 0x800, {kPark});
                        r.hart.s.x[8] = value;
                        r.code(kBase, {kCsrrciSie, immediate ? kCsrrsiSie : kCsrrsSstatus, addi(9, 9, 1), kPark});
                        r.grant_all_memory();
                        r.set_priv(p);
                    };
                    const std::string what = fmt::format("priv {} value {:#x} pending {} immediate {}",
                                                         static_cast<int>(p), value, pending, immediate);
                    expect_engines_agree(program, 10, what, [&](EngineRig& r) {
                        if (p != Priv::S || value != csr::MSTATUS_SIE) return;
                        EXPECT_EQ(r.hart.s.x[5] & csr::MSTATUS_SIE, 0u) << what;
                        if (pending) {
                            EXPECT_EQ(r.hart.s.scause, (1ull << 63) | 1) << what;
                            EXPECT_EQ(r.hart.s.x[9], 0u) << what;
                        } else {
                            EXPECT_NE(r.hart.s.mstatus & csr::MSTATUS_SIE, 0u) << what;
                            EXPECT_EQ(r.hart.s.x[9], 1u) << what;
                        }
                    });
                }
            }
        }
    }
}

// csrr time runs natively where mcounteren.TM (S, U) and scounteren.TM (U) allow it and
// reads the machine's clock; elsewhere it raises illegal instruction (priv spec §3.1.11,
// §4.1.5), as the interpreter's semantics do.
TEST(JitSystem, TimeReadMatchesTheInterpreterWhereverItIsAllowedOrNot) {
    constexpr uint64_t kNow = 123'456'789;
    for (const Priv p : {Priv::M, Priv::S, Priv::U}) {
        for (const uint64_t mcounteren : {uint64_t{0}, kTm}) {
            for (const uint64_t scounteren : {uint64_t{0}, kTm}) {
                auto program = [&](EngineRig& r) {
                    r.clock.set_manual(kNow);
                    r.hart.s.mcounteren = mcounteren;
                    r.hart.s.scounteren = scounteren;
                    r.hart.s.mtvec = kBase + 0x400;
                    r.code(kBase + 0x400, {kPark});
                    r.code(kBase, {csrr(5, csr::TIME), addi(9, 9, 1), csrr(6, csr::TIME), kPark});
                    r.grant_all_memory();
                    r.set_priv(p);
                };
                const bool allowed = p == Priv::M || (mcounteren != 0 && (p == Priv::S || scounteren != 0));
                const std::string what =
                    fmt::format("priv {} mcounteren {} scounteren {}", static_cast<int>(p), mcounteren, scounteren);
                expect_engines_agree(program, 8, what, [&](EngineRig& r) {
                    if (!allowed) {
                        EXPECT_EQ(r.hart.s.mcause, csr::EXC_ILLEGAL_INST) << what;
                        EXPECT_EQ(r.hart.s.mepc, kBase) << what;
                        EXPECT_EQ(r.hart.s.x[9], 0u) << what;
                        return;
                    }
                    EXPECT_EQ(r.hart.s.x[5], kNow) << what;
                    EXPECT_EQ(r.hart.s.x[6], kNow) << what;
                    EXPECT_EQ(r.hart.s.x[9], 1u) << what;
                });
            }
        }
    }
}

// With record and replay the time follows minstret (Hart::InstructionTime), so the native read
// must count every instruction retired before it, also where its block is entered straight
// from the one before (the second and third time round this loop, once the blocks are linked)
// rather than from the dispatcher, which brings minstret up to date.
uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) {
    return enc_b(off, rs2, rs1, 1);
}

TEST(JitSystem, TimeReadSeesEveryInstructionRetiredBeforeIt) {
    auto program = [](EngineRig& r) {
        r.hart.set_instruction_time({.tick_base = 1000, .icount = 0, .minstret = 0, .per_tick = 1});
        r.hart.s.x[10] = 3;
        r.code(kBase, {addi(9, 9, 1), addi(7, 7, 1),                        // block A
                       csrr(5, csr::TIME), addi(7, 7, 1), bne(9, 10, -16),  // block B, back to A
                       kPark});
    };
    expect_engines_agree(program, 20, "instruction time", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[9], 3u);
        EXPECT_EQ(r.hart.s.x[5], 1012u);  // two rounds of five, and block A, before the last read
    });
}

// With V=1 the read is the guest's time (time + htimedelta) where hcounteren.TM allows it, a
// virtual instruction where only mcounteren does (priv spec §8.2.7, §8.6.1): the interpreter's
// semantics, reached from translated code.
TEST(JitSystem, TimeReadInVsModeAddsHtimedeltaOrIsAVirtualInstruction) {
    constexpr uint64_t kNow = 5000, kDelta = 777;
    for (const uint64_t hcounteren : {uint64_t{0}, kTm}) {
        auto program = [&](EngineRig& r) {
            r.clock.set_manual(kNow);
            r.hart.s.mcounteren = kTm;
            r.hart.s.hcounteren = hcounteren;
            r.hart.s.htimedelta = kDelta;
            r.hart.s.mtvec = kBase + 0x400;
            r.code(kBase + 0x400, {kPark});
            r.code(kBase, {csrr(5, csr::TIME), addi(9, 9, 1), kPark});
            r.grant_all_memory();
            r.hart.s.virt = true;
            r.set_priv(Priv::S);
        };
        const std::string what = fmt::format("hcounteren {}", hcounteren);
        EngineRig a(Engine::Interp, EngineRig::eager(), EngineRig::hart_config(true));
        EngineRig b(Engine::Jit, EngineRig::eager(), EngineRig::hart_config(true));
        program(a);
        program(b);
        a.run(4);
        b.run(4);
        EXPECT_EQ(diff_state(a.hart.s, b.hart.s), "") << what;
        if (hcounteren != 0) {
            EXPECT_EQ(b.hart.s.x[5], kNow + kDelta) << what;
            EXPECT_EQ(b.hart.s.x[9], 1u) << what;
        } else {
            EXPECT_EQ(b.hart.s.mcause, csr::EXC_VIRTUAL_INST) << what;
        }
    }
}

uint32_t csrrw(uint32_t rd, uint16_t num, uint32_t rs1) {
    return enc_i(static_cast<int32_t>(num), rs1, 1, rd, 0x73);
}
uint32_t csrrwi(uint32_t rd, uint16_t num, uint32_t uimm) {
    return enc_i(static_cast<int32_t>(num), uimm, 5, rd, 0x73);
}
uint32_t csrrs(uint32_t rd, uint16_t num, uint32_t rs1) {
    return enc_i(static_cast<int32_t>(num), rs1, 2, rd, 0x73);
}

// The trap CSRs run natively where the mode may access them: swaps (csrrw with rd = rs1, as
// Linux's handle_exception swaps tp with sscratch), writes, reads, immediates, and xepc's
// bit 0 dropped. From a mode below them they are illegal instructions; csrrs with a register
// still runs the interpreter's semantics. With V=1 the S ones are the VS ones.
TEST(JitSystem, TrapCsrsMatchTheInterpreterInEveryMode) {
    for (const uint16_t base : {csr::SSCRATCH, csr::MSCRATCH}) {
        for (const bool virt : {false, true}) {
            for (const Priv p : {Priv::M, Priv::S, Priv::U}) {
                if (virt && p == Priv::M) continue;
                const auto scratch = base, epc = static_cast<uint16_t>(base + 1);
                const auto cause = static_cast<uint16_t>(base + 2), tval = static_cast<uint16_t>(base + 3);
                auto program = [&](EngineRig& r) {
                    r.hart.s.x[4] = 0x1111;
                    r.hart.s.x[8] = 0x8765'4321'0fed'cba9;  // odd: xepc keeps it even
                    r.hart.s.x[12] = 0x30;
                    r.hart.s.sscratch = r.hart.s.mscratch = r.hart.s.vsscratch = 0x2222;
                    r.hart.s.stval = r.hart.s.mtval = r.hart.s.vstval = 0x3333;
                    r.hart.s.mtvec = kBase + 0x400;
                    r.code(kBase + 0x400, {kPark});
                    r.code(kBase, {csrrw(4, scratch, 4), csrrs(5, scratch, 0), csrrw(0, epc, 8), csrrs(6, epc, 0),
                                   csrrwi(0, cause, 21), csrrs(7, cause, 0), csrrs(9, tval, 12), csrrs(10, tval, 0),
                                   addi(11, 11, 1), kPark});
                    r.grant_all_memory();
                    r.hart.s.virt = virt;
                    r.set_priv(p);
                };
                const std::string what = fmt::format("base {:#x} virt {} priv {}", base, virt, static_cast<int>(p));
                EngineRig a(Engine::Interp, EngineRig::eager(), EngineRig::hart_config(true));
                EngineRig b(Engine::Jit, EngineRig::eager(), EngineRig::hart_config(true));
                program(a);
                program(b);
                a.run(12);
                b.run(12);
                EXPECT_EQ(diff_state(a.hart.s, b.hart.s), "") << what;
                const bool allowed = base == csr::MSCRATCH ? p == Priv::M : p != Priv::U;
                if (!allowed) {
                    EXPECT_EQ(b.hart.s.x[11], 0u) << what;
                    EXPECT_EQ(b.hart.s.mepc, kBase) << what;
                    continue;
                }
                EXPECT_EQ(b.hart.s.x[4], 0x2222u) << what;
                EXPECT_EQ(b.hart.s.x[5], 0x1111u) << what;
                EXPECT_EQ(b.hart.s.x[6], 0x8765'4321'0fed'cba8u) << what;
                EXPECT_EQ(b.hart.s.x[7], 21u) << what;
                EXPECT_EQ(b.hart.s.x[9], 0x3333u) << what;
                EXPECT_EQ(b.hart.s.x[10], 0x3333u | 0x30) << what;
                EXPECT_EQ(b.hart.s.x[11], 1u) << what;
            }
        }
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
