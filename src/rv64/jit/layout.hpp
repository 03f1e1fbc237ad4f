// Layout: where emitted code finds the state it reads and writes. Guest registers, pc and
// CSRs are at fixed offsets from the pinned Hart pointer (rbx); the TLB and its tag id are
// private to Hart, so this (a friend) measures their offsets once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rv64/hart.hpp"

namespace trapeze::rv64::jit {

struct Layout {
    // rbx points this far past the Hart, so that all of x1-x31 (HartState::x[0] is the Hart's
    // first field) are within a disp8 of it: x16-x31 (a6, a7, s2-s11, t3-t6) take one byte
    // where they took four, three bytes less for each instruction that reads or writes them.
    // A helper's Hart* is rbx - kHartBias.
    static constexpr size_t kHartBias = 0x80;

    // Offsets from rbx, those below kHartBias negative: modulo 2^64, as Xbyak adds them.
    size_t x = 0;              // HartState::x[0]
    size_t f = 0;              // HartState::f[0]
    size_t fflags = 0;         // HartState::fflags (uint8_t)
    size_t frm = 0;            // HartState::frm (uint8_t)
    size_t pc = 0;
    size_t mcountinhibit = 0;
    size_t mcycle = 0;
    size_t minstret = 0;
    size_t data_tlb = 0;       // Hart::m_data_tlb (pointer to the current data view)
    size_t tlb_tag = 0;        // Hart::m_tag (the current address space's TLB tag id)
    size_t tlb = 0;            // Hart::m_tlb (pointer to the first view's first entry)
    size_t fetch_index = 0;    // Hart::m_fetch_index (unsigned)
    size_t fetch_key = 0;      // Hart::m_fetch_key
    size_t priv = 0;           // HartState::priv (uint8_t)
    size_t virt = 0;           // HartState::virt (bool: V of the H extension)
    size_t mstatus = 0;
    size_t vsstatus = 0;
    size_t mip = 0;            // HartState::mip (the software-written bits)
    size_t mie = 0;
    size_t pins = 0;           // Hart::m_pins (device lines, OR-ed into mip)
    size_t menvcfg = 0;
    size_t mcounteren = 0;
    size_t sscratch = 0, sepc = 0, scause = 0, stval = 0;  // the trap CSRs (emit_plain_csr)
    size_t mscratch = 0, mepc = 0, mcause = 0, mtval = 0;
    size_t scounteren = 0;
    size_t senvcfg = 0;
    size_t reservation_valid = 0;  // HartState::reservation_valid (bool)
    size_t reservation = 0;
    size_t reservation_value = 0;
    size_t exit_slots = 0;     // Hart::engine.exit_slots (pointer to this hart's cross-page slots)
    size_t jump_cache = 0;     // Hart::engine.jump_cache (pointer to this hart's jump cache)
    uint64_t host_to_pa = 0;   // added to a host address in RAM gives its guest-physical address

    static Layout of(const Hart& h);
    // The addend of the current fetch view's TLB entry for va, if it holds a valid one.
    static bool fetch_addend(const Hart& h, uint64_t va, uintptr_t& addend);

    size_t xreg(unsigned r) const { return x + 8 * size_t{r}; }
    size_t freg(unsigned r) const { return f + 8 * size_t{r}; }
};

// TlbEntry is read by emitted code: keep its shape in one place.
static_assert(sizeof(Hart::TlbEntry) == 32);
static_assert(offsetof(Hart::TlbEntry, tag_r) == 0);
static_assert(offsetof(Hart::TlbEntry, tag_w) == 8);
static_assert(offsetof(Hart::TlbEntry, tag_x) == 16);
static_assert(offsetof(Hart::TlbEntry, addend) == 24);
static_assert(sizeof(Priv) == 1);
static_assert(sizeof(std::atomic<uint64_t>) == 8 && sizeof(std::atomic<uint8_t>) == 1);

}  // namespace trapeze::rv64::jit
