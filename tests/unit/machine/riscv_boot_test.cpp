// Image placement: what OpenSBI's fw_jump and Linux expect, and clear errors otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "base/bits.hpp"
#include "machine/riscv_boot.hpp"

namespace trapeze::machine {
namespace {

class TempFile {
public:
    explicit TempFile(const std::vector<uint8_t>& data) {
        char tmpl[] = "/tmp/trapeze-boot-test-XXXXXX";
        const int fd = mkstemp(tmpl);
        EXPECT_GE(fd, 0);
        path = tmpl;
        EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
        ::close(fd);
    }
    ~TempFile() { std::remove(path.c_str()); }
    std::string path;
};

std::vector<uint8_t> linux_image(uint64_t file_size, uint64_t image_size) {
    std::vector<uint8_t> img(file_size, 0x11);
    store_le<uint64_t>(img.data() + 0x10, image_size);
    const char magic[4] = {'R', 'S', 'C', '\x05'};
    std::memcpy(img.data() + 0x38, magic, 4);
    return img;
}

class RiscvBoot : public ::testing::Test {
protected:
    GuestMemory mem = GuestMemory::create(Gpa(arch::riscv64::kRamBase), 64 << 20).value();
    arch::riscv64::BoardConfig board;
};

TEST_F(RiscvBoot, PutsFirmwareAtRamKernelAtTwoMegAndInitrdBelowTheFdt) {
    TempFile fw({0x6f, 0, 0, 0});
    TempFile kernel(linux_image(0x1000, 0x100000));
    TempFile initrd(std::vector<uint8_t>(5000, 0x22));
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    cfg.initrd = initrd.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->entry, arch::riscv64::kRamBase);
    EXPECT_EQ(mem.span(Gpa(arch::riscv64::kRamBase), 1)[0], 0x6f);
    EXPECT_EQ(mem.span(Gpa(arch::riscv64::kRamBase + kKernelOffset), 1)[0], 0x11);
    ASSERT_TRUE(board.initrd.has_value());
    EXPECT_EQ(board.initrd->second - board.initrd->first, 5000u);
    EXPECT_LE(board.initrd->second, plan->fdt_addr);
    EXPECT_EQ(board.initrd->first % 4096, 0u);
    EXPECT_EQ(mem.span(Gpa(board.initrd->first), 1)[0], 0x22);
    EXPECT_LE(plan->fdt_addr + kFdtMaxSize, mem.end().value);
}

TEST_F(RiscvBoot, RejectsAKernelThatIsNeitherElfNorImage) {
    TempFile fw({0x6f, 0, 0, 0});
    TempFile kernel(std::vector<uint8_t>(4096, 0x33));
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("neither an ELF file nor a RISC-V Linux Image"), std::string::npos);
}

TEST_F(RiscvBoot, RejectsAKernelWhoseImageSizeExceedsRam) {
    TempFile fw({0x6f, 0, 0, 0});
    TempFile kernel(linux_image(0x1000, 128 << 20));
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    EXPECT_FALSE(load_boot_images(cfg, mem, board).ok());
}

TEST_F(RiscvBoot, RejectsAnInitrdThatDoesNotFit) {
    TempFile fw({0x6f, 0, 0, 0});
    TempFile kernel(linux_image(0x1000, 0x100000));
    TempFile initrd(std::vector<uint8_t>(62 << 20, 0));
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    cfg.initrd = initrd.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("does not fit"), std::string::npos);
}

TEST_F(RiscvBoot, BareMetalNeedsAnElfAndFindsTohost) {
    TempFile raw(std::vector<uint8_t>(64, 0));
    MachineConfig cfg;
    cfg.kernel = raw.path;  // no bios: --bios none
    EXPECT_FALSE(load_boot_images(cfg, mem, board).ok());
}

TEST_F(RiscvBoot, MissingFilesNameThePath) {
    MachineConfig cfg;
    cfg.bios = "/nonexistent/fw.bin";
    cfg.kernel = "/nonexistent/Image";
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("/nonexistent/fw.bin"), std::string::npos);
}

}  // namespace
}  // namespace trapeze::machine
