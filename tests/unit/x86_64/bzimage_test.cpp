// The bzImage 64-bit boot protocol against a synthetic image laid out as boot.rst describes.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arch/x86_64/bzimage.hpp"

namespace trapeze::x86 {
namespace {

template <typename T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

template <typename T>
T get(const GuestMemory& mem, uint64_t gpa) {
    T v{};
    EXPECT_TRUE(mem.read(Gpa(gpa), {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
}

// Setup area of 8 sectors (setup_sects = 7), then 0x2000 bytes of "kernel".
std::vector<uint8_t> make_bzimage(uint16_t version = 0x020f, uint16_t xloadflags = kXlfKernel64) {
    std::vector<uint8_t> img(0x1000 + 0x2000, 0);
    img[bp::kSetupSects] = 7;
    put<uint16_t>(img, bp::kBootFlag, 0xaa55);
    img[bp::kJump + 1] = 0x6a;  // header ends at 0x26c
    std::memcpy(img.data() + bp::kHeader, "HdrS", 4);
    put<uint16_t>(img, bp::kVersion, version);
    put<uint32_t>(img, bp::kInitrdAddrMax, 0x7fffffff);
    put<uint32_t>(img, bp::kKernelAlignment, 0x200000);
    img[bp::kRelocatableKernel] = 1;
    put<uint16_t>(img, bp::kXloadflags, xloadflags);
    put<uint32_t>(img, bp::kCmdlineSize, 2047);
    put<uint64_t>(img, bp::kPrefAddress, 0x1000000);
    put<uint32_t>(img, bp::kInitSize, 0x3000);
    for (size_t i = 0x1000; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i * 7);
    return img;
}

TEST(BzImage, LoadsTheKernelAtItsPreferredAddressAndFillsTheZeroPage) {
    const auto img = make_bzimage();
    auto bz = parse_bzimage(img);
    ASSERT_TRUE(bz.ok()) << bz.error().message;
    auto mem = GuestMemory::create(Gpa(0), 32 << 20);
    ASSERT_TRUE(mem.ok());
    LinuxBootInfo info;
    info.e820 = {{0, 0x9fc00, E820Type::Ram}, {0x100000, (32 << 20) - 0x100000, E820Type::Ram}};
    info.cmdline = "console=ttyS0";
    info.initrd = std::pair{uint64_t{0x1800000}, uint64_t{0x4321}};
    info.rsdp = kAcpiBase;
    auto entry = load_bzimage(*mem, *bz, info);
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_EQ(*entry, 0x1000200u);  // 64-bit entry: load address + 0x200

    EXPECT_EQ(get<uint8_t>(*mem, 0x1000000), img[0x1000]);
    EXPECT_EQ(get<uint8_t>(*mem, 0x1001fff), img[0x2fff]);
    const uint64_t zp = kZeroPageAddr;
    EXPECT_EQ(get<uint32_t>(*mem, zp + bp::kHeader), 0x53726448u);  // setup header copied
    EXPECT_EQ(get<uint16_t>(*mem, zp + bp::kVersion), 0x020fu);
    EXPECT_EQ(get<uint8_t>(*mem, zp + bp::kTypeOfLoader), 0xffu);
    EXPECT_EQ(get<uint8_t>(*mem, zp + bp::kLoadflags) & kLoadedHigh, kLoadedHigh);
    EXPECT_EQ(get<uint32_t>(*mem, zp + bp::kCmdLinePtr), kCmdlineAddr);
    EXPECT_EQ(get<uint32_t>(*mem, zp + bp::kRamdiskImage), 0x1800000u);
    EXPECT_EQ(get<uint32_t>(*mem, zp + bp::kRamdiskSize), 0x4321u);
    EXPECT_EQ(get<uint64_t>(*mem, zp + bp::kAcpiRsdpAddr), kAcpiBase);
    ASSERT_EQ(get<uint8_t>(*mem, zp + bp::kE820Entries), 2u);
    EXPECT_EQ(get<uint64_t>(*mem, zp + bp::kE820Table + 20), 0x100000u);
    EXPECT_EQ(get<uint32_t>(*mem, zp + bp::kE820Table + 20 + 16), 1u);
    EXPECT_EQ(get<uint8_t>(*mem, kCmdlineAddr + 13), 0u);
}

TEST(BzImage, RejectsOldProtocolsAndKernelsWithoutA64BitEntry) {
    EXPECT_FALSE(parse_bzimage(make_bzimage(0x020a)).ok());
    EXPECT_FALSE(parse_bzimage(make_bzimage(0x020f, 0)).ok());
    auto no_magic = make_bzimage();
    no_magic[bp::kHeader] = 'X';
    EXPECT_FALSE(parse_bzimage(no_magic).ok());
    EXPECT_FALSE(parse_bzimage(std::vector<uint8_t>(100, 0)).ok());
}

TEST(BzImage, RejectsAKernelThatDoesNotFitInRam) {
    auto bz = parse_bzimage(make_bzimage());
    ASSERT_TRUE(bz.ok());
    auto mem = GuestMemory::create(Gpa(0), 16 << 20);  // ends exactly at the load address
    ASSERT_TRUE(mem.ok());
    EXPECT_FALSE(load_bzimage(*mem, *bz, {}).ok());
}

TEST(BzImage, BootPageTablesIdentityMapTheLowFourGiB) {
    auto mem = GuestMemory::create(Gpa(0), 1 << 20);
    ASSERT_TRUE(mem.ok());
    ASSERT_TRUE(write_boot_page_tables_and_gdt(*mem).ok());
    const uint64_t pml4e = get<uint64_t>(*mem, kPml4Addr);
    const uint64_t pdpte3 = get<uint64_t>(*mem, (pml4e & ~0xfffull) + 3 * 8);
    const uint64_t pde = get<uint64_t>(*mem, (pdpte3 & ~0xfffull) + 511 * 8);
    EXPECT_EQ(pde & ~0xfffull, 0xffe00000u);  // the last 2 MiB below 4 GiB
    EXPECT_EQ(pde & 0x81, 0x81u);             // present, 2 MiB page
    EXPECT_EQ(get<uint64_t>(*mem, kGdtAddr + 0x10), 0x00af9b000000ffffu);  // __BOOT_CS: 64-bit code
    kvm_sregs sregs{};
    kvm_regs regs{};
    set_linux64_entry_state(sregs, regs, 0x1000200, kZeroPageAddr);
    EXPECT_EQ(regs.rsi, kZeroPageAddr);
    EXPECT_EQ(sregs.cs.selector, 0x10);
    EXPECT_EQ(sregs.ds.selector, 0x18);
    EXPECT_EQ(sregs.cr3, kPml4Addr);
}

}  // namespace
}  // namespace trapeze::x86
