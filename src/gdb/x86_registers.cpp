#include "gdb/x86_registers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace trapeze::gdb {
namespace {

struct Register {
    const char* name = nullptr;
    unsigned bits = 0;
    const char* type = nullptr;   // a gdb predefined type, or one of the flags types below
    const char* group = nullptr;  // nullptr: gdb's default for the feature
};

// In X86Registers numbering (see the header). Types: gdb's predefined ones (GDB manual,
// "Target Descriptions" > "Predefined Target Types") and our flags types.
constexpr Register kRegisters[X86Registers::kCount] = {
    {"rax", 64, "int64"},
    {"rbx", 64, "int64"},
    {"rcx", 64, "int64"},
    {"rdx", 64, "int64"},
    {"rsi", 64, "int64"},
    {"rdi", 64, "int64"},
    {"rbp", 64, "data_ptr"},
    {"rsp", 64, "data_ptr"},
    {"r8", 64, "int64"},
    {"r9", 64, "int64"},
    {"r10", 64, "int64"},
    {"r11", 64, "int64"},
    {"r12", 64, "int64"},
    {"r13", 64, "int64"},
    {"r14", 64, "int64"},
    {"r15", 64, "int64"},
    {"rip", 64, "code_ptr"},
    {"eflags", 32, "x86_eflags"},
    {"cs", 32, "int32"},
    {"ss", 32, "int32"},
    {"ds", 32, "int32"},
    {"es", 32, "int32"},
    {"fs", 32, "int32"},
    {"gs", 32, "int32"},
    {"st0", 80, "i387_ext"},
    {"st1", 80, "i387_ext"},
    {"st2", 80, "i387_ext"},
    {"st3", 80, "i387_ext"},
    {"st4", 80, "i387_ext"},
    {"st5", 80, "i387_ext"},
    {"st6", 80, "i387_ext"},
    {"st7", 80, "i387_ext"},
    {"fctrl", 32, "int", "float"},
    {"fstat", 32, "int", "float"},
    {"ftag", 32, "int", "float"},
    {"fiseg", 32, "int", "float"},
    {"fioff", 32, "int", "float"},
    {"foseg", 32, "int", "float"},
    {"fooff", 32, "int", "float"},
    {"fop", 32, "int", "float"},
    {"fs_base", 64, "int"},
    {"gs_base", 64, "int"},
    {"cr0", 64, "x86_cr0", "system"},
    {"cr2", 64, "int64", "system"},
    {"cr3", 64, "int64", "system"},
    {"cr4", 64, "x86_cr4", "system"},
    {"cr8", 64, "int64", "system"},
    {"efer", 64, "x86_efer", "system"},
};

constexpr unsigned kEflags = 17;
constexpr unsigned kFirstSegment = 18;  // cs ss ds es fs gs
constexpr unsigned kFirstX87 = 24;      // st0-st7, then fctrl..fop
constexpr unsigned kFsBase = 40;
constexpr unsigned kGsBase = 41;
constexpr unsigned kFirstControl = 42;  // cr0 cr2 cr3 cr4 cr8 efer

constexpr __u64 kvm_regs::*kGprs[16] = {
    &kvm_regs::rax, &kvm_regs::rbx, &kvm_regs::rcx, &kvm_regs::rdx, &kvm_regs::rsi, &kvm_regs::rdi,
    &kvm_regs::rbp, &kvm_regs::rsp, &kvm_regs::r8,  &kvm_regs::r9,  &kvm_regs::r10, &kvm_regs::r11,
    &kvm_regs::r12, &kvm_regs::r13, &kvm_regs::r14, &kvm_regs::r15,
};
constexpr kvm_segment kvm_sregs::*kSegments[6] = {&kvm_sregs::cs, &kvm_sregs::ss, &kvm_sregs::ds,
                                                  &kvm_sregs::es, &kvm_sregs::fs, &kvm_sregs::gs};
constexpr __u64 kvm_sregs::*kControl[6] = {&kvm_sregs::cr0, &kvm_sregs::cr2, &kvm_sregs::cr3,
                                           &kvm_sregs::cr4, &kvm_sregs::cr8, &kvm_sregs::efer};

struct Flag {
    const char* name;
    unsigned bit;
};

// Intel SDM Vol. 1 §3.4.3 (EFLAGS), Vol. 3A §2.5 (CR0, CR4), §2.2.1 (IA32_EFER).
void append_flags(std::string& xml, const char* id, unsigned size, std::initializer_list<Flag> flags) {
    xml += fmt::format("    <flags id=\"{}\" size=\"{}\">\n", id, size);
    for (const Flag& f : flags)
        xml += fmt::format("      <field name=\"{0}\" start=\"{1}\" end=\"{1}\"/>\n", f.name, f.bit);
    xml += "    </flags>\n";
}

void append_registers(std::string& xml, unsigned first, unsigned end) {
    for (unsigned n = first; n < end; ++n) {
        const Register& r = kRegisters[n];
        xml += fmt::format("    <reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{}\"", r.name, r.bits, r.type, n);
        if (r.group != nullptr) xml += fmt::format(" group=\"{}\"", r.group);
        xml += "/>\n";
    }
}

// The register's value, for all but the x87 data registers (80 bits, always zero here).
uint64_t value_of(const X86VcpuRegisters& r, unsigned n) {
    if (n < 16) return r.regs.*kGprs[n];
    if (n == X86Registers::kRip) return r.regs.rip;
    if (n == kEflags) return r.regs.rflags & 0xffff'ffff;
    if (n < kFirstX87) return (r.sregs.*kSegments[n - kFirstSegment]).selector;
    if (n == kFsBase) return r.sregs.fs.base;
    if (n == kGsBase) return r.sregs.gs.base;
    if (n >= kFirstControl) return r.sregs.*kControl[n - kFirstControl];
    return 0;  // x87 control registers
}

}  // namespace

std::string X86Registers::target_xml() {
    std::string xml =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n"
        "  <architecture>i386:x86-64</architecture>\n  <feature name=\"org.gnu.gdb.i386.core\">\n";
    append_flags(xml, "x86_eflags", 4,
                 {{"CF", 0},
                  {"PF", 2},
                  {"AF", 4},
                  {"ZF", 6},
                  {"SF", 7},
                  {"TF", 8},
                  {"IF", 9},
                  {"DF", 10},
                  {"OF", 11},
                  {"NT", 14},
                  {"RF", 16},
                  {"VM", 17},
                  {"AC", 18},
                  {"VIF", 19},
                  {"VIP", 20},
                  {"ID", 21}});
    append_registers(xml, 0, kFsBase);
    xml += "  </feature>\n  <feature name=\"org.gnu.gdb.i386.segments\">\n";
    append_registers(xml, kFsBase, kFirstControl);
    xml += "  </feature>\n  <feature name=\"org.trapeze.x86.sys\">\n";
    append_flags(xml, "x86_cr0", 8,
                 {{"PE", 0},
                  {"MP", 1},
                  {"EM", 2},
                  {"TS", 3},
                  {"ET", 4},
                  {"NE", 5},
                  {"WP", 16},
                  {"AM", 18},
                  {"NW", 29},
                  {"CD", 30},
                  {"PG", 31}});
    append_flags(xml, "x86_cr4", 8,
                 {{"VME", 0},   {"PVI", 1},   {"TSD", 2},   {"DE", 3},        {"PSE", 4},         {"PAE", 5},
                  {"MCE", 6},   {"PGE", 7},   {"PCE", 8},   {"OSFXSR", 9},    {"OSXMMEXCPT", 10}, {"UMIP", 11},
                  {"LA57", 12}, {"VMXE", 13}, {"SMXE", 14}, {"FSGSBASE", 16}, {"PCIDE", 17},      {"OSXSAVE", 18},
                  {"SMEP", 20}, {"SMAP", 21}, {"PKE", 22},  {"CET", 23},      {"PKS", 24}});
    append_flags(xml, "x86_efer", 8, {{"SCE", 0}, {"LME", 8}, {"LMA", 10}, {"NXE", 11}, {"SVME", 12}, {"FFXSR", 14}});
    append_registers(xml, kFirstControl, kCount);
    xml += "  </feature>\n</target>\n";
    return xml;
}

std::optional<std::vector<uint8_t>> X86Registers::read(const X86VcpuRegisters& r, unsigned regnum) {
    if (regnum >= kCount) return std::nullopt;
    std::vector<uint8_t> bytes(kRegisters[regnum].bits / 8, 0);
    const uint64_t v = value_of(r, regnum);
    for (size_t i = 0; i < bytes.size() && i < 8; ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * i));
    return bytes;
}

std::optional<X86Registers::Changed> X86Registers::write(X86VcpuRegisters& r, unsigned regnum,
                                                         std::span<const uint8_t> bytes) {
    if (regnum >= kCount || bytes.size() != kRegisters[regnum].bits / 8) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < bytes.size() && i < 8; ++i) v |= uint64_t{bytes[i]} << (8 * i);
    if (regnum < 16) {
        r.regs.*kGprs[regnum] = v;
        return Changed::Regs;
    }
    if (regnum == kRip || regnum == kEflags) {
        (regnum == kRip ? r.regs.rip : r.regs.rflags) = v;  // RFLAGS' upper half is reserved (zero)
        return Changed::Regs;
    }
    if (regnum < kFsBase) {  // selectors and x87: only what they already hold
        const bool same = regnum < kFirstX87
                              ? v == value_of(r, regnum)
                              : std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
        return same ? std::optional(Changed::None) : std::nullopt;
    }
    if (regnum == kFsBase || regnum == kGsBase) {
        (regnum == kFsBase ? r.sregs.fs : r.sregs.gs).base = v;
        return Changed::Sregs;
    }
    r.sregs.*kControl[regnum - kFirstControl] = v;
    return Changed::Sregs;
}

}  // namespace trapeze::gdb
