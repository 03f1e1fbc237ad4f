// The PVH boot ABI (Xen's "x86/HVM direct boot ABI", docs/misc/pvh.pandoc; Linux
// arch/x86/platform/pvh): the kernel is an ELF file whose XEN_ELFNOTE_PHYS32_ENTRY note names
// a 32-bit protected-mode entry point; the VMM passes a struct hvm_start_info in %ebx
// (xen/include/public/arch-x86/hvm/start_info.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arch/x86_64/layout.hpp"
#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::x86 {

constexpr uint32_t XEN_ELFNOTE_PHYS32_ENTRY = 18;
constexpr uint32_t XEN_HVM_START_MAGIC_VALUE = 0x336ec578;

// start_info.h, version 1 (56 bytes).
struct HvmStartInfo {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);

struct HvmModlistEntry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

struct HvmMemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(HvmMemmapEntry) == 24);

// The PVH entry point from the ELF file's PT_NOTE segments: a note with name "Xen" and type
// XEN_ELFNOTE_PHYS32_ENTRY whose 4- or 8-byte descriptor is the entry's physical address.
// nullopt if the file has no such note; the file is untrusted (every offset is checked).
std::optional<uint64_t> find_pvh_entry(std::span<const uint8_t> elf);

struct PvhBootInfo {
    std::vector<E820Entry> memmap;
    std::string cmdline;
    std::optional<std::pair<uint64_t, uint64_t>> initrd;  // paddr, size
    uint64_t rsdp = 0;                                     // 0: none
};

// Writes hvm_start_info at kStartInfoAddr, the memory map after it, the command line at
// kCmdlineAddr and the module list (the initrd) after the memory map.
Result<void> write_pvh_start_info(GuestMemory& mem, const PvhBootInfo& info);

}  // namespace trapeze::x86
