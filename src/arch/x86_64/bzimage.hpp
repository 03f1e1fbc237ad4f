// The Linux/x86 boot protocol for a bzImage entered at its 64-bit entry point
// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"; the zero page layout from
// Documentation/arch/x86/zero-page.rst): the protected-mode kernel is loaded at its preferred
// address, struct boot_params gets a copy of the image's setup header plus the command line,
// initrd, e820 map and RSDP, and the vCPU starts in long mode with the boot GDT (__BOOT_CS
// 0x10, __BOOT_DS 0x18), an identity map of the low 4 GiB and %rsi = boot_params.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arch/x86_64/layout.hpp"
#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::x86 {

// Offsets in struct boot_params (zero-page.rst) and in its setup header (boot.rst).
namespace bp {
constexpr size_t kAcpiRsdpAddr = 0x070;
constexpr size_t kExtRamdiskImage = 0x0c0;
constexpr size_t kExtRamdiskSize = 0x0c4;
constexpr size_t kExtCmdLinePtr = 0x0c8;
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kSetupHeader = 0x1f1;
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;  // 0xaa55
constexpr size_t kJump = 0x200;      // the header ends at 0x202 + byte at 0x201
constexpr size_t kHeader = 0x202;    // "HdrS"
constexpr size_t kVersion = 0x206;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadflags = 0x211;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kKernelAlignment = 0x230;
constexpr size_t kRelocatableKernel = 0x234;
constexpr size_t kXloadflags = 0x236;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kPrefAddress = 0x258;
constexpr size_t kInitSize = 0x260;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820Max = 128;
constexpr size_t kSize = 4096;
}  // namespace bp

constexpr uint16_t kMinBootProtocol = 0x020c;  // 2.12: xloadflags, XLF_KERNEL_64
constexpr uint16_t kXlfKernel64 = 1u << 0;     // has the 64-bit entry at load address + 0x200
constexpr uint8_t kLoadedHigh = 1u << 0;
constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
constexpr uint64_t kEntry64Offset = 0x200;

struct BzImage {
    uint16_t version = 0;
    uint64_t load_address = 0;              // where the protected-mode kernel goes
    uint64_t init_size = 0;                 // memory the kernel needs from load_address on
    uint32_t initrd_addr_max = 0;
    uint32_t cmdline_size = 0;
    std::span<const uint8_t> setup_header;  // bytes 0x1f1 .. end of header
    std::span<const uint8_t> kernel;        // the protected-mode kernel
};

bool looks_like_bzimage(std::span<const uint8_t> image);
// Validates the header (magic, protocol >= 2.12, a 64-bit entry) and every size against the file.
Result<BzImage> parse_bzimage(std::span<const uint8_t> image);

struct LinuxBootInfo {
    std::vector<E820Entry> e820;
    std::string cmdline;
    std::optional<std::pair<uint64_t, uint64_t>> initrd;  // paddr, size
    uint64_t rsdp = 0;
};

// Copies the kernel to its load address and writes boot_params at kZeroPageAddr and the
// command line at kCmdlineAddr. Returns the 64-bit entry point.
Result<uint64_t> load_bzimage(GuestMemory& mem, const BzImage& image, const LinuxBootInfo& info);

// The GDT at kGdtAddr and 2 MiB-page identity tables for the low 4 GiB at kPml4Addr, and the
// long-mode register state that uses them (boot.rst "64-bit Boot Protocol").
Result<void> write_boot_page_tables_and_gdt(GuestMemory& mem);
void set_linux64_entry_state(kvm_sregs& sregs, kvm_regs& regs, uint64_t entry, uint64_t boot_params);

}  // namespace trapeze::x86
