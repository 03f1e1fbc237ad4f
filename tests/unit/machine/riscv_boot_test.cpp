// Image placement: what OpenSBI's fw_jump and Linux expect, and clear errors otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "base/bits.hpp"
#include "base/file.hpp"
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

// The kernel and initrd are read straight into RAM: every byte lands, and the writes are
// reported (an engine may have decoded the old bytes).
TEST_F(RiscvBoot, ReadsKernelAndInitrdWholeIntoRamAndReportsTheWrites) {
    TempFile fw({0x6f, 0, 0, 0});
    std::vector<uint8_t> image = linux_image(0x3001, 0x100000);
    image.back() = 0x44;
    TempFile kernel(image);
    std::vector<uint8_t> rd(5000, 0x22);
    rd.back() = 0x55;
    TempFile initrd(rd);
    std::vector<std::pair<uint64_t, uint64_t>> written;
    mem.set_write_observer([&](Gpa gpa, uint64_t len) { written.emplace_back(gpa.value, len); });
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    cfg.initrd = initrd.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    const uint64_t kernel_at = arch::riscv64::kRamBase + kKernelOffset;
    EXPECT_EQ(mem.span(Gpa(kernel_at + 0x3000), 1)[0], 0x44);
    EXPECT_EQ(mem.span(Gpa(kernel_at + 0x3001), 1)[0], 0x00);
    EXPECT_EQ(mem.span(Gpa(board.initrd->second - 1), 1)[0], 0x55);
    using Range = std::pair<uint64_t, uint64_t>;
    EXPECT_NE(std::find(written.begin(), written.end(), Range{kernel_at, 0x3001}), written.end());
    EXPECT_NE(std::find(written.begin(), written.end(), Range{board.initrd->first, 5000}), written.end());
}

TEST(ReadFileInto, ReportsAFileShorterThanExpected) {
    TempFile f(std::vector<uint8_t>(100, 1));
    std::vector<uint8_t> out(200);
    auto r = read_file_into(f.path, out);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("100 bytes; 200 were expected"), std::string::npos);
    EXPECT_TRUE(read_file_into(f.path, std::span(out).first(100)).ok());
    EXPECT_EQ(out[99], 1);
    EXPECT_EQ(file_size(f.path).value(), 100u);
    EXPECT_FALSE(file_size("/").ok());  // not a regular file
}

// Also a file shorter than an Image header.
TEST_F(RiscvBoot, RejectsAKernelThatIsNeitherElfNorImage) {
    TempFile fw({0x6f, 0, 0, 0});
    for (const size_t size : {size_t{4096}, size_t{10}}) {
        TempFile kernel(std::vector<uint8_t>(size, 0x33));
        MachineConfig cfg;
        cfg.bios = fw.path;
        cfg.kernel = kernel.path;
        auto plan = load_boot_images(cfg, mem, board);
        ASSERT_FALSE(plan.ok()) << size;
        EXPECT_NE(plan.error().message.find("neither an ELF file nor a RISC-V Linux Image"), std::string::npos);
    }
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
