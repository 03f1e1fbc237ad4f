#include "loader/elf_image.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "loader/kernel_format.hpp"

namespace trapeze::loader {

namespace {

// True if [off, off+len) lies inside a buffer of `size` bytes, without overflow.
bool in_bounds(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

template <typename T>
bool read_struct(std::span<const uint8_t> data, uint64_t off, T& out) {
    if (!in_bounds(off, sizeof(T), data.size())) return false;
    std::memcpy(&out, data.data() + off, sizeof(T));
    return true;
}

}  // namespace

bool ElfImage::looks_like_elf(std::span<const uint8_t> data) {
    return data.size() >= SELFMAG && std::memcmp(data.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfImage> ElfImage::parse(std::vector<uint8_t> data, uint16_t machine) {
    ElfImage img;
    img.m_data = std::move(data);
    TRAPEZE_TRY(img.parse_segments(machine));
    img.parse_symbols();
    return img;
}

Result<void> ElfImage::parse_segments(uint16_t machine) {
    Elf64_Ehdr eh{};
    if (!looks_like_elf(m_data) || !read_struct(m_data, 0, eh)) return make_error("not an ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return make_error("not a 64-bit little-endian ELF file");
    if (eh.e_machine != machine)
        return make_error("ELF file is for {}, not {}", elf_machine_name(eh.e_machine), elf_machine_name(machine));
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return make_error("ELF file is not an executable");
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) return make_error("ELF program header size {} is invalid", eh.e_phentsize);
    m_entry = eh.e_entry;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        if (!read_struct(m_data, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), ph))
            return make_error("ELF program header {} lies outside the file", i);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        if (!in_bounds(ph.p_offset, ph.p_filesz, m_data.size()))
            return make_error("ELF segment {} lies outside the file", i);
        if (ph.p_filesz > ph.p_memsz) return make_error("ELF segment {} has file size above memory size", i);
        if (ph.p_paddr + ph.p_memsz < ph.p_paddr) return make_error("ELF segment {} wraps the address space", i);
        m_segments.push_back(Segment{ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    }
    if (m_segments.empty()) return make_error("ELF file has no loadable segment");
    return ok();
}

void ElfImage::parse_symbols() {
    // Symbols are optional: a malformed table only means no symbols. gABI: a file has at most
    // one SHT_SYMTAB; reading only the first keeps the work linear in the file's size (a
    // crafted file of n section headers all naming one table of m symbols made n * m).
    Elf64_Ehdr eh{};
    if (!read_struct(m_data, 0, eh) || eh.e_shentsize != sizeof(Elf64_Shdr)) return;
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr sh{};
        if (!read_struct(m_data, eh.e_shoff + uint64_t{i} * sizeof(Elf64_Shdr), sh) || sh.sh_type != SHT_SYMTAB) continue;
        Elf64_Shdr strtab{};
        if (!read_struct(m_data, eh.e_shoff + uint64_t{sh.sh_link} * sizeof(Elf64_Shdr), strtab)) return;
        if (!in_bounds(strtab.sh_offset, strtab.sh_size, m_data.size()) || !in_bounds(sh.sh_offset, sh.sh_size, m_data.size()))
            return;
        m_strtab_end = strtab.sh_offset + strtab.sh_size;
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym{};
            read_struct(m_data, sh.sh_offset + off, sym);
            if (sym.st_name >= strtab.sh_size) continue;
            m_symbols.push_back(Symbol{strtab.sh_offset + sym.st_name, sym.st_value});
        }
        return;
    }
}

std::optional<uint64_t> ElfImage::symbol(const std::string& name) const {
    for (const Symbol& s : m_symbols) {
        // The name matches if its bytes are there and end at a NUL or at the table's end.
        const uint64_t room = m_strtab_end - s.name;
        if (name.size() > room || std::memcmp(m_data.data() + s.name, name.data(), name.size()) != 0) continue;
        if (name.size() == room || m_data[s.name + name.size()] == 0) return s.value;
    }
    return std::nullopt;
}

Result<void> ElfImage::load(GuestMemory& mem) const {
    for (const Segment& s : m_segments) {
        auto dst = mem.span(Gpa(s.paddr), s.mem_size);
        if (dst.size() != s.mem_size)
            return make_error("ELF segment at {:#x}..{:#x} lies outside guest RAM ({:#x}..{:#x})", s.paddr,
                              s.paddr + s.mem_size, mem.base().value, mem.end().value);
        std::memcpy(dst.data(), m_data.data() + s.file_offset, s.file_size);
        std::memset(dst.data() + s.file_size, 0, s.mem_size - s.file_size);
    }
    return ok();
}

std::pair<uint64_t, uint64_t> ElfImage::extent() const {
    uint64_t lo = ~0ull, hi = 0;
    for (const Segment& s : m_segments) {
        lo = std::min(lo, s.paddr);
        hi = std::max(hi, s.paddr + s.mem_size);
    }
    return {lo, hi};
}

}  // namespace trapeze::loader
