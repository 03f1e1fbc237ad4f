#include "arch/riscv64/fdt_builder.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace trapeze::arch::riscv64 {
namespace {

BoardConfig two_hart_board() {
    BoardConfig cfg;
    cfg.ram_size = 256ull << 20;
    cfg.num_harts = 2;
    cfg.isa = "rv64imafdc_zicsr_zifencei_zicntr_zba_zbb_zbs_zicbom_zicboz_sstc";
    cfg.isa_extensions = {"i",      "m",   "a",   "f",   "d",      "c",      "zicsr", "zifencei",
                          "zicntr", "zba", "zbb", "zbs", "zicbom", "zicboz", "sstc"};
    cfg.bootargs = "console=ttyS0 root=/dev/vda";
    cfg.initrd = std::pair<uint64_t, uint64_t>{0x8800'0000, 0x8880'0000};
    cfg.virtio_slots = 3;
    return cfg;
}

// Reads a built blob back with libfdt.
class FdtBuilder : public ::testing::Test {
protected:
    void build(const BoardConfig& cfg) {
        auto r = build_fdt(cfg);
        ASSERT_TRUE(r.ok()) << r.error().message;
        blob = std::move(r).value();
        ASSERT_EQ(fdt_check_header(blob.data()), 0);
    }
    void SetUp() override { build(two_hart_board()); }

    const void* fdt() const { return blob.data(); }
    int node(const char* path) const { return fdt_path_offset(fdt(), path); }

    std::vector<uint32_t> cells(const char* path, const char* prop) const {
        int len = 0;
        const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt(), node(path), prop, &len));
        std::vector<uint32_t> out;
        if (p == nullptr) return out;
        for (int i = 0; i < len / 4; ++i) out.push_back(fdt32_to_cpu(p[i]));
        return out;
    }
    // A stringlist as one std::string with NUL separators kept, or "<absent>".
    std::string prop_string(const char* path, const char* prop) const {
        int len = 0;
        const auto* p = static_cast<const char*>(fdt_getprop(fdt(), node(path), prop, &len));
        if (p == nullptr) return "<absent>";
        return std::string(p, static_cast<size_t>(len > 0 ? len - 1 : 0));
    }
    uint32_t phandle(const char* path) const { return fdt_get_phandle(fdt(), node(path)); }

    std::vector<uint8_t> blob;
};

using namespace std::string_literals;

TEST_F(FdtBuilder, RootUsesTwoCellAddressesLikeQemuVirt) {
    EXPECT_EQ(cells("/", "#address-cells"), std::vector<uint32_t>{2});
    EXPECT_EQ(cells("/", "#size-cells"), std::vector<uint32_t>{2});
    EXPECT_EQ(prop_string("/", "compatible"), "riscv-virtio");
}

TEST_F(FdtBuilder, DescribesEveryHartWithItsIsaAndMmu) {
    EXPECT_EQ(cells("/cpus", "timebase-frequency"), std::vector<uint32_t>{10'000'000});
    for (unsigned h = 0; h < 2; ++h) {
        const std::string path = "/cpus/cpu@" + std::to_string(h);
        const char* p = path.c_str();
        ASSERT_GE(node(p), 0) << path;
        EXPECT_EQ(prop_string(p, "device_type"), "cpu");
        EXPECT_EQ(cells(p, "reg"), std::vector<uint32_t>{h});
        EXPECT_EQ(prop_string(p, "status"), "okay");
        EXPECT_EQ(prop_string(p, "compatible"), "riscv");
        EXPECT_EQ(prop_string(p, "riscv,isa"), two_hart_board().isa);
        EXPECT_EQ(prop_string(p, "riscv,isa-base"), "rv64i");
        EXPECT_EQ(prop_string(p, "mmu-type"), "riscv,sv57");
        EXPECT_EQ(cells(p, "riscv,cbom-block-size"), std::vector<uint32_t>{64});
        EXPECT_EQ(cells(p, "riscv,cboz-block-size"), std::vector<uint32_t>{64});
    }
    const std::string exts = prop_string("/cpus/cpu@0", "riscv,isa-extensions");
    EXPECT_EQ(exts.substr(0, 12), "i\0m\0a\0f\0d\0c\0"s);
    EXPECT_NE(exts.find("zicbom\0"s), std::string::npos);
    EXPECT_EQ(fdt_stringlist_count(fdt(), node("/cpus/cpu@0"), "riscv,isa-extensions"), 15);
}

TEST_F(FdtBuilder, OmitsCacheBlockSizesWithoutZicbomOrZicboz) {
    BoardConfig cfg = two_hart_board();
    cfg.isa = "rv64imafdc_zicsr";
    cfg.isa_extensions = {"i", "m", "a", "f", "d", "c", "zicsr"};
    build(cfg);
    EXPECT_TRUE(cells("/cpus/cpu@0", "riscv,cbom-block-size").empty());
    EXPECT_TRUE(cells("/cpus/cpu@0", "riscv,cboz-block-size").empty());
}

TEST_F(FdtBuilder, GivesEachHartAnInterruptControllerWithAPhandle) {
    for (const char* p : {"/cpus/cpu@0/interrupt-controller", "/cpus/cpu@1/interrupt-controller"}) {
        ASSERT_GE(node(p), 0) << p;
        EXPECT_EQ(prop_string(p, "compatible"), "riscv,cpu-intc");
        EXPECT_EQ(cells(p, "#interrupt-cells"), std::vector<uint32_t>{1});
        EXPECT_NE(fdt_getprop(fdt(), node(p), "interrupt-controller", nullptr), nullptr);
        EXPECT_NE(phandle(p), 0u);
    }
    EXPECT_NE(phandle("/cpus/cpu@0/interrupt-controller"), phandle("/cpus/cpu@1/interrupt-controller"));
}

TEST_F(FdtBuilder, CpuMapPutsEveryHartInOneCluster) {
    EXPECT_EQ(cells("/cpus/cpu-map/cluster0/core0", "cpu"), std::vector<uint32_t>{phandle("/cpus/cpu@0")});
    EXPECT_EQ(cells("/cpus/cpu-map/cluster0/core1", "cpu"), std::vector<uint32_t>{phandle("/cpus/cpu@1")});
}

TEST_F(FdtBuilder, MemoryNodeCoversRam) {
    EXPECT_EQ(prop_string("/memory@80000000", "device_type"), "memory");
    EXPECT_EQ(cells("/memory@80000000", "reg"), (std::vector<uint32_t>{0, 0x8000'0000, 0, 256u << 20}));
}

TEST_F(FdtBuilder, SocIsASimpleBusWithIdentityRanges) {
    EXPECT_EQ(prop_string("/soc", "compatible"), "simple-bus");
    int len = -1;
    EXPECT_NE(fdt_getprop(fdt(), node("/soc"), "ranges", &len), nullptr);
    EXPECT_EQ(len, 0);
}

TEST_F(FdtBuilder, ClintSendsSoftwareAndTimerInterruptsToEveryHart) {
    const char* p = "/soc/clint@2000000";
    const uint32_t i0 = phandle("/cpus/cpu@0/interrupt-controller");
    const uint32_t i1 = phandle("/cpus/cpu@1/interrupt-controller");
    EXPECT_EQ(prop_string(p, "compatible"), "sifive,clint0\0riscv,clint0"s);
    EXPECT_EQ(cells(p, "reg"), (std::vector<uint32_t>{0, 0x200'0000, 0, 0x10000}));
    EXPECT_EQ(cells(p, "interrupts-extended"), (std::vector<uint32_t>{i0, 3, i0, 7, i1, 3, i1, 7}));
}

TEST_F(FdtBuilder, PlicContextsAreMachineThenSupervisorExternalPerHart) {
    const char* p = "/soc/plic@c000000";
    const uint32_t i0 = phandle("/cpus/cpu@0/interrupt-controller");
    const uint32_t i1 = phandle("/cpus/cpu@1/interrupt-controller");
    EXPECT_EQ(prop_string(p, "compatible"), "sifive,plic-1.0.0\0riscv,plic0"s);
    EXPECT_EQ(cells(p, "reg"), (std::vector<uint32_t>{0, 0xc00'0000, 0, 0x60'0000}));
    EXPECT_EQ(cells(p, "riscv,ndev"), std::vector<uint32_t>{95});
    EXPECT_EQ(cells(p, "#address-cells"), std::vector<uint32_t>{0});
    EXPECT_EQ(cells(p, "#interrupt-cells"), std::vector<uint32_t>{1});
    EXPECT_NE(fdt_getprop(fdt(), node(p), "interrupt-controller", nullptr), nullptr);
    EXPECT_EQ(cells(p, "interrupts-extended"), (std::vector<uint32_t>{i0, 11, i0, 9, i1, 11, i1, 9}));
}

TEST_F(FdtBuilder, SerialIsAnNs16550aOnPlicSourceTen) {
    const char* p = "/soc/serial@10000000";
    EXPECT_EQ(prop_string(p, "compatible"), "ns16550a");
    EXPECT_EQ(cells(p, "reg"), (std::vector<uint32_t>{0, 0x1000'0000, 0, 0x100}));
    EXPECT_EQ(cells(p, "clock-frequency"), std::vector<uint32_t>{0x384000});
    EXPECT_EQ(cells(p, "interrupts"), std::vector<uint32_t>{10});
    EXPECT_EQ(cells(p, "interrupt-parent"), std::vector<uint32_t>{phandle("/soc/plic@c000000")});
}

TEST_F(FdtBuilder, RtcIsAGoldfishRtcOnPlicSourceEleven) {
    const char* p = "/soc/rtc@101000";
    EXPECT_EQ(prop_string(p, "compatible"), "google,goldfish-rtc");
    EXPECT_EQ(cells(p, "reg"), (std::vector<uint32_t>{0, 0x101000, 0, 0x1000}));
    EXPECT_EQ(cells(p, "interrupts"), std::vector<uint32_t>{11});
    EXPECT_EQ(cells(p, "interrupt-parent"), std::vector<uint32_t>{phandle("/soc/plic@c000000")});
}

TEST_F(FdtBuilder, PoweroffAndRebootWriteTheTestDeviceThroughSyscon) {
    const uint32_t test = phandle("/soc/test@100000");
    ASSERT_NE(test, 0u);
    EXPECT_EQ(prop_string("/soc/test@100000", "compatible"), "sifive,test1\0sifive,test0\0syscon"s);
    EXPECT_EQ(prop_string("/poweroff", "compatible"), "syscon-poweroff");
    EXPECT_EQ(cells("/poweroff", "regmap"), std::vector<uint32_t>{test});
    EXPECT_EQ(cells("/poweroff", "offset"), std::vector<uint32_t>{0});
    EXPECT_EQ(cells("/poweroff", "value"), std::vector<uint32_t>{0x5555});
    EXPECT_EQ(prop_string("/reboot", "compatible"), "syscon-reboot");
    EXPECT_EQ(cells("/reboot", "regmap"), std::vector<uint32_t>{test});
    EXPECT_EQ(cells("/reboot", "value"), std::vector<uint32_t>{0x7777});
}

TEST_F(FdtBuilder, HasOneVirtioNodePerConfiguredSlot) {
    const uint32_t plic = phandle("/soc/plic@c000000");
    const char* paths[] = {"/soc/virtio_mmio@10001000", "/soc/virtio_mmio@10002000", "/soc/virtio_mmio@10003000"};
    for (uint32_t slot = 0; slot < 3; ++slot) {
        const char* p = paths[slot];
        ASSERT_GE(node(p), 0) << p;
        EXPECT_EQ(prop_string(p, "compatible"), "virtio,mmio");
        EXPECT_EQ(cells(p, "reg"), (std::vector<uint32_t>{0, 0x1000'1000 + 0x1000 * slot, 0, 0x1000}));
        EXPECT_EQ(cells(p, "interrupts"), std::vector<uint32_t>{slot + 1});
        EXPECT_EQ(cells(p, "interrupt-parent"), std::vector<uint32_t>{plic});
    }
    EXPECT_LT(node("/soc/virtio_mmio@10004000"), 0);
}

TEST_F(FdtBuilder, ChosenCarriesBootargsConsoleAndInitrd) {
    EXPECT_EQ(prop_string("/chosen", "bootargs"), "console=ttyS0 root=/dev/vda");
    EXPECT_EQ(prop_string("/chosen", "stdout-path"), "/soc/serial@10000000");
    EXPECT_EQ(cells("/chosen", "linux,initrd-start"), (std::vector<uint32_t>{0, 0x8800'0000}));
    EXPECT_EQ(cells("/chosen", "linux,initrd-end"), (std::vector<uint32_t>{0, 0x8880'0000}));
    EXPECT_GE(node(prop_string("/aliases", "serial0").c_str()), 0);
}

TEST_F(FdtBuilder, ChosenOmitsWhatWasNotGiven) {
    BoardConfig cfg = two_hart_board();
    cfg.bootargs.clear();
    cfg.initrd.reset();
    build(cfg);
    EXPECT_EQ(prop_string("/chosen", "bootargs"), "<absent>");
    EXPECT_EQ(prop_string("/chosen", "linux,initrd-start"), "<absent>");
    EXPECT_EQ(prop_string("/chosen", "rng-seed"), "<absent>");
    EXPECT_EQ(prop_string("/chosen", "stdout-path"), "/soc/serial@10000000");
}

TEST_F(FdtBuilder, PassesTheRngSeedThrough) {
    BoardConfig cfg = two_hart_board();
    cfg.rng_seed = {1, 2, 3, 4, 5, 6, 7, 8};
    build(cfg);
    int len = 0;
    const void* p = fdt_getprop(fdt(), node("/chosen"), "rng-seed", &len);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::vector<uint8_t>(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + len), cfg.rng_seed);
}

TEST_F(FdtBuilder, DescribesTheLargestBoardWithDistinctUnitAddresses) {
    BoardConfig cfg = two_hart_board();
    cfg.num_harts = 512;  // a tree of several hundred KiB: past the first buffer size
    build(cfg);
    EXPECT_GE(node("/cpus/cpu@1ff"), 0);
    EXPECT_GE(node("/cpus/cpu-map/cluster0/core511"), 0);
    EXPECT_EQ(cells("/soc/plic@c000000", "interrupts-extended").size(), 512u * 4);
}

TEST_F(FdtBuilder, IsTheSameForTheSameConfiguration) {
    auto again = build_fdt(two_hart_board());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value(), blob);
}

TEST(FdtBuilderConfig, RejectsBoardsItCannotDescribe) {
    auto with = [](auto change) {
        BoardConfig cfg = two_hart_board();
        change(cfg);
        return build_fdt(cfg).ok();
    };
    EXPECT_FALSE(with([](BoardConfig& c) { c.num_harts = 0; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.num_harts = 513; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.ram_size = 0; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.virtio_slots = kVirtioCount + 1; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.isa = "rv32imac"; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.timebase_hz = 1ull << 32; }));
    EXPECT_FALSE(with([](BoardConfig& c) { c.initrd = std::pair<uint64_t, uint64_t>{0x9000'0000, 0x8000'0000}; }));
    EXPECT_TRUE(with([](BoardConfig&) {}));
}

// dtc, when installed, decompiles the blob and its checks (unit addresses vs reg, interrupt
// providers, phandle references, ...) find nothing to warn about.
TEST_F(FdtBuilder, DecompilesWithDtcWithoutWarnings) {
    if (access("/usr/bin/dtc", X_OK) != 0) GTEST_SKIP() << "dtc not installed";
    char path[] = "/tmp/trapeze-fdt-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(blob.data()), static_cast<std::streamsize>(blob.size()));
    const std::string cmd = std::string("/usr/bin/dtc -I dtb -O dts -o /dev/null ") + path + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string output;
    char buf[256];
    while (fgets(buf, sizeof buf, p) != nullptr) output += buf;
    const int status = pclose(p);
    unlink(path);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace trapeze::arch::riscv64
