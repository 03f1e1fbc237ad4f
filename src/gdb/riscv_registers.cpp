#include "gdb/riscv_registers.hpp"

#include <array>

#include <fmt/format.h>

namespace trapeze::gdb {

namespace {

using rv64::Priv;

// ABI names, which gdb's riscv target expects (it also accepts x0..x31).
constexpr std::array<const char*, 32> kXNames = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6",   "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
constexpr std::array<const char*, 32> kFNames = {
    "ft0", "ft1", "ft2",  "ft3",  "ft4", "ft5", "ft6",  "ft7",  "fs0",  "fs1",  "fa0",
    "fa1", "fa2", "fa3",  "fa4",  "fa5", "fa6", "fa7",  "fs2",  "fs3",  "fs4",  "fs5",
    "fs6", "fs7", "fs8",  "fs9",  "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

struct CsrName {
    const char* name;
    uint16_t num;
};
// The CSRs of the privileged spec that a hart here may implement (priv spec table 2.2-2.5);
// those it does not read are left out of the description.
constexpr CsrName kCsrs[] = {
    {"cycle", 0xc00},      {"time", 0xc01},       {"instret", 0xc02},    {"sstatus", 0x100},
    {"sie", 0x104},        {"stvec", 0x105},      {"scounteren", 0x106}, {"senvcfg", 0x10a},
    {"sscratch", 0x140},   {"sepc", 0x141},       {"scause", 0x142},     {"stval", 0x143},
    {"sip", 0x144},        {"stimecmp", 0x14d},   {"satp", 0x180},       {"mvendorid", 0xf11},
    {"marchid", 0xf12},    {"mimpid", 0xf13},     {"mhartid", 0xf14},    {"mconfigptr", 0xf15},
    {"mstatus", 0x300},    {"misa", 0x301},       {"medeleg", 0x302},    {"mideleg", 0x303},
    {"mie", 0x304},        {"mtvec", 0x305},      {"mcounteren", 0x306}, {"menvcfg", 0x30a},
    {"mcountinhibit", 0x320}, {"mscratch", 0x340}, {"mepc", 0x341},      {"mcause", 0x342},
    {"mtval", 0x343},      {"mip", 0x344},        {"pmpcfg0", 0x3a0},    {"pmpcfg2", 0x3a2},
    {"pmpaddr0", 0x3b0},   {"pmpaddr1", 0x3b1},   {"pmpaddr2", 0x3b2},   {"pmpaddr3", 0x3b3},
    {"pmpaddr4", 0x3b4},   {"pmpaddr5", 0x3b5},   {"pmpaddr6", 0x3b6},   {"pmpaddr7", 0x3b7},
    {"pmpaddr8", 0x3b8},   {"pmpaddr9", 0x3b9},   {"pmpaddr10", 0x3ba},  {"pmpaddr11", 0x3bb},
    {"pmpaddr12", 0x3bc},  {"pmpaddr13", 0x3bd},  {"pmpaddr14", 0x3be},  {"pmpaddr15", 0x3bf},
    {"mseccfg", 0x747},    {"mcycle", 0xb00},     {"minstret", 0xb02},
    // The hypervisor extension's (priv spec ch. 8, and the H rows of tables 2.2-2.5), readable
    // when the hart has H. From M-mode the vs* names reach the VS copies.
    {"hstatus", 0x600},    {"hedeleg", 0x602},    {"hideleg", 0x603},    {"hie", 0x604},
    {"htimedelta", 0x605}, {"hcounteren", 0x606}, {"hgeie", 0x607},      {"henvcfg", 0x60a},
    {"htval", 0x643},      {"hip", 0x644},        {"hvip", 0x645},       {"htinst", 0x64a},
    {"hgatp", 0x680},      {"hgeip", 0xe12},      {"vsstatus", 0x200},   {"vsie", 0x204},
    {"vstvec", 0x205},     {"vsscratch", 0x240},  {"vsepc", 0x241},      {"vscause", 0x242},
    {"vstval", 0x243},     {"vsip", 0x244},       {"vstimecmp", 0x24d},  {"vsatp", 0x280},
    {"mtinst", 0x34a},     {"mtval2", 0x34b},
};

// The debugger reads and writes CSRs with M-mode's rights, whatever the hart runs at; the
// hart's own checks (WARL fields, read-only CSRs) still apply.
template <typename F>
auto as_machine_mode(rv64::Hart& h, F&& f) {
    const Priv saved = h.s.priv;
    h.s.priv = Priv::M;
    const auto result = f();
    h.s.priv = saved;
    h.update_mmu_view();
    return result;
}

std::optional<uint64_t> read_csr(rv64::Hart& h, uint16_t num) {
    return as_machine_mode(h, [&]() -> std::optional<uint64_t> {
        uint64_t v = 0;
        if (!h.csr_read(num, v)) return std::nullopt;
        return v;
    });
}

}  // namespace

const char* priv_name(rv64::Priv p) {
    switch (p) {
        case Priv::U: return "U";
        case Priv::S: return "S";
        case Priv::M: return "M";
    }
    return "?";
}

RiscvRegisters::RiscvRegisters(rv64::Hart& probe) {
    using K = RiscvRegister::Kind;
    for (uint16_t i = 0; i < 32; ++i) m_regs.push_back({kXNames[i], K::X, i, 64});
    m_regs.push_back({"pc", K::Pc, 0, 64});
    for (uint16_t i = 0; i < 32; ++i) m_regs.push_back({kFNames[i], K::F, i, 64});
    m_regs.push_back({"fflags", K::Fflags, 0, 32});
    m_regs.push_back({"frm", K::Frm, 0, 32});
    m_regs.push_back({"fcsr", K::Fcsr, 0, 32});
    m_regs.push_back({"priv", K::Priv, 0, 64});
    for (const CsrName& c : kCsrs) {
        if (read_csr(probe, c.num)) m_regs.push_back({c.name, K::Csr, c.num, 64});
    }
    m_xml = build_xml();
}

std::string RiscvRegisters::build_xml() const {
    using K = RiscvRegister::Kind;
    std::string x =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n"
        "<architecture>riscv:rv64</architecture>\n";
    auto feature = [&](const char* name, auto want, const char* extra) {
        x += fmt::format("<feature name=\"{}\">\n{}", name, extra);
        for (size_t i = 0; i < m_regs.size(); ++i) {
            const RiscvRegister& r = m_regs[i];
            if (!want(r.kind)) continue;
            const char* type = r.kind == K::F ? "riscv_double"
                               : r.kind == K::Pc || (r.kind == K::X && r.index == 1) ? "code_ptr"
                               : r.kind == K::X && (r.index == 2 || r.index == 8) ? "data_ptr"
                                                                                   : "int";
            const char* group = r.kind == K::Csr ? " group=\"system\"" : "";
            x += fmt::format("  <reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{}\"{}/>\n", r.name, r.bits, type,
                             i, group);
        }
        x += "</feature>\n";
    };
    feature("org.gnu.gdb.riscv.cpu", [](K k) { return k == K::X || k == K::Pc; }, "");
    feature("org.gnu.gdb.riscv.fpu", [](K k) { return k == K::F || k == K::Fflags || k == K::Frm || k == K::Fcsr; },
            "  <union id=\"riscv_double\">\n    <field name=\"float\" type=\"ieee_single\"/>\n"
            "    <field name=\"double\" type=\"ieee_double\"/>\n  </union>\n");
    feature("org.gnu.gdb.riscv.virtual", [](K k) { return k == K::Priv; }, "");
    feature("org.gnu.gdb.riscv.csr", [](K k) { return k == K::Csr; }, "");
    x += "</target>\n";
    return x;
}

std::optional<uint64_t> RiscvRegisters::read(rv64::Hart& h, unsigned regnum) const {
    if (regnum >= m_regs.size()) return std::nullopt;
    const RiscvRegister& r = m_regs[regnum];
    using K = RiscvRegister::Kind;
    switch (r.kind) {
        case K::X: return r.index == 0 ? 0 : h.s.x[r.index];
        case K::Pc: return h.s.pc;
        case K::F: return h.s.f[r.index];
        case K::Fflags: return h.s.fflags;
        case K::Frm: return h.s.frm;
        case K::Fcsr: return static_cast<uint64_t>(h.s.frm) << 5 | h.s.fflags;
        case K::Priv: return static_cast<uint64_t>(h.s.priv);
        case K::Csr: return read_csr(h, r.index);
    }
    return std::nullopt;
}

bool RiscvRegisters::write(rv64::Hart& h, unsigned regnum, uint64_t v) const {
    if (regnum >= m_regs.size()) return false;
    const RiscvRegister& r = m_regs[regnum];
    using K = RiscvRegister::Kind;
    switch (r.kind) {
        case K::X:
            if (r.index != 0) h.s.x[r.index] = v;  // x0 stays zero, as on the hart
            return true;
        case K::Pc:
            if ((v & 1) != 0) return false;  // IALIGN is 16 with C (unpriv spec §1.5)
            h.s.pc = v;
            // The SC run next may not be the one the last LR was classified with
            // (rv64/isa/lr_sequence.hpp): no reservation survives a jump by the debugger.
            h.s.reservation_valid = false;
            return true;
        case K::F: h.s.f[r.index] = v; return true;
        case K::Fflags: h.s.fflags = static_cast<uint8_t>(v & 0x1f); return true;
        case K::Frm: h.s.frm = static_cast<uint8_t>(v & 7); return true;
        case K::Fcsr:
            h.s.fflags = static_cast<uint8_t>(v & 0x1f);
            h.s.frm = static_cast<uint8_t>((v >> 5) & 7);
            return true;
        case K::Priv:
            if (v != 0 && v != 1 && v != 3) return false;  // 2 is reserved (priv spec §1.2)
            h.s.priv = static_cast<Priv>(v);
            h.update_mmu_view();
            return true;
        case K::Csr: return as_machine_mode(h, [&] { return h.csr_write(r.index, v); });
    }
    return false;
}

}  // namespace trapeze::gdb
