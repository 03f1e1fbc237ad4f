// libFuzzer target: the x86-64 kernel loaders, chosen as X86Machine::load_kernel chooses: an
// ELF file with a Xen PVH entry note (x86::find_pvh_entry, then loader::ElfImage and
// x86::write_pvh_start_info), else a bzImage (x86::parse_bzimage, x86::load_bzimage and the
// boot page tables of the 64-bit boot protocol).
//
// Input: the whole kernel file. Guest RAM is 4 MiB at 0 with guard pages; the boot information
// (e820 map, a command line, an initrd at the top of RAM) is fixed, as the machine makes it.
//
// Checked: a parsed bzImage's setup header and kernel are parts of the file, the kernel loads
// at or above 1 MiB with init_size covering it; once loaded, RAM holds the kernel at its load
// address, the zero page the image's setup header plus what the loader sets (type_of_loader,
// LOADED_HIGH, cmd_line_ptr, ramdisk, the e820 table), the command line NUL-terminated, and the
// entry is load address + 0x200. A PVH kernel that loads lies inside RAM above 1 MiB. The fixed boot information
// always fits. Every reported write lies inside RAM.
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86_64/bzimage.hpp"
#include "arch/x86_64/pvh.hpp"
#include "fuzz_guest.hpp"
#include "loader/elf_image.hpp"

using namespace trapeze;
using namespace trapeze::x86;

namespace {

constexpr uint64_t kRamSize = 4 << 20;
constexpr uint64_t kInitrdSize = 0x1000;
constexpr uint64_t kInitrdAt = kRamSize - kInitrdSize;
constexpr size_t kE820EntrySize = 20;  // struct boot_e820_entry, packed (zero-page.rst)
const std::string kCmdline = "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5";

void require(bool ok) {
    if (!ok) __builtin_trap();
}

GuestMemory& ram() {
    static GuestMemory& mem = fuzz::make_guarded_ram(Gpa(0), kRamSize);
    return mem;
}

std::vector<E820Entry> e820() {
    return {{0, kEbdaStart, E820Type::Ram}, {kHighRamStart, kRamSize - kHighRamStart, E820Type::Ram}};
}

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
    return part.data() >= whole.data() && part.size() <= whole.size() &&
           part.data() - whole.data() <= static_cast<std::ptrdiff_t>(whole.size() - part.size());
}

bool ram_holds(const GuestMemory& mem, uint64_t gpa, std::span<const uint8_t> bytes) {
    const auto at = mem.span(Gpa(gpa), bytes.size());
    return at.size() == bytes.size() && (bytes.empty() || std::memcmp(at.data(), bytes.data(), bytes.size()) == 0);
}

template <typename T>
T ram_at(const GuestMemory& mem, uint64_t gpa) {
    T v{};
    require(mem.read(Gpa(gpa), {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
}

// The zero page is the image's setup header with the loader's own fields set (boot.rst),
// the e820 table among them: a header whose length byte (0x201) claims up to 0x301 reaches
// past boot_params' edd buffer into e820_table at 0x2d0, which the loader writes after it.
void check_zero_page(const GuestMemory& mem, const BzImage& bz, const std::vector<E820Entry>& map) {
    std::vector<uint8_t> header(bz.setup_header.begin(), bz.setup_header.end());
    std::vector<uint8_t> zp(header.size());
    require(mem.read(Gpa(kZeroPageAddr + bp::kSetupHeader), zp));
    const size_t e820_end = bp::kE820Table + kE820EntrySize * map.size();
    for (size_t i = 0; i < header.size(); ++i) {
        const size_t field = bp::kSetupHeader + i;
        const bool loader_field = field == bp::kTypeOfLoader || field == bp::kLoadflags ||
                                  (field >= bp::kCmdLinePtr && field < bp::kCmdLinePtr + 4) ||
                                  (field >= bp::kRamdiskImage && field < bp::kRamdiskImage + 8) ||
                                  (field >= bp::kE820Table && field < e820_end);
        if (!loader_field) require(zp[i] == header[i]);
    }
    require(ram_at<uint8_t>(mem, kZeroPageAddr + bp::kE820Entries) == map.size());
    for (size_t i = 0; i < map.size(); ++i) {
        const uint64_t entry = kZeroPageAddr + bp::kE820Table + kE820EntrySize * i;
        require(ram_at<uint64_t>(mem, entry) == map[i].addr && ram_at<uint64_t>(mem, entry + 8) == map[i].size);
        require(ram_at<uint32_t>(mem, entry + 16) == static_cast<uint32_t>(map[i].type));
    }
    require(ram_at<uint8_t>(mem, kZeroPageAddr + bp::kTypeOfLoader) == kTypeOfLoaderUndefined);
    require((ram_at<uint8_t>(mem, kZeroPageAddr + bp::kLoadflags) & kLoadedHigh) != 0);
    require(ram_at<uint32_t>(mem, kZeroPageAddr + bp::kCmdLinePtr) == kCmdlineAddr);
}

void boot_bzimage(std::span<const uint8_t> file, GuestMemory& mem) {
    auto bz = parse_bzimage(file);
    if (!bz) return;
    require(bz->version >= kMinBootProtocol);
    require(inside(bz->setup_header, file.first(bp::kSize)) && inside(bz->kernel, file));
    require(bz->load_address >= kHighRamStart && bz->init_size >= bz->kernel.size());
    LinuxBootInfo info;
    info.e820 = e820();
    info.cmdline = kCmdline;
    info.initrd = std::pair{kInitrdAt, kInitrdSize};
    info.rsdp = kAcpiBase;
    auto entry = load_bzimage(mem, *bz, info);
    if (!entry) return;
    require(mem.contains(Gpa(bz->load_address), bz->init_size));
    require(*entry == bz->load_address + kEntry64Offset);
    require(ram_holds(mem, bz->load_address, bz->kernel));
    check_zero_page(mem, *bz, info.e820);
    const std::string with_nul = kCmdline + '\0';
    require(ram_holds(mem, kCmdlineAddr, {reinterpret_cast<const uint8_t*>(with_nul.data()), with_nul.size()}));
    require(write_boot_page_tables_and_gdt(mem).ok());
}

void boot_pvh(std::span<const uint8_t> file, GuestMemory& mem) {
    auto elf = loader::ElfImage::parse({file.begin(), file.end()}, EM_X86_64);
    if (!elf) return;
    const auto [lo, hi] = elf->extent();
    if (lo < kHighRamStart) return;  // the machine refuses a kernel below 1 MiB
    if (!elf->load(mem)) return;
    require(mem.contains(Gpa(lo), hi - lo));
    PvhBootInfo info;
    info.memmap = e820();
    info.cmdline = kCmdline;
    info.initrd = std::pair{kInitrdAt, kInitrdSize};
    info.rsdp = kAcpiBase;
    require(write_pvh_start_info(mem, info).ok());
    require(ram_at<uint32_t>(mem, kStartInfoAddr) == XEN_HVM_START_MAGIC_VALUE);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    GuestMemory& mem = ram();
    mem.set_write_observer([&mem](Gpa gpa, uint64_t len) { require(mem.contains(gpa, len)); });
    if (find_pvh_entry(file)) {
        boot_pvh(file, mem);
    } else if (looks_like_bzimage(file)) {
        boot_bzimage(file, mem);
    }
    mem.set_write_observer({});
    return 0;
}
