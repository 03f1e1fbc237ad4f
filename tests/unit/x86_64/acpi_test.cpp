// The generated ACPI tables, checked by the reference parser: ACPICA's disassembler (`iasl -d`,
// Debian's acpica-tools) must accept every table, and what it prints must name our devices.
// Skipped, with the reason, where iasl is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "arch/x86_64/acpi_tables.hpp"
#include "arch/x86_64/aml.hpp"
#include "arch/x86_64/layout.hpp"

namespace trapeze::x86 {
namespace {

namespace fs = std::filesystem;

AcpiTables sample_tables() {
    AcpiConfig cfg;
    cfg.cpus = 2;
    cfg.virtio = {{kVirtioBase, 0x200, 5}, {kVirtioBase + kVirtioStride, 0x200, 6}};
    return build_acpi_tables(cfg, kAcpiBase);
}

uint8_t sum(const std::vector<uint8_t>& b, size_t off, size_t len) {
    uint8_t s = 0;
    for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + b[off + i]);
    return s;
}

bool have_iasl() { return std::system("command -v iasl > /dev/null 2>&1") == 0; }

// Disassembles one table with iasl; returns the .dsl text (empty if iasl failed).
std::string disassemble(const AcpiTables& t, const std::string& sig, const fs::path& dir) {
    const auto [off, len] = t.tables.at(sig);
    const fs::path bin = dir / (sig + ".dat");
    std::ofstream(bin, std::ios::binary).write(reinterpret_cast<const char*>(t.bytes.data() + off),
                                               static_cast<std::streamsize>(len));
    const std::string cmd = "cd '" + dir.string() + "' && iasl -d " + sig + ".dat > " + sig + ".log 2>&1";
    if (std::system(cmd.c_str()) != 0) return {};
    std::stringstream ss;
    ss << std::ifstream(dir / (sig + ".dsl")).rdbuf();
    return ss.str();
}

class AcpiIasl : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_iasl()) GTEST_SKIP() << "iasl not installed (Debian package acpica-tools)";
        char tmpl[] = "/tmp/trapeze-acpi-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override {
        if (!m_dir.empty()) fs::remove_all(m_dir);
    }
    fs::path m_dir;
};

TEST(AcpiTables, EveryTableHasAValidChecksumAndTheRsdpPointsToTheXsdt) {
    const auto t = sample_tables();
    EXPECT_EQ(t.rsdp, kAcpiBase);
    EXPECT_EQ(sum(t.bytes, 0, 20), 0);  // RSDP: ACPI 1.0 checksum over the first 20 bytes
    EXPECT_EQ(sum(t.bytes, 0, 36), 0);  // and the extended checksum over all 36
    for (const auto& [sig, where] : t.tables)
        if (sig != "RSDP") {
            EXPECT_EQ(sum(t.bytes, where.first, where.second), 0) << sig;
        }
    uint64_t xsdt = 0;
    std::memcpy(&xsdt, t.bytes.data() + 24, 8);
    EXPECT_EQ(xsdt, kAcpiBase + t.tables.at("XSDT").first);
    EXPECT_LE(t.bytes.size(), kAcpiEnd - kAcpiBase);
}

TEST(Aml, PkgLengthUsesTheMultiByteFormAbove63Bytes) {
    EXPECT_EQ(aml::pkg_length(10), (aml::Bytes{11}));
    EXPECT_EQ(aml::pkg_length(62), (aml::Bytes{63}));
    EXPECT_EQ(aml::pkg_length(63), (aml::Bytes{0x41, 0x04}));  // 65 = 0x41: low nibble 1, then 0x04
    EXPECT_EQ(aml::eisa_id("PNP0501"), (aml::Bytes{0x0c, 0x41, 0xd0, 0x05, 0x01}));
}

TEST_F(AcpiIasl, DsdtDisassemblesWithTheVirtioMmioDevicesAndCom1) {
    const std::string dsl = disassemble(sample_tables(), "DSDT", m_dir);
    ASSERT_FALSE(dsl.empty()) << "iasl -d failed on the DSDT";
    EXPECT_NE(dsl.find("Device (V000)"), std::string::npos) << dsl;
    EXPECT_NE(dsl.find("Device (V001)"), std::string::npos);
    EXPECT_NE(dsl.find("\"LNRO0005\""), std::string::npos);
    EXPECT_NE(dsl.find("0xD0001000,         // Address Base"), std::string::npos) << dsl;
    EXPECT_NE(dsl.find("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"), std::string::npos);
    EXPECT_NE(dsl.find("EisaId (\"PNP0501\")"), std::string::npos);
    EXPECT_NE(dsl.find("Name (_S5, Package (0x04)"), std::string::npos);
    // And the disassembly compiles back without errors.
    const std::string recompile = "cd '" + m_dir.string() + "' && iasl -p again DSDT.dsl > again.log 2>&1";
    EXPECT_EQ(std::system(recompile.c_str()), 0);
}

TEST_F(AcpiIasl, FadtIsHardwareReducedWithResetAndSleepRegisters) {
    const std::string dsl = disassemble(sample_tables(), "FACP", m_dir);
    ASSERT_FALSE(dsl.empty()) << "iasl -d failed on the FADT";
    EXPECT_NE(dsl.find("Hardware Reduced (V5) : 1"), std::string::npos) << dsl;
    EXPECT_NE(dsl.find("Value to cause reset : FE"), std::string::npos);
    EXPECT_EQ(dsl.find("Invalid"), std::string::npos);
}

TEST_F(AcpiIasl, MadtListsEveryCpuAndTheIoApic) {
    const std::string dsl = disassemble(sample_tables(), "APIC", m_dir);
    ASSERT_FALSE(dsl.empty()) << "iasl -d failed on the MADT";
    size_t cpus = 0;
    for (size_t p = dsl.find("Processor Local APIC"); p != std::string::npos; p = dsl.find("Processor Local APIC", p + 1))
        ++cpus;
    EXPECT_EQ(cpus, 2u) << dsl;
    EXPECT_NE(dsl.find("Address : FEC00000"), std::string::npos);
    EXPECT_NE(dsl.find("Interrupt : 00000002"), std::string::npos);
}

}  // namespace
}  // namespace trapeze::x86
