#include "arch/x86_64/pvh.hpp"

#include <elf.h>

#include <cstring>

namespace trapeze::x86 {
namespace {

bool in_bounds(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

template <typename T>
bool read_at(std::span<const uint8_t> data, uint64_t off, T& out) {
    if (!in_bounds(off, sizeof(T), data.size())) return false;
    std::memcpy(&out, data.data() + off, sizeof(T));
    return true;
}

uint64_t align4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }

// ELF notes (gABI "Note Section"): namesz, descsz, type, name padded to 4, desc padded to 4.
std::optional<uint64_t> scan_notes(std::span<const uint8_t> notes) {
    uint64_t off = 0;
    while (off + sizeof(Elf64_Nhdr) <= notes.size()) {
        Elf64_Nhdr nh{};
        read_at(notes, off, nh);
        const uint64_t name_off = off + sizeof(nh);
        const uint64_t desc_off = name_off + align4(nh.n_namesz);
        if (!in_bounds(desc_off, nh.n_descsz, notes.size())) return std::nullopt;
        const bool is_xen = nh.n_namesz == 4 && std::memcmp(notes.data() + name_off, "Xen", 4) == 0;
        if (is_xen && nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY) {
            if (nh.n_descsz == 4) {
                uint32_t v = 0;
                read_at(notes, desc_off, v);
                return v;
            }
            if (nh.n_descsz == 8) {
                uint64_t v = 0;
                read_at(notes, desc_off, v);
                return v;
            }
            return std::nullopt;
        }
        off = desc_off + align4(nh.n_descsz);
    }
    return std::nullopt;
}

}  // namespace

std::optional<uint64_t> find_pvh_entry(std::span<const uint8_t> elf) {
    Elf64_Ehdr eh{};
    if (!read_at(elf, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return std::nullopt;
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) return std::nullopt;
    // The note segments of a file do not overlap, so together they hold at most the file.
    // Segments that name more overlap: a crafted file, where scanning each in full would cost
    // segments times file size (65535 segments naming one region of a kernel-sized file: hours).
    uint64_t unscanned = elf.size();
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        if (!read_at(elf, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), ph)) return std::nullopt;
        if (ph.p_type != PT_NOTE || !in_bounds(ph.p_offset, ph.p_filesz, elf.size())) continue;
        if (ph.p_filesz > unscanned) return std::nullopt;
        unscanned -= ph.p_filesz;
        if (auto entry = scan_notes(elf.subspan(ph.p_offset, ph.p_filesz))) return entry;
    }
    return std::nullopt;
}

Result<void> write_pvh_start_info(GuestMemory& mem, const PvhBootInfo& info) {
    const uint64_t memmap_bytes = info.memmap.size() * sizeof(HvmMemmapEntry);
    const uint64_t modlist_addr = kMemmapAddr + memmap_bytes;
    if (modlist_addr + sizeof(HvmModlistEntry) > kZeroPageAddr)
        return make_error("PVH memory map has too many entries ({})", info.memmap.size());
    if (info.cmdline.size() + 1 > kCmdlineMax)
        return make_error("kernel command line is {} bytes, at most {}", info.cmdline.size(), kCmdlineMax - 1);

    HvmStartInfo si{};
    si.magic = XEN_HVM_START_MAGIC_VALUE;
    si.version = 1;
    si.cmdline_paddr = kCmdlineAddr;
    si.rsdp_paddr = info.rsdp;
    si.memmap_paddr = kMemmapAddr;
    si.memmap_entries = static_cast<uint32_t>(info.memmap.size());
    for (size_t i = 0; i < info.memmap.size(); ++i) {
        const auto& e = info.memmap[i];
        HvmMemmapEntry me{e.addr, e.size, static_cast<uint32_t>(e.type), 0};
        if (!mem.write(Gpa(kMemmapAddr + i * sizeof me), {reinterpret_cast<const uint8_t*>(&me), sizeof me}))
            return make_error("PVH memory map outside guest RAM");
    }
    if (info.initrd) {
        HvmModlistEntry mod{info.initrd->first, info.initrd->second, 0, 0};
        if (!mem.write(Gpa(modlist_addr), {reinterpret_cast<const uint8_t*>(&mod), sizeof mod}))
            return make_error("PVH module list outside guest RAM");
        si.nr_modules = 1;
        si.modlist_paddr = modlist_addr;
    }
    std::vector<uint8_t> cmdline(info.cmdline.begin(), info.cmdline.end());
    cmdline.push_back(0);
    if (!mem.write(Gpa(kCmdlineAddr), cmdline)) return make_error("command line outside guest RAM");
    if (!mem.write(Gpa(kStartInfoAddr), {reinterpret_cast<const uint8_t*>(&si), sizeof si}))
        return make_error("PVH start info outside guest RAM");
    return ok();
}

}  // namespace trapeze::x86
