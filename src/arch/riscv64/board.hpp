// The RISC-V board: QEMU's `virt` machine memory map (QEMU 7.2 hw/riscv/virt.c), so that
// Debian's OpenSBI (fw_jump) and Linux find every device where they expect it, plus the
// configuration the device tree is built from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace trapeze::arch::riscv64 {

// --- memory map -----------------------------------------------------------------------------
constexpr uint64_t kTestBase = 0x100000;  // SifiveTest (poweroff / reboot)
constexpr uint64_t kTestSize = 0x1000;
constexpr uint64_t kRtcBase = 0x101000;  // GoldfishRtc
constexpr uint64_t kRtcSize = 0x1000;
constexpr uint64_t kClintBase = 0x2000000;
constexpr uint64_t kClintSize = 0x10000;
constexpr uint64_t kPlicBase = 0xc000000;
constexpr uint64_t kPlicSize = 0x600000;  // QEMU sizes it for 512 harts x 2 contexts
constexpr uint64_t kUartBase = 0x10000000;
constexpr uint64_t kUartSize = 0x100;
constexpr uint64_t kVirtioBase = 0x10001000;  // virtio-mmio slot i at kVirtioBase + i * kVirtioStride
constexpr uint64_t kVirtioStride = 0x1000;
constexpr unsigned kVirtioCount = 8;
constexpr uint64_t kRamBase = 0x80000000;

// --- PLIC interrupt sources -----------------------------------------------------------------
constexpr unsigned kVirtioIrqBase = 1;  // slot i raises source kVirtioIrqBase + i
constexpr unsigned kUartIrq = 10;
constexpr unsigned kRtcIrq = 11;
constexpr unsigned kPlicNdev = 95;  // "riscv,ndev": sources 1..95 (QEMU 7.2 says 96, off by one)

// --- UART -----------------------------------------------------------------------------------
constexpr uint32_t kUartClockHz = 0x384000;  // 3.6864 MHz, QEMU's value; baud math only

inline uint64_t virtio_base(unsigned slot) {
    return kVirtioBase + slot * kVirtioStride;
}
inline unsigned virtio_irq(unsigned slot) {
    return kVirtioIrqBase + slot;
}

// /chosen/rng-seed: random bytes the guest's kernel takes in before anything else runs (Linux
// credits them to its pool, drivers/of/fdt.c, so its random numbers are ready at once instead of
// waiting for interrupts' timing to seed it); 32, as QEMU's virt board gives.
constexpr size_t kRngSeedBytes = 32;

// Linux's COMMAND_LINE_SIZE on riscv64 (arch/riscv/include/uapi/asm/setup.h) less its NUL:
// the kernel cuts a longer bootargs without a word, and with it whatever came last (the
// root= a drive adds).
inline constexpr size_t kMaxBootargs = 1023;

// A kernel command line the board can pass whole: at most kMaxBootargs bytes and no control
// characters (a NUL would end the device tree's string early; Firecracker takes printable ASCII).
inline Result<void> check_bootargs(std::string_view args) {
    if (args.size() > kMaxBootargs)
        return make_error("kernel command line is {} bytes, Linux on riscv64 takes at most {}", args.size(), kMaxBootargs);
    for (size_t i = 0; i < args.size(); ++i) {
        const auto c = static_cast<unsigned char>(args[i]);
        if (c < 0x20 || c == 0x7f) return make_error("kernel command line has a control character (0x{:02x}) at byte {}", c, i);
    }
    return ok();
}

struct BoardConfig {
    uint64_t ram_size = 0;
    unsigned num_harts = 1;
    // riscv,isa, e.g. "rv64imafdc_zicsr_zifencei_zicntr_zba_zbb_zbs_zicbom_zicboz_sstc".
    std::string isa;
    // riscv,isa-extensions (Linux >= 6.7 prefers it): "i", "m", "a", "f", "d", "c", "zicsr", ...
    // "zicbom" / "zicboz" here also emit riscv,cbom-block-size / riscv,cboz-block-size.
    std::vector<std::string> isa_extensions;
    std::string bootargs;
    std::optional<std::pair<uint64_t, uint64_t>> initrd;  // [start, end) guest-physical
    unsigned virtio_slots = 0;                            // 0..kVirtioCount
    uint64_t timebase_hz = 10'000'000;                    // GuestClock::kHz
    std::string mmu_type = "riscv,sv57";                  // the deepest mode satp accepts
    uint32_t cache_block_size = 64;                       // Zicbom/Zicboz block size in bytes
    std::vector<uint8_t> rng_seed;                        // /chosen/rng-seed when not empty
};

}  // namespace trapeze::arch::riscv64
