// ElfImage: a parsed, validated ELF64 executable ready to be copied into guest RAM.
// The file is untrusted: every offset and size is checked before use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::loader {

class ElfImage {
public:
    struct Segment {
        uint64_t paddr;
        uint64_t file_offset;
        uint64_t file_size;
        uint64_t mem_size;
    };

    static bool looks_like_elf(std::span<const uint8_t> data);
    // Parses an ELF64 little-endian executable for `machine` (EM_RISCV, EM_X86_64).
    static Result<ElfImage> parse(std::vector<uint8_t> data, uint16_t machine);

    uint64_t entry() const { return m_entry; }
    const std::vector<Segment>& segments() const { return m_segments; }
    // Value of a symbol from the symbol table, if present (e.g. HTIF's "tohost").
    std::optional<uint64_t> symbol(const std::string& name) const;
    // Copies every PT_LOAD segment to its physical address; fails if one lies outside RAM.
    Result<void> load(GuestMemory& mem) const;
    // Lowest and highest (exclusive) physical address occupied by the segments.
    std::pair<uint64_t, uint64_t> extent() const;

private:
    Result<void> parse_segments(uint16_t machine);
    void parse_symbols();

    // A symbol's name is kept as where it starts in the string table: copies of the names
    // could cost the file's size once per symbol (every name may run to the table's end).
    struct Symbol {
        uint64_t name;  // offset in m_data of the name; it ends at a NUL or at m_strtab_end
        uint64_t value;
    };

    std::vector<uint8_t> m_data;
    uint64_t m_entry = 0;
    std::vector<Segment> m_segments;
    std::vector<Symbol> m_symbols;
    uint64_t m_strtab_end = 0;
};

}  // namespace trapeze::loader
