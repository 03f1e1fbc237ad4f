// Placing firmware, kernel, initrd and device tree in guest RAM the way QEMU's virt
// board does, so Debian's OpenSBI fw_jump.bin finds the kernel at RAM + 2 MiB
// (FW_JUMP_ADDR) and the FDT through a1.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "arch/riscv64/board.hpp"
#include "base/result.hpp"
#include "machine/machine_config.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::machine {

struct BootPlan {
    uint64_t entry = 0;     // first pc of every hart (M-mode)
    uint64_t fdt_addr = 0;  // passed in a1
    std::optional<uint64_t> tohost;    // HTIF mailbox of bare-metal test programs
    std::optional<uint64_t> fromhost;
};

inline constexpr uint64_t kKernelOffset = 0x200000;  // fw_jump's FW_JUMP_ADDR - RAM base
inline constexpr uint64_t kFdtMaxSize = 0x10000;

// Loads firmware/kernel/initrd, fills board.initrd, and returns where to start.
// The FDT itself is written by the caller at plan.fdt_addr once it is built.
Result<BootPlan> load_boot_images(const MachineConfig& cfg, GuestMemory& mem, arch::riscv64::BoardConfig& board);

// The kernel step of load_boot_images for a kernel already in memory (the fuzz target's way
// in): an ELF file is loaded by its physical addresses, a Linux Image copied to `at`, with the
// same checks and errors (`name` stands for the path in them). Returns the end of the kernel
// in RAM, bss included.
Result<uint64_t> load_kernel_bytes(std::span<const uint8_t> file, GuestMemory& mem, uint64_t at, std::string_view name);

}  // namespace trapeze::machine
