#include "gdb/x86_monitor.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <span>
#include <vector>

#include "arch/x86_64/layout.hpp"

namespace trapeze::gdb {
namespace {

constexpr uint64_t kCr0Pe = 1;
constexpr uint64_t kCr0Pg = uint64_t{1} << 31;
constexpr uint64_t kCr4Pae = uint64_t{1} << 5;
constexpr uint64_t kCr4La57 = uint64_t{1} << 12;
constexpr uint64_t kEferLma = uint64_t{1} << 10;
constexpr uint64_t kEferNxe = uint64_t{1} << 11;
constexpr size_t kMaxMappingLines = 1000;  // a big process maps more; the rest is summarised

std::string mode_of(const kvm_sregs& s) {
    if ((s.cr0 & kCr0Pe) == 0) return "real mode";
    const unsigned cpl = s.cs.selector & 3u;
    if ((s.efer & kEferLma) != 0) return fmt::format("{}, CPL {}", s.cs.l != 0 ? "64-bit" : "compatibility mode", cpl);
    return fmt::format("protected mode, CPL {}", cpl);
}

// KVM API doc §4.38: what an AP does before it is started, and HLT.
const char* run_state(uint32_t mp_state) {
    switch (mp_state) {
        case KVM_MP_STATE_UNINITIALIZED:
            return ", waiting for INIT";
        case KVM_MP_STATE_INIT_RECEIVED:
            return ", waiting for SIPI";
        case KVM_MP_STATE_HALTED:
            return ", halted";
        default:
            return "";
    }
}

std::optional<unsigned> vcpu_arg(const X86Machine& m, std::string_view arg) {
    unsigned index = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), index);
    if (ec != std::errc{} || end != arg.data() + arg.size() || index >= m.vcpu_count()) return std::nullopt;
    return index;
}

std::string segment(const char* name, const kvm_segment& s) {
    return fmt::format("  {:<4} {:#06x} base {:#018x} limit {:#010x} type {:#x} s {} dpl {} p {} db {} l {} g {}\n",
                       name, s.selector, s.base, s.limit, s.type, s.s, s.dpl, s.present, s.db, s.l, s.g);
}

std::string system_state(const X86Machine& m, unsigned index) {
    auto regs = m.vcpu_regs(index);
    auto sregs = m.vcpu_sregs(index);
    auto mp = m.vcpu_mp_state(index);
    if (!regs.ok() || !sregs.ok()) return fmt::format("vCPU {}: registers unavailable\n", index);
    const kvm_sregs& s = *sregs;
    std::string out = fmt::format("vCPU {}: rip {:#x} rflags {:#x}, {}{}\n", index, regs->rip, regs->rflags, mode_of(s),
                                  mp.ok() ? run_state(mp->mp_state) : "");
    out += fmt::format("  cr0 {:#x} cr2 {:#x} cr3 {:#x} cr4 {:#x} cr8 {:#x}\n  efer {:#x} apic_base {:#x}\n", s.cr0,
                       s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base);
    for (const auto& [name, seg] : {std::pair{"cs", &s.cs},
                                    {"ss", &s.ss},
                                    {"ds", &s.ds},
                                    {"es", &s.es},
                                    {"fs", &s.fs},
                                    {"gs", &s.gs},
                                    {"tr", &s.tr},
                                    {"ldt", &s.ldt}})
        out += segment(name, *seg);
    out += fmt::format("  gdt  base {:#018x} limit {:#06x}\n  idt  base {:#018x} limit {:#06x}\n", s.gdt.base,
                       s.gdt.limit, s.idt.base, s.idt.limit);
    return out;
}

std::string registers(const X86Machine& m, std::string_view arg) {
    if (!arg.empty()) {
        const auto index = vcpu_arg(m, arg);
        return index ? system_state(m, *index) : fmt::format("no vCPU '{}' (there are {})\n", arg, m.vcpu_count());
    }
    std::string out;
    for (unsigned i = 0; i < m.vcpu_count(); ++i) out += system_state(m, i);
    return out;
}

std::string vcpus(const X86Machine& m) {
    std::string out;
    for (unsigned i = 0; i < m.vcpu_count(); ++i) {
        auto regs = m.vcpu_regs(i);
        out += fmt::format("{}: rip {:#x}\n", x86_vcpu_summary(m, i), regs.ok() ? regs->rip : 0);
    }
    return out;
}

std::string board_map(X86Machine& m) {
    return fmt::format(
        "{:#012x}-{:#012x} ram ({} MiB)\n"
        "{:#012x}-           virtio-mmio, one {:#x}-byte slot per disk\n"
        "{:#012x}-{:#012x} ioapic (in KVM)\n"
        "{:#012x}-{:#012x} local apic (in KVM)\n"
        "ports: {:#x}-{:#x} com1 (GSI {}), {:#x}-{:#x} acpi sleep control/status, {:#x} i8042 (reset)\n",
        m.memory().base().value, m.memory().end().value - 1, m.memory().size() >> 20, x86::kVirtioBase,
        x86::kVirtioStride, x86::kIoApicAddr, x86::kIoApicAddr + 0xfff, x86::kLocalApicAddr,
        x86::kLocalApicAddr + 0xfff, x86::kCom1Port, x86::kCom1Port + 7, x86::kCom1Gsi, x86::kSleepControlPort,
        x86::kSleepStatusPort, x86::kI8042CommandPort);
}

// A walk of the whole paging tree (Intel SDM Vol. 3A §4.4, §4.5: 8-byte entries), printing the
// pages as runs of contiguous linear and physical addresses with the same permissions.
class MappingDump {
public:
    MappingDump(const GuestMemory& mem, bool nx, unsigned linear_bits) : m_mem(mem), m_nx(nx), m_bits(linear_bits) {}

    std::string run(uint64_t root, std::span<const unsigned> shifts, bool gib_pages) {
        m_shifts = shifts;
        m_gib = gib_pages;
        walk(root, 0, 0, kAll);
        flush();
        if (m_dropped != 0) m_out += fmt::format("... ({} more runs)\n", m_dropped);
        return m_out.empty() ? "no mappings\n" : m_out;
    }

private:
    static constexpr unsigned kW = 1, kU = 2, kX = 4, kAll = kW | kU | kX;

    unsigned permissions(uint64_t entry) const {
        return ((entry & 2) != 0 ? kW : 0) | ((entry & 4) != 0 ? kU : 0) | (m_nx && (entry >> 63) != 0 ? 0 : kX);
    }

    void walk(uint64_t table, size_t level, uint64_t prefix, unsigned perms) {
        const unsigned shift = m_shifts[level];
        const uint64_t entries = level == 0 && m_bits == 32 ? 4 : 512;  // PAE's PDPT
        for (uint64_t i = 0; i < entries; ++i) {
            uint64_t e = 0;
            if (!m_mem.read(Gpa(table + i * 8), std::span(reinterpret_cast<uint8_t*>(&e), 8))) return;
            if ((e & 1) == 0) continue;
            uint64_t linear = prefix | (i << shift);
            if (m_bits > 32 && ((linear >> (m_bits - 1)) & 1) != 0) linear |= ~uint64_t{0} << m_bits;  // canonical
            // PAE's PDPTEs have no permission bits (SDM Table 4-8).
            const unsigned p = m_bits == 32 && level == 0 ? perms : perms & permissions(e);
            const bool leaf = shift == 12 || ((e & 0x80) != 0 && (shift == 21 || (shift == 30 && m_gib)));
            const uint64_t frame = e & 0x000f'ffff'ffff'f000 & ~((uint64_t{1} << shift) - 1);
            if (leaf)
                add(linear, frame, uint64_t{1} << shift, p);
            else
                walk(e & 0x000f'ffff'ffff'f000, level + 1, linear, p);
        }
    }

    void add(uint64_t linear, uint64_t pa, uint64_t size, unsigned perms) {
        if (m_size != 0 && linear == m_linear + m_size && pa == m_pa + m_size && perms == m_perms) {
            m_size += size;
            return;
        }
        flush();
        m_linear = linear, m_pa = pa, m_size = size, m_perms = perms;
    }

    void flush() {
        if (m_size == 0) return;
        if (m_lines++ < kMaxMappingLines) {
            const auto bit = [this](unsigned b, char c) { return (m_perms & b) != 0 ? c : '-'; };
            m_out += fmt::format("{:016x}-{:016x} -> {:#012x} r{}{}{}\n", m_linear, m_linear + m_size - 1, m_pa,
                                 bit(kW, 'w'), bit(kX, 'x'), bit(kU, 'u'));
        } else {
            ++m_dropped;
        }
        m_size = 0;
    }

    const GuestMemory& m_mem;
    const bool m_nx;
    const unsigned m_bits;
    std::span<const unsigned> m_shifts;
    bool m_gib = false;
    std::string m_out;
    uint64_t m_linear = 0, m_pa = 0, m_size = 0;
    unsigned m_perms = 0;
    size_t m_lines = 0, m_dropped = 0;
};

std::string mappings(X86Machine& m, std::string_view arg) {
    const auto index = arg.empty() ? std::optional<unsigned>(0) : vcpu_arg(m, arg);
    if (!index) return fmt::format("no vCPU '{}' (there are {})\n", arg, m.vcpu_count());
    auto sregs = m.vcpu_sregs(*index);
    if (!sregs.ok()) return fmt::format("vCPU {}: {}\n", *index, sregs.error().message);
    const kvm_sregs& s = *sregs;
    const std::string head = fmt::format("vCPU {}: cr3 {:#x}", *index, s.cr3);
    if ((s.cr0 & kCr0Pg) == 0) return head + ": paging off, linear = physical\n";
    const bool nx = (s.efer & kEferNxe) != 0;
    static constexpr unsigned kFour[] = {39, 30, 21, 12}, kFive[] = {48, 39, 30, 21, 12}, kPae[] = {30, 21, 12};
    if ((s.efer & kEferLma) != 0 && (s.cr4 & kCr4La57) != 0)
        return head + " (5-level)\n" + MappingDump(m.memory(), nx, 57).run(s.cr3 & 0x000f'ffff'ffff'f000, kFive, true);
    if ((s.efer & kEferLma) != 0)
        return head + " (4-level)\n" + MappingDump(m.memory(), nx, 48).run(s.cr3 & 0x000f'ffff'ffff'f000, kFour, true);
    if ((s.cr4 & kCr4Pae) != 0)
        return head + " (PAE)\n" + MappingDump(m.memory(), nx, 32).run(s.cr3 & 0xffff'ffe0, kPae, false);
    return head + ": 32-bit paging, not listed\n";
}

std::string help() {
    return "info registers [N]  vCPU N's (every vCPU's) control registers, segments, GDT/IDT\n"
           "info vcpus          each vCPU's rip, mode and run state\n"
           "info mtree          the board's memory map and ports\n"
           "info tlb [N]        the mappings of vCPU N's (0's) page tables\n";
}

}  // namespace

std::string x86_vcpu_summary(const X86Machine& m, unsigned index) {
    auto sregs = m.vcpu_sregs(index);
    auto mp = m.vcpu_mp_state(index);
    if (!sregs.ok()) return fmt::format("vCPU {}", index);
    return fmt::format("vCPU {}, {}{}", index, mode_of(*sregs), mp.ok() ? run_state(mp->mp_state) : "");
}

std::optional<std::string> x86_monitor(X86Machine& m, std::string_view command) {
    while (!command.empty() && command.back() == ' ') command.remove_suffix(1);
    if (command == "help") return help();
    if (command == "info mtree") return board_map(m);
    if (command == "info vcpus") return vcpus(m);
    if (command == "info registers") return registers(m, {});
    if (command.starts_with("info registers ")) return registers(m, command.substr(15));
    if (command == "info tlb") return mappings(m, {});
    if (command.starts_with("info tlb ")) return mappings(m, command.substr(9));
    return std::nullopt;
}

}  // namespace trapeze::gdb
