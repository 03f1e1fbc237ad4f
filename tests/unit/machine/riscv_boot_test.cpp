// Image placement: what OpenSBI's fw_jump and Linux expect, and clear errors otherwise.
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

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

// An ELF64 RISC-V executable with one PT_LOAD of `payload` at paddr and `memsz` bytes.
std::vector<uint8_t> elf_kernel(uint64_t paddr, const std::vector<uint8_t>& payload, uint64_t memsz) {
    const uint64_t ph_off = sizeof(Elf64_Ehdr), data_off = ph_off + sizeof(Elf64_Phdr);
    std::vector<uint8_t> f(data_off + payload.size());
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_RISCV;
    eh.e_entry = paddr;
    eh.e_phoff = ph_off;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_offset = data_off;
    ph.p_paddr = paddr;
    ph.p_filesz = payload.size();
    ph.p_memsz = memsz;
    std::memcpy(f.data(), &eh, sizeof eh);
    std::memcpy(f.data() + ph_off, &ph, sizeof ph);
    std::memcpy(f.data() + data_off, payload.data(), payload.size());
    return f;
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

// From 8 MiB on the upper half is read on a second thread (base/file.cpp): every byte lands
// where it belongs, whatever the split, and a file ending in either half is reported short.
TEST(ReadFileInto, ReadsALargeFileInTwoHalvesByteForByte) {
    std::vector<uint8_t> data((size_t{9} << 20) + 4099);  // an odd size: the halves differ
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
    TempFile f(data);
    std::vector<uint8_t> out(data.size(), 0xee);
    auto r = read_file_into(f.path, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(out, data);
    for (const size_t longer : {data.size() + 1, data.size() * 3}) {  // ends in the upper half, the lower
        std::vector<uint8_t> big(longer);
        auto short_read = read_file_into(f.path, big);
        ASSERT_FALSE(short_read.ok()) << longer;
        EXPECT_NE(short_read.error().message.find(fmt::format("{} bytes; {} were expected", data.size(), longer)),
                  std::string::npos)
            << short_read.error().message;
    }
}

// As QEMU's virt board: a kernel that is neither ELF nor a Linux Image (U-Boot's u-boot.bin)
// is a raw binary loaded at the kernel address; also one shorter than an Image header.
TEST_F(RiscvBoot, LoadsAKernelThatIsNeitherElfNorImageAsARawBinary) {
    TempFile fw({0x6f, 0, 0, 0});
    for (const size_t size : {size_t{4096}, size_t{10}}) {
        TempFile kernel(std::vector<uint8_t>(size, 0x33));
        MachineConfig cfg;
        cfg.bios = fw.path;
        cfg.kernel = kernel.path;
        auto plan = load_boot_images(cfg, mem, board);
        ASSERT_TRUE(plan.ok()) << size << ": " << plan.error().message;
        const auto at = mem.span(Gpa(arch::riscv64::kRamBase + kKernelOffset), size);
        EXPECT_TRUE(std::all_of(at.begin(), at.end(), [](uint8_t b) { return b == 0x33; })) << size;
    }
    TempFile empty(std::vector<uint8_t>{});
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = empty.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("is empty"), std::string::npos) << plan.error().message;
}

// An x86 bzImage is no raw RISC-V binary: the harts would run its bytes, silently, forever
// (QEMU's virt board does). Refused with a line that names what it is, from a file or memory.
TEST_F(RiscvBoot, RefusesAnX86BzImage) {
    std::vector<uint8_t> bz(0x4000, 0x90);
    std::memcpy(bz.data() + 0x202, "HdrS", 4);
    TempFile fw({0x6f, 0, 0, 0});
    TempFile kernel(bz);
    MachineConfig cfg;
    cfg.bios = fw.path;
    cfg.kernel = kernel.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error().message,
              fmt::format("kernel '{}' is an x86 bzImage, not a RISC-V kernel (it runs with --arch x86_64)", kernel.path));
    auto end = load_kernel_bytes(bz, mem, arch::riscv64::kRamBase + kKernelOffset, "mem");
    ASSERT_FALSE(end.ok());
    EXPECT_NE(end.error().message.find("is an x86 bzImage"), std::string::npos) << end.error().message;
}

// An empty firmware would leave the harts on zeros at the reset vector, trapping forever with
// nothing printed: refused before anything runs, as an empty kernel is.
TEST_F(RiscvBoot, RefusesAnEmptyFirmware) {
    TempFile empty(std::vector<uint8_t>{});
    TempFile kernel(linux_image(0x1000, 0x100000));
    MachineConfig cfg;
    cfg.bios = empty.path;
    cfg.kernel = kernel.path;
    auto plan = load_boot_images(cfg, mem, board);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("firmware '" + empty.path + "' is empty"), std::string::npos)
        << plan.error().message;
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

// load_kernel_bytes: the same kernel step for a kernel already in memory.
TEST_F(RiscvBoot, LoadsAnImageFromMemoryAtItsAddressAndReportsTheWrite) {
    std::vector<uint8_t> image = linux_image(0x3001, 0x100000);
    image.back() = 0x44;
    std::vector<std::pair<uint64_t, uint64_t>> written;
    mem.set_write_observer([&](Gpa gpa, uint64_t len) { written.emplace_back(gpa.value, len); });
    const uint64_t at = arch::riscv64::kRamBase + kKernelOffset;
    auto end = load_kernel_bytes(image, mem, at, "mem");
    ASSERT_TRUE(end.ok()) << end.error().message;
    EXPECT_EQ(*end, at + 0x100000) << "the header's image_size, not the file size";
    EXPECT_EQ(mem.span(Gpa(at + 0x38), 4)[3], 5);
    EXPECT_EQ(mem.span(Gpa(at + 0x3000), 1)[0], 0x44);
    EXPECT_EQ(written, (std::vector<std::pair<uint64_t, uint64_t>>{{at, 0x3001}}));
}

TEST_F(RiscvBoot, LoadsAnElfKernelFromMemoryByItsPhysicalAddresses) {
    const uint64_t paddr = arch::riscv64::kRamBase + 0x400000;
    auto end = load_kernel_bytes(elf_kernel(paddr, {7, 8, 9}, 0x20), mem, arch::riscv64::kRamBase, "mem");
    ASSERT_TRUE(end.ok()) << end.error().message;
    EXPECT_EQ(*end, paddr + 0x20);
    EXPECT_EQ(mem.span(Gpa(paddr + 2), 1)[0], 9);
}

TEST_F(RiscvBoot, LoadsRawKernelBytesAndRejectsEmptyOrOversizedOnes) {
    const uint64_t at = arch::riscv64::kRamBase + kKernelOffset;
    for (const size_t size : {size_t{10}, size_t{4096}}) {
        auto end = load_kernel_bytes(std::vector<uint8_t>(size, 0x33), mem, at, "mem");
        ASSERT_TRUE(end.ok()) << size << ": " << end.error().message;
        EXPECT_EQ(*end, at + size);
    }
    auto empty = load_kernel_bytes(std::vector<uint8_t>{}, mem, at, "mem");
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().message.find("kernel 'mem' is empty"), std::string::npos);
    auto raw_too_big = load_kernel_bytes(std::vector<uint8_t>(mem.size(), 0x33), mem, at, "mem");
    ASSERT_FALSE(raw_too_big.ok());
    auto big = load_kernel_bytes(linux_image(0x1000, 128 << 20), mem, at, "mem");
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("guest RAM is too small"), std::string::npos);
    auto outside = load_kernel_bytes(elf_kernel(0x1000, {1}, 1), mem, at, "mem");
    ASSERT_FALSE(outside.ok());
    EXPECT_NE(outside.error().message.find("outside guest RAM"), std::string::npos);
}

}  // namespace
}  // namespace trapeze::machine
