#include "gdb/riscv_monitor.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "arch/riscv64/board.hpp"
#include "gdb/riscv_registers.hpp"
#include "rv64/csr.hpp"

namespace trapeze::gdb {

namespace {

constexpr size_t kMaxMappingLines = 1000;  // a big process maps more; the rest is summarised
// Tables one `info tlb` reads (512 entries each, 8 M in all): more than a guest tree of any
// plausible size, and a bound on the work of one a guest shaped to be endless.
constexpr size_t kMaxTables = 16384;

std::string board_map(machine::RiscvMachine& m) {
    std::string out = fmt::format("{:#012x}-{:#012x} ram ({} MiB)\n", m.memory().base().value,
                                  m.memory().end().value - 1, m.memory().size() >> 20);
    for (const MmioBus::Range& r : m.bus().ranges())
        out += fmt::format("{:#012x}-{:#012x} {}\n", r.base, r.base + r.size - 1, r.name);
    return out;
}

std::string harts(machine::RiscvMachine& m) {
    std::string out;
    for (unsigned i = 0; i < m.hart_count(); ++i) {
        const rv64::Hart& h = m.hart(i);
        out += fmt::format("hart {}: pc {:#x} {}-mode satp {:#x}{}\n", i, h.s.pc, priv_name(h.s.priv), h.s.satp,
                           h.s.wfi ? " (WFI)" : "");
    }
    return out;
}

// A page-table walk of the whole tree (priv spec §4.3-4.6), printing leaves as runs of
// contiguous virtual and physical addresses with the same permissions. The tree is the guest's
// to shape: a pointer back to a table on its own walk (a recursive mapping, which the hardware
// walk survives as it stops after `levels` steps) is not followed, and the walk reads at most
// kMaxTables tables, as tables shared by many entries repeat the work 512 times per level.
class MappingDump {
public:
    MappingDump(GuestMemory& mem, unsigned levels) : m_mem(mem), m_levels(levels) {}

    std::string run(uint64_t root) {
        walk(root, m_levels - 1, 0);
        flush();
        if (m_lines >= kMaxMappingLines) m_out += fmt::format("... ({} more runs)\n", m_dropped);
        if (m_out.empty()) m_out = "no mappings\n";
        if (m_loops != 0)
            m_out += fmt::format("({} entries point back to a table on their own walk, a recursive mapping: "
                                 "not followed)\n", m_loops);
        if (m_cut) m_out += fmt::format("(walk cut after {} tables: the dump is incomplete)\n", kMaxTables);
        return m_out;
    }

private:
    void walk(uint64_t table, unsigned level, uint64_t va_prefix) {
        if (m_tables == kMaxTables) {
            m_cut = true;
            return;
        }
        ++m_tables;
        m_path.push_back(table);
        for (uint64_t i = 0; i < 512 && !m_cut; ++i) {
            uint64_t pte = 0;
            if (!m_mem.read(Gpa(table + i * 8), std::span(reinterpret_cast<uint8_t*>(&pte), 8))) break;
            if ((pte & 1) != 0) entry(pte, level, va_of(va_prefix, i, level));
        }
        m_path.pop_back();
    }

    // A valid PTE at `level`, which maps (or leads to the mappings of) `va`.
    void entry(uint64_t pte, unsigned level, uint64_t va) {
        const uint64_t pa = ((pte >> 10) & ((1ull << 44) - 1)) << 12;
        if ((pte & 0xe) != 0) return add(va, pa, uint64_t{1} << (12 + 9 * level), static_cast<unsigned>(pte & 0xfe));
        if (level == 0) return;  // a pointer at the last level: the walk faults (§4.3.2 step 4)
        if (std::find(m_path.begin(), m_path.end(), pa) != m_path.end()) {
            ++m_loops;
            return;
        }
        walk(pa, level - 1, va);
    }

    uint64_t va_of(uint64_t va_prefix, uint64_t index, unsigned level) const {
        uint64_t va = va_prefix | (index << (12 + 9 * level));
        const unsigned va_bits = 12 + 9 * m_levels;
        if ((va >> (va_bits - 1)) & 1) va |= ~0ull << va_bits;  // sign-extend (§4.3.1)
        return va;
    }

    void add(uint64_t va, uint64_t pa, uint64_t size, unsigned flags) {
        if (m_size != 0 && va == m_va + m_size && pa == m_pa + m_size && flags == m_flags) {
            m_size += size;
            return;
        }
        flush();
        m_va = va, m_pa = pa, m_size = size, m_flags = flags;
    }

    void flush() {
        if (m_size == 0) return;
        if (m_lines < kMaxMappingLines) {
            auto bit = [&](unsigned b, char c) { return (m_flags & b) != 0 ? c : '-'; };
            m_out += fmt::format("{:016x}-{:016x} -> {:#012x} {}{}{}{}{}{}{}\n", m_va, m_va + m_size - 1, m_pa,
                                 bit(2, 'r'), bit(4, 'w'), bit(8, 'x'), bit(16, 'u'), bit(32, 'g'), bit(64, 'a'),
                                 bit(128, 'd'));
            ++m_lines;
        } else {
            ++m_dropped;
        }
        m_size = 0;
    }

    GuestMemory& m_mem;
    const unsigned m_levels;
    std::string m_out;
    std::vector<uint64_t> m_path;  // the tables from the root to the one being read
    size_t m_tables = 0;           // tables read so far
    size_t m_loops = 0;            // pointers back into m_path, not followed
    bool m_cut = false;            // kMaxTables reached
    uint64_t m_va = 0, m_pa = 0, m_size = 0;
    unsigned m_flags = 0;
    size_t m_lines = 0, m_dropped = 0;
};

std::optional<std::string> mappings(machine::RiscvMachine& m, std::string_view arg) {
    unsigned hart = 0;
    if (!arg.empty()) {
        const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), hart);
        if (ec != std::errc{} || end != arg.data() + arg.size() || hart >= m.hart_count())
            return fmt::format("no hart '{}' (there are {})\n", arg, m.hart_count());
    }
    const uint64_t satp = m.hart(hart).s.satp;
    const uint64_t mode = satp >> 60;
    const unsigned levels = mode == rv64::csr::SATP_MODE_SV39   ? 3
                            : mode == rv64::csr::SATP_MODE_SV48 ? 4
                            : mode == rv64::csr::SATP_MODE_SV57 ? 5
                                                                : 0;
    if (levels == 0) return fmt::format("hart {}: satp {:#x}: no translation (Bare)\n", hart, satp);
    return fmt::format("hart {}: satp {:#x} (Sv{})\n", hart, satp, 12 + 9 * levels) +
           MappingDump(m.memory(), levels).run((satp & rv64::csr::SATP_PPN_MASK) << 12);
}

// Appended to the session's own list (phys, sstep, help), in its columns.
std::string help() {
    return "info mtree      the board's map: RAM and every device window\n"
           "info harts      each hart's pc, privilege, satp and whether it waits in WFI\n"
           "info tlb [HART] the mappings of hart HART's (0's) page table, VA -> PA with permissions\n"
           "info mem [HART] the same as info tlb\n";
}

}  // namespace

std::optional<std::string> riscv_monitor(machine::RiscvMachine& m, std::string_view command) {
    while (!command.empty() && command.back() == ' ') command.remove_suffix(1);
    if (command == "help") return help();
    if (command == "info mtree") return board_map(m);
    if (command == "info harts") return harts(m);
    if (command == "info tlb" || command == "info mem") return mappings(m, {});
    for (std::string_view prefix : {"info tlb ", "info mem "}) {
        if (command.starts_with(prefix)) return mappings(m, command.substr(prefix.size()));
    }
    return std::nullopt;
}

}  // namespace trapeze::gdb
