// AcpiTables: the ACPI tables of the x86 board (ACPI 6.5 §5.2): RSDP -> XSDT -> FADT (-> DSDT)
// and MADT. The platform is hardware-reduced (FADT flag HW_REDUCED_ACPI, §4.1): no PM1 blocks,
// power off through the sleep control register, reset through FADT RESET_REG (the i8042 port).
// The DSDT describes COM1 and each virtio-mmio slot as a "LNRO0005" device with its register
// window and interrupt, which is how Linux's virtio_mmio driver finds devices through ACPI.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trapeze::x86 {

struct VirtioMmioSlot {
    uint64_t base;
    uint32_t size;
    uint32_t gsi;
};

struct AcpiConfig {
    uint32_t cpus = 1;
    std::vector<VirtioMmioSlot> virtio;
};

struct AcpiTables {
    std::vector<uint8_t> bytes;  // every table, placed at `base` consecutively
    uint64_t base = 0;
    uint64_t rsdp = 0;           // guest-physical address of the RSDP
    // Signature ("RSDP", "XSDT", "FACP", "APIC", "DSDT") -> offset and length in `bytes`.
    std::map<std::string, std::pair<size_t, size_t>> tables;
};

AcpiTables build_acpi_tables(const AcpiConfig& config, uint64_t base);

}  // namespace trapeze::x86
