// A hart on 1 MiB of RAM at 0x80000000 with an empty bus, plus a tiny assembler, so
// tests can run real instruction sequences through the interpreter.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "rv64/isa/encoding.hpp"
#include "rv64/interp/interpreter.hpp"

namespace trapeze::rv64::test {

inline uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
inline uint32_t add(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(0, rs2, rs1, 0, rd, 0x33); }
inline uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 1); }
inline uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 3, rd, 0x03); }
inline uint32_t lw(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 2, rd, 0x03); }
inline uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 3, 0x23); }
inline uint32_t sw(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 2, 0x23); }
inline uint32_t csrrw(uint32_t rd, uint32_t csr, uint32_t rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 1, rd, 0x73); }
inline uint32_t csrrs(uint32_t rd, uint32_t csr, uint32_t rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 2, rd, 0x73); }
inline uint32_t lr_d(uint32_t rd, uint32_t rs1) { return enc_r(0x08, 0, rs1, 3, rd, 0x2f); }
inline uint32_t sc_d(uint32_t rd, uint32_t rs2, uint32_t rs1) { return enc_r(0x0c, rs2, rs1, 3, rd, 0x2f); }
inline uint32_t amoadd_w(uint32_t rd, uint32_t rs2, uint32_t rs1) { return enc_r(0x00, rs2, rs1, 2, rd, 0x2f); }
constexpr uint32_t kEcall = 0x00000073;
constexpr uint32_t kMret = 0x30200073;
constexpr uint32_t kSret = 0x10200073;
constexpr uint32_t kWfi = 0x10500073;
constexpr uint32_t kSfenceVma = 0x12000073;
constexpr uint32_t kNop = 0x00000013;
inline uint32_t jal_self() { return 0x0000006f; }  // j . (a parking loop)

class HartTest : public ::testing::Test {
protected:
    static constexpr uint64_t kBase = 0x80000000;

    HartTest()
        : mem(GuestMemory::create(Gpa(kBase), 1 << 20).value()),
          hart(HartConfig{0, true}, mem, bus, clock),
          interp(mem) {
        interp.attach(hart);
    }

    // Writes 32-bit instructions at addr.
    void code(uint64_t addr, std::initializer_list<uint32_t> insns) {
        for (uint32_t i : insns) {
            store_le<uint32_t>(mem.span(Gpa(addr), 4).data(), i);
            addr += 4;
        }
    }
    void poke64(uint64_t addr, uint64_t v) { store_le<uint64_t>(mem.span(Gpa(addr), 8).data(), v); }
    uint64_t peek64(uint64_t addr) { return load_le<uint64_t>(mem.span(Gpa(addr), 8).data()); }
    // A load/store through the hart's MMU at the current privilege. A fault is taken as a
    // trap (to M-mode); the privilege is restored so the next access sees the same view.
    template <typename T>
    bool try_load(uint64_t va, T& out) {
        const Priv p = hart.s.priv;
        const bool ok = hart.load<T>(va, out);
        restore(p);
        return ok;
    }
    template <typename T>
    bool try_store(uint64_t va, T v) {
        const Priv p = hart.s.priv;
        const bool ok = hart.store<T>(va, v);
        restore(p);
        return ok;
    }
    void restore(Priv p) {
        hart.clear_trapped();
        hart.s.priv = p;
        hart.s.mstatus &= ~(csr::MSTATUS_MPRV);
        hart.update_mmu_view();
    }
    // Trap vectors that park the hart: j . at mtvec and at every vectored slot.
    void park_vectors(uint64_t base) {
        for (unsigned i = 0; i < 16; ++i) code(base + 4 * i, {jal_self()});
    }
    // Runs exactly n instructions' worth of budget from the current state.
    void run(uint64_t n) { interp.run(hart, n); }
    // Steps until pc == stop or the budget runs out.
    void run_until(uint64_t stop, uint64_t max_blocks = 1000) {
        for (uint64_t i = 0; i < max_blocks && hart.s.pc != stop; ++i) interp.run(hart, 1);
    }

    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
    interp::Interpreter interp;
};

}  // namespace trapeze::rv64::test
