// One hart on its own RAM driven by either engine, so tests can run the same program
// under the interpreter and the JIT and compare everything architectural afterwards.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/interpreter.hpp"
#include "rv64/isa/encoding.hpp"
#include "rv64/jit/jit.hpp"

namespace trapeze::rv64::test {

enum class Engine { Interp, Jit };

struct EngineRig {
    static constexpr uint64_t kBase = 0x80000000;
    static constexpr uint64_t kRamSize = 1 << 20;

    // Translates every block at its first run, so tests exercise translated code.
    static jit::JitConfig eager() {
        jit::JitConfig cfg;
        cfg.translate_after = 0;
        return cfg;
    }

    // Hart 0 with Sstc, and with the hypervisor extension if asked (HartConfig::hypervisor).
    static HartConfig hart_config(bool hypervisor = false) {
        return HartConfig{.hartid = 0, .sstc = true, .hypervisor = hypervisor};
    }

    explicit EngineRig(Engine e, const jit::JitConfig& cfg = eager(), const HartConfig& hc = hart_config())
        : EngineRig(e, GuestMemory::create(Gpa(kBase), kRamSize).value(), cfg, hc) {}
    // On given RAM (of kRamSize at kBase), such as one mapped from a memory file.
    EngineRig(Engine e, GuestMemory ram, const jit::JitConfig& cfg, const HartConfig& hc = hart_config())
        : mem(std::move(ram)), hart(hc, mem, bus, clock) {
        if (e == Engine::Jit) {
            jit = std::move(jit::Jit::create(mem, cfg).value());
            jit->attach(hart);
        } else {
            interp = std::make_unique<interp::Interpreter>(mem);
            interp->attach(hart);
        }
        hart.s.pc = kBase;
    }

    void run(uint64_t budget) {
        if (jit != nullptr)
            jit->run(hart, budget);
        else
            interp->run(hart, budget);
    }
    uint64_t retired() const { return jit != nullptr ? jit->retired() : interp->retired(); }
    void code(uint64_t addr, std::initializer_list<uint32_t> insns) {
        for (uint32_t i : insns) {
            store_le<uint32_t>(mem.span(Gpa(addr), 4).data(), i);
            addr += 4;
        }
    }
    // PMP entry 0 over all of memory, RWX, so S and U may fetch and access it (priv spec §3.7.1).
    void grant_all_memory() {
        ASSERT_TRUE(hart.csr_write(csr::PMPADDR0, ~0ull >> 10));
        ASSERT_TRUE(hart.csr_write(csr::PMPCFG0, 0x1f));  // NAPOT, RWX
    }
    void set_priv(Priv p) {
        hart.s.priv = p;
        hart.update_mmu_view();
    }
    // Sv39 with 4 KiB pages in the first 2 MiB of VA: page-table pages at root, root + 0x1000
    // and root + 0x2000 (where VA page n's leaf is at + 8 * n).
    static uint64_t leaf(uint64_t pa, bool writable = true) {
        return (pa >> 12) << 10 | (writable ? 0xcf : 0xcb);  // V R (W) X, A D
    }
    void map_page(uint64_t root, uint64_t va_page, uint64_t pa, bool writable = true) {
        const uint64_t l1 = root + 0x1000, l0 = root + 0x2000;
        poke64(root, (l1 >> 12) << 10 | 1);
        poke64(l1, (l0 >> 12) << 10 | 1);
        poke64(l0 + 8 * va_page, leaf(pa, writable));
    }
    // Translation through root (ASID 0) in S-mode, at VA 0.
    void enter_sv39(uint64_t root) {
        grant_all_memory();
        ASSERT_TRUE(hart.csr_write(csr::SATP, csr::SATP_MODE_SV39 << 60 | root >> 12));
        set_priv(Priv::S);
        hart.s.pc = 0;
    }
    void poke32(uint64_t addr, uint32_t v) { store_le<uint32_t>(mem.span(Gpa(addr), 4).data(), v); }
    void poke64(uint64_t addr, uint64_t v) { store_le<uint64_t>(mem.span(Gpa(addr), 8).data(), v); }
    uint64_t peek64(uint64_t addr) { return load_le<uint64_t>(mem.span(Gpa(addr), 8).data()); }

    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
    std::unique_ptr<interp::Interpreter> interp;
    std::unique_ptr<jit::Jit> jit;
};

// Every architectural field of HartState (x[32], the rd == x0 sink, is not architectural).
inline std::string diff_state(const HartState& a, const HartState& b) {
    std::string out;
    auto check = [&](const char* name, uint64_t x, uint64_t y) {
        if (x != y) out += fmt::format("{}: interp {:#x} jit {:#x}\n", name, x, y);
    };
    for (unsigned i = 0; i < 32; ++i) check(fmt::format("x{}", i).c_str(), a.x[i], b.x[i]);
    for (unsigned i = 0; i < 32; ++i) check(fmt::format("f{}", i).c_str(), a.f[i], b.f[i]);
    check("pc", a.pc, b.pc);
    check("priv", static_cast<uint64_t>(a.priv), static_cast<uint64_t>(b.priv));
    check("fflags", a.fflags, b.fflags);
    check("frm", a.frm, b.frm);
    check("wfi", a.wfi, b.wfi);
    check("reservation_valid", a.reservation_valid, b.reservation_valid);
    if (a.reservation_valid) check("reservation", a.reservation, b.reservation);
    if (a.reservation_valid) check("reservation_value", a.reservation_value, b.reservation_value);
    check("mstatus", a.mstatus, b.mstatus);
    check("mie", a.mie, b.mie);
    check("mip", a.mip, b.mip);
    check("mtvec", a.mtvec, b.mtvec);
    check("mscratch", a.mscratch, b.mscratch);
    check("mepc", a.mepc, b.mepc);
    check("mcause", a.mcause, b.mcause);
    check("mtval", a.mtval, b.mtval);
    check("mcountinhibit", a.mcountinhibit, b.mcountinhibit);
    check("mcycle", a.mcycle, b.mcycle);
    check("minstret", a.minstret, b.minstret);
    check("medeleg", a.medeleg, b.medeleg);
    check("mideleg", a.mideleg, b.mideleg);
    check("stvec", a.stvec, b.stvec);
    check("sscratch", a.sscratch, b.sscratch);
    check("sepc", a.sepc, b.sepc);
    check("scause", a.scause, b.scause);
    check("stval", a.stval, b.stval);
    check("satp", a.satp, b.satp);
    // The hypervisor extension's (all zero on a hart without it).
    check("virt", a.virt, b.virt);
    check("hstatus", a.hstatus, b.hstatus);
    check("hedeleg", a.hedeleg, b.hedeleg);
    check("hideleg", a.hideleg, b.hideleg);
    check("hcounteren", a.hcounteren, b.hcounteren);
    check("henvcfg", a.henvcfg, b.henvcfg);
    check("htimedelta", a.htimedelta, b.htimedelta);
    check("htval", a.htval, b.htval);
    check("htinst", a.htinst, b.htinst);
    check("hgatp", a.hgatp, b.hgatp);
    check("mtval2", a.mtval2, b.mtval2);
    check("mtinst", a.mtinst, b.mtinst);
    check("vsstatus", a.vsstatus, b.vsstatus);
    check("vstvec", a.vstvec, b.vstvec);
    check("vsscratch", a.vsscratch, b.vsscratch);
    check("vsepc", a.vsepc, b.vsepc);
    check("vscause", a.vscause, b.vscause);
    check("vstval", a.vstval, b.vstval);
    check("vsatp", a.vsatp, b.vsatp);
    check("vstimecmp", a.vstimecmp, b.vstimecmp);
    return out;
}

inline bool same_memory(const EngineRig& a, const EngineRig& b) {
    const auto sa = a.mem.span(Gpa(EngineRig::kBase), EngineRig::kRamSize);
    const auto sb = b.mem.span(Gpa(EngineRig::kBase), EngineRig::kRamSize);
    return std::memcmp(sa.data(), sb.data(), sa.size()) == 0;
}

// Sets up one rig per engine with `setup`, runs both for `budget` and expects the same
// architectural state and RAM; `check` then looks at the JIT's rig.
template <typename Setup>
void expect_engines_agree(const Setup& setup, uint64_t budget, const std::string& what,
                          const std::function<void(EngineRig&)>& check = {},
                          const jit::JitConfig& cfg = EngineRig::eager()) {
    EngineRig a(Engine::Interp), b(Engine::Jit, cfg);
    setup(a);
    setup(b);
    a.run(budget);
    b.run(budget);
    EXPECT_EQ(diff_state(a.hart.s, b.hart.s), "") << what;
    EXPECT_TRUE(same_memory(a, b)) << what;
    if (check) check(b);
}

// Like expect_engines_agree, but in `slices` slices of `budget` instructions, the states equal
// after every one (each slice enters translated code afresh). After each slice the JIT waits
// for its background translations, if it makes them (JitConfig::background).
template <typename Setup>
void expect_engines_agree_by_slices(const Setup& setup, uint64_t budget, unsigned slices,
                                    const std::function<void(EngineRig&)>& check = {},
                                    const jit::JitConfig& cfg = EngineRig::eager()) {
    EngineRig a(Engine::Interp), b(Engine::Jit, cfg);
    setup(a);
    setup(b);
    for (unsigned slice = 0; slice < slices; ++slice) {
        a.run(budget);
        b.run(budget);
        ASSERT_EQ(diff_state(a.hart.s, b.hart.s), "") << "after slice " << slice;
        b.jit->wait_for_translations();
    }
    if (check) check(b);
}

}  // namespace trapeze::rv64::test
