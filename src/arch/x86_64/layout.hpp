// The x86-64 board's guest-physical map: where the VMM places boot structures, which ranges
// are RAM in the e820 map, and where the devices sit.
//
//   0x0000_0000  RAM (e820 RAM up to kLowRamEnd)
//   0x0000_6000    PVH hvm_start_info, its memory map right after it
//   0x0000_7000    boot_params ("zero page") for the bzImage 64-bit entry
//   0x0000_9000    GDT for the 64-bit entry; page tables from 0xa000 (PML4, PDPT, 4 PDs)
//   0x0002_0000    kernel command line (kCmdlineMax bytes)
//   0x0009_fc00  reserved (EBDA .. BIOS area); ACPI tables at kAcpiBase
//   0x0010_0000  RAM to the end of guest memory (kernels load at their ELF physical address)
//   0xd000_0000  virtio-mmio slots, kVirtioStride apart, GSIs kVirtioGsis
//   0xfec0_0000  IOAPIC, 0xfee0_0000 local APICs (in-kernel)
//
// Guest memory is one region at 0 and must end below kMmioHoleStart (3 GiB).
// Ports: 0x3f8 COM1 (GSI 4), 0x600 ACPI sleep control/status, 0x64 i8042 reset.
#pragma once

#include <array>
#include <cstdint>

namespace trapeze::x86 {

constexpr uint64_t kStartInfoAddr = 0x6000;
constexpr uint64_t kMemmapAddr = 0x6040;
constexpr uint64_t kZeroPageAddr = 0x7000;
constexpr uint64_t kGdtAddr = 0x9000;
constexpr uint64_t kPml4Addr = 0xa000;
constexpr uint64_t kCmdlineAddr = 0x20000;
constexpr uint64_t kCmdlineMax = 0x10000;
constexpr uint64_t kEbdaStart = 0x9fc00;
constexpr uint64_t kAcpiBase = 0xe0000;  // in the range Linux scans for the RSDP (ACPI 6.5 §5.2.5.1)
constexpr uint64_t kAcpiEnd = 0x100000;
constexpr uint64_t kHighRamStart = 0x100000;
constexpr uint64_t kMmioHoleStart = 0xc0000000;

constexpr uint64_t kVirtioBase = 0xd0000000;
constexpr uint64_t kVirtioStride = 0x1000;
constexpr uint64_t kVirtioQueueNotify = 0x050;  // QueueNotify register offset, virtio 1.2 §4.2.2
// ISA interrupts no PC device of this board uses (8 RTC, 9 ACPI SCI, 13 FPU are avoided),
// edge-triggered active-high, as both the ACPI tables and `virtio_mmio.device=` present them.
constexpr std::array<uint32_t, 8> kVirtioGsis = {5, 6, 7, 10, 11, 12, 14, 15};

constexpr uint64_t kIoApicAddr = 0xfec00000;
constexpr uint64_t kLocalApicAddr = 0xfee00000;

constexpr uint16_t kCom1Port = 0x3f8;
constexpr uint32_t kCom1Gsi = 4;
constexpr uint16_t kSleepControlPort = 0x600;  // ACPI 6.5 §4.8.3.7 SLEEP_CONTROL_REG
constexpr uint16_t kSleepStatusPort = 0x601;   // ACPI 6.5 §4.8.3.8 SLEEP_STATUS_REG
constexpr uint16_t kI8042CommandPort = 0x64;
constexpr uint32_t kSciGsi = 9;

// e820 / PVH memory map entry types (ACPI 6.5 §15, "System Address Map Interfaces").
enum class E820Type : uint32_t { Ram = 1, Reserved = 2, Acpi = 3 };

struct E820Entry {
    uint64_t addr;
    uint64_t size;
    E820Type type;
};

}  // namespace trapeze::x86
