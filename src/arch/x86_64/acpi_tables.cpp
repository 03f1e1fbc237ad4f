#include "arch/x86_64/acpi_tables.hpp"

#include <cassert>
#include <cstring>

#include <fmt/format.h>

#include "arch/x86_64/aml.hpp"
#include "arch/x86_64/layout.hpp"
#include "arch/x86_64/power_control.hpp"

namespace trapeze::x86 {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr char kOemId[] = "TRAPEZ";      // 6 bytes
constexpr char kOemTableId[] = "TRAPEZE ";  // 8 bytes
constexpr char kCreatorId[] = "TRPZ";

void put(Bytes& b, size_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[off + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

void put_str(Bytes& b, size_t off, const char* s, size_t n) { std::memcpy(b.data() + off, s, n); }

uint8_t checksum(const uint8_t* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    return static_cast<uint8_t>(-sum);
}

// §5.2.6 System Description Table Header (36 bytes); the checksum is set by finish().
Bytes table(const char* sig, size_t length, uint8_t revision) {
    Bytes t(length, 0);
    put_str(t, 0, sig, 4);
    put(t, 4, length, 4);
    t[8] = revision;
    put_str(t, 10, kOemId, 6);
    put_str(t, 16, kOemTableId, 8);
    put(t, 24, 1, 4);
    put_str(t, 28, kCreatorId, 4);
    put(t, 32, 1, 4);
    return t;
}

void finish(Bytes& t) {
    t[9] = 0;
    t[9] = checksum(t.data(), t.size());
}

// §5.2.3.2 Generic Address Structure in System I/O space, byte access.
void put_gas_io(Bytes& t, size_t off, uint16_t port) {
    t[off] = 1;      // System I/O
    t[off + 1] = 8;  // register bit width
    t[off + 2] = 0;  // bit offset
    t[off + 3] = 1;  // access size: byte
    put(t, off + 4, port, 8);
}

Bytes build_dsdt(const AcpiConfig& config) {
    using namespace aml;
    std::vector<Bytes> devices;
    devices.push_back(device("COM1", {name("_HID", eisa_id("PNP0501")), name("_UID", integer(0)),
                                      name("_CRS", resource_template({io_port(kCom1Port, 8),
                                                                      irq_no_flags(static_cast<uint8_t>(kCom1Gsi))}))}));
    for (size_t i = 0; i < config.virtio.size(); ++i) {
        const auto& s = config.virtio[i];
        devices.push_back(device(fmt::format("V{:03X}", i),
                                 {name("_HID", string("LNRO0005")), name("_UID", integer(i)),
                                  name("_CRS", resource_template({memory32_fixed(static_cast<uint32_t>(s.base), s.size),
                                                                  extended_interrupt_edge_high(s.gsi)}))}));
    }
    // \_S5: SLP_TYPa/SLP_TYPb for soft-off (§7.4.2); the sleep control register expects it.
    const Bytes s5 = name("_S5_", package({integer(PowerControl::kS5SleepType), integer(PowerControl::kS5SleepType),
                                           integer(0), integer(0)}));
    const Bytes body = concat({s5, scope("\\_SB_", devices)});
    Bytes t = table("DSDT", 36 + body.size(), 2);
    std::memcpy(t.data() + 36, body.data(), body.size());
    finish(t);
    return t;
}

Bytes build_fadt(uint64_t dsdt) {
    // §5.2.9, revision 6 (276 bytes).
    Bytes t = table("FACP", 276, 6);
    put(t, 46, kSciGsi, 2);                     // SCI_INT (unused on a hardware-reduced platform)
    put(t, 109, (1u << 2) | (1u << 5), 2);      // IAPC_BOOT_ARCH: VGA not present, CMOS RTC not present
    const uint32_t flags = (1u << 4)            // PWR_BUTTON: no fixed power button
                           | (1u << 5)          // SLP_BUTTON: no fixed sleep button
                           | (1u << 10)         // RESET_REG_SUP
                           | (1u << 20);        // HW_REDUCED_ACPI
    put(t, 112, flags, 4);
    put_gas_io(t, 116, kI8042CommandPort);      // RESET_REG
    t[128] = PowerControl::kI8042Reset;         // RESET_VALUE
    t[131] = 5;                                 // FADT minor version (ACPI 6.5)
    put(t, 140, dsdt, 8);                       // X_DSDT
    put_gas_io(t, 244, kSleepControlPort);      // SLEEP_CONTROL_REG
    put_gas_io(t, 256, kSleepStatusPort);       // SLEEP_STATUS_REG
    put_str(t, 268, "TRAPEZE\0", 8);            // hypervisor vendor identity
    finish(t);
    return t;
}

Bytes build_madt(const AcpiConfig& config) {
    // §5.2.12: header, local APIC address, flags (PCAT_COMPAT: the in-kernel 8259s exist).
    Bytes t = table("APIC", 44, 5);
    put(t, 36, kLocalApicAddr, 4);
    put(t, 40, 1, 4);
    for (uint32_t id = 0; id < config.cpus; ++id) {
        // §5.2.12.2 Processor Local APIC: type 0, length 8, UID, APIC ID, flags = Enabled.
        t.insert(t.end(), {0, 8, static_cast<uint8_t>(id), static_cast<uint8_t>(id), 1, 0, 0, 0});
    }
    // §5.2.12.3 I/O APIC: type 1, length 12, ID, reserved, address, GSI base 0.
    Bytes ioapic{1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    put(ioapic, 4, kIoApicAddr, 4);
    t.insert(t.end(), ioapic.begin(), ioapic.end());
    // §5.2.12.5 Interrupt Source Override: ISA IRQ 0 (the PIT) is GSI 2, bus-default polarity.
    Bytes iso{2, 10, 0, 0, 2, 0, 0, 0, 0, 0};
    t.insert(t.end(), iso.begin(), iso.end());
    put(t, 4, t.size(), 4);
    finish(t);
    return t;
}

Bytes build_xsdt(const std::vector<uint64_t>& entries) {
    Bytes t = table("XSDT", 36 + 8 * entries.size(), 1);
    for (size_t i = 0; i < entries.size(); ++i) put(t, 36 + 8 * i, entries[i], 8);
    finish(t);
    return t;
}

Bytes build_rsdp(uint64_t xsdt) {
    // §5.2.5.3: revision 2, 36 bytes; checksum over the first 20, extended checksum over all.
    Bytes r(36, 0);
    put_str(r, 0, "RSD PTR ", 8);
    put_str(r, 9, kOemId, 6);
    r[15] = 2;
    put(r, 20, 36, 4);
    put(r, 24, xsdt, 8);
    r[8] = checksum(r.data(), 20);
    r[32] = checksum(r.data(), 36);
    return r;
}

}  // namespace

AcpiTables build_acpi_tables(const AcpiConfig& config, uint64_t base) {
    AcpiTables out;
    out.base = base;
    auto place = [&](const std::string& sig, const Bytes& t) {
        out.bytes.resize((out.bytes.size() + 15) & ~size_t{15});  // 16-byte aligned tables
        out.tables[sig] = {out.bytes.size(), t.size()};
        out.bytes.insert(out.bytes.end(), t.begin(), t.end());
        return base + out.tables[sig].first;
    };
    // Order: RSDP first (its address is fixed at `base`), then the tables it points to; the
    // XSDT's size is known up front (two entries), so every address is known before writing.
    const Bytes dsdt = build_dsdt(config);
    const Bytes madt = build_madt(config);
    const uint64_t xsdt_at = base + 48;                  // after the 36-byte RSDP, aligned
    const uint64_t fadt_at = xsdt_at + ((36 + 16 + 15) & ~uint64_t{15});
    const uint64_t madt_at = fadt_at + ((276 + 15) & ~uint64_t{15});
    const uint64_t dsdt_at = madt_at + ((madt.size() + 15) & ~size_t{15});
    out.rsdp = place("RSDP", build_rsdp(xsdt_at));
    [[maybe_unused]] const uint64_t xsdt_placed = place("XSDT", build_xsdt({fadt_at, madt_at}));
    [[maybe_unused]] const uint64_t fadt_placed = place("FACP", build_fadt(dsdt_at));
    [[maybe_unused]] const uint64_t madt_placed = place("APIC", madt);
    [[maybe_unused]] const uint64_t dsdt_placed = place("DSDT", dsdt);
    assert(xsdt_placed == xsdt_at && fadt_placed == fadt_at && madt_placed == madt_at && dsdt_placed == dsdt_at);
    return out;
}

}  // namespace trapeze::x86
