#include "arch/x86_64/bzimage.hpp"

#include <cstring>

#include "loader/kernel_format.hpp"

namespace trapeze::x86 {
namespace {

template <typename T>
T load(std::span<const uint8_t> b, size_t off) {
    T v{};
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <typename T>
void store(std::vector<uint8_t>& b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

constexpr uint64_t kPdptAddr = kPml4Addr + 0x1000;
constexpr uint64_t kPdAddr = kPml4Addr + 0x2000;  // four PDs: 4 GiB of 2 MiB pages
constexpr uint64_t kPte = 0x3;                    // present | writable
constexpr uint64_t kPtePs = 0x80;                 // 2 MiB page

}  // namespace

bool looks_like_bzimage(std::span<const uint8_t> image) {
    return loader::identify_kernel(image).format == loader::KernelFormat::BzImage;
}

Result<BzImage> parse_bzimage(std::span<const uint8_t> image) {
    if (image.size() < 0x1000 || !looks_like_bzimage(image)) return make_error("not a bzImage (no HdrS header)");
    BzImage bz;
    bz.version = load<uint16_t>(image, bp::kVersion);
    if (bz.version < kMinBootProtocol)
        return make_error("bzImage boot protocol {}.{:02} is older than 2.12", bz.version >> 8, bz.version & 0xff);
    if ((load<uint16_t>(image, bp::kXloadflags) & kXlfKernel64) == 0)
        return make_error("bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");
    const size_t header_end = bp::kHeader + image[bp::kJump + 1];
    unsigned setup_sects = image[bp::kSetupSects];
    if (setup_sects == 0) setup_sects = 4;  // boot.rst: "if this field is 0, the real value is 4"
    const size_t kernel_offset = (size_t{setup_sects} + 1) * 512;
    if (kernel_offset >= image.size() || header_end > bp::kSize) return make_error("bzImage setup area is truncated");
    bz.setup_header = image.subspan(bp::kSetupHeader, header_end - bp::kSetupHeader);
    bz.kernel = image.subspan(kernel_offset);
    bz.load_address = load<uint64_t>(image, bp::kPrefAddress);
    bz.init_size = load<uint32_t>(image, bp::kInitSize);
    bz.initrd_addr_max = load<uint32_t>(image, bp::kInitrdAddrMax);
    bz.cmdline_size = load<uint32_t>(image, bp::kCmdlineSize);
    if (bz.load_address < kHighRamStart) bz.load_address = kHighRamStart;
    if (bz.init_size < bz.kernel.size()) bz.init_size = bz.kernel.size();
    return bz;
}

Result<uint64_t> load_bzimage(GuestMemory& mem, const BzImage& image, const LinuxBootInfo& info) {
    if (!mem.contains(Gpa(image.load_address), image.init_size))
        return make_error("kernel needs {} bytes at {:#x}, beyond guest RAM ({} bytes)", image.init_size,
                          image.load_address, mem.size());
    if (info.cmdline.size() + 1 > std::min<uint64_t>(kCmdlineMax, uint64_t{image.cmdline_size} + 1))
        return make_error("kernel command line is {} bytes, the kernel takes at most {}", info.cmdline.size(),
                          image.cmdline_size);
    if (info.e820.size() > bp::kE820Max) return make_error("too many e820 entries ({})", info.e820.size());
    (void)mem.write(Gpa(image.load_address), image.kernel);

    std::vector<uint8_t> zp(bp::kSize, 0);
    std::memcpy(zp.data() + bp::kSetupHeader, image.setup_header.data(), image.setup_header.size());
    zp[bp::kTypeOfLoader] = kTypeOfLoaderUndefined;
    zp[bp::kLoadflags] = static_cast<uint8_t>(zp[bp::kLoadflags] | kLoadedHigh);
    store<uint32_t>(zp, bp::kCmdLinePtr, static_cast<uint32_t>(kCmdlineAddr));
    store<uint32_t>(zp, bp::kExtCmdLinePtr, 0);
    if (info.initrd) {
        const auto [addr, size] = *info.initrd;
        if (addr + size > uint64_t{image.initrd_addr_max} + 1)
            return make_error("initrd at {:#x} ends above the kernel's initrd_addr_max {:#x}", addr, image.initrd_addr_max);
        store<uint32_t>(zp, bp::kRamdiskImage, static_cast<uint32_t>(addr));
        store<uint32_t>(zp, bp::kRamdiskSize, static_cast<uint32_t>(size));
        store<uint32_t>(zp, bp::kExtRamdiskImage, static_cast<uint32_t>(addr >> 32));
        store<uint32_t>(zp, bp::kExtRamdiskSize, static_cast<uint32_t>(size >> 32));
    }
    store<uint64_t>(zp, bp::kAcpiRsdpAddr, info.rsdp);
    zp[bp::kE820Entries] = static_cast<uint8_t>(info.e820.size());
    for (size_t i = 0; i < info.e820.size(); ++i) {
        // struct boot_e820_entry: u64 addr, u64 size, u32 type (packed, 20 bytes).
        const size_t off = bp::kE820Table + i * 20;
        store<uint64_t>(zp, off, info.e820[i].addr);
        store<uint64_t>(zp, off + 8, info.e820[i].size);
        store<uint32_t>(zp, off + 16, static_cast<uint32_t>(info.e820[i].type));
    }
    std::vector<uint8_t> cmdline(info.cmdline.begin(), info.cmdline.end());
    cmdline.push_back(0);
    if (!mem.write(Gpa(kCmdlineAddr), cmdline) || !mem.write(Gpa(kZeroPageAddr), zp))
        return make_error("boot parameters outside guest RAM");
    return image.load_address + kEntry64Offset;
}

Result<void> write_boot_page_tables_and_gdt(GuestMemory& mem) {
    // GDT: null, null, __BOOT_CS (0x10: 64-bit code), __BOOT_DS (0x18: data).
    const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffff, 0x00cf93000000ffff};
    bool ok = mem.write(Gpa(kGdtAddr), {reinterpret_cast<const uint8_t*>(gdt), sizeof gdt});
    const uint64_t pml4e = kPdptAddr | kPte;
    ok = ok && mem.write(Gpa(kPml4Addr), {reinterpret_cast<const uint8_t*>(&pml4e), 8});
    for (uint64_t i = 0; i < 4; ++i) {
        const uint64_t pdpte = (kPdAddr + i * 0x1000) | kPte;
        ok = ok && mem.write(Gpa(kPdptAddr + i * 8), {reinterpret_cast<const uint8_t*>(&pdpte), 8});
    }
    for (uint64_t i = 0; i < 4 * 512; ++i) {
        const uint64_t pde = (i << 21) | kPte | kPtePs;
        ok = ok && mem.write(Gpa(kPdAddr + i * 8), {reinterpret_cast<const uint8_t*>(&pde), 8});
    }
    if (!ok) return make_error("boot page tables outside guest RAM");
    return trapeze::ok();
}

void set_linux64_entry_state(kvm_sregs& sregs, kvm_regs& regs, uint64_t entry, uint64_t boot_params) {
    kvm_segment code{};
    code.limit = 0xffffffff;
    code.selector = 0x10;
    code.type = 0xb;  // execute/read, accessed
    code.present = 1;
    code.s = 1;
    code.l = 1;
    code.g = 1;
    kvm_segment data = code;
    data.selector = 0x18;
    data.type = 0x3;  // read/write, accessed
    data.l = 0;
    data.db = 1;
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.gdt.base = kGdtAddr;
    sregs.gdt.limit = 4 * 8 - 1;
    sregs.cr3 = kPml4Addr;
    sregs.cr4 = 1u << 5;                          // PAE
    sregs.cr0 = (1u << 0) | (1u << 4) | (1u << 31);  // PE | ET | PG
    sregs.efer = (1u << 8) | (1u << 10);          // LME | LMA
    regs = kvm_regs{};
    regs.rip = entry;
    regs.rsi = boot_params;
    regs.rflags = 2;
}

}  // namespace trapeze::x86
