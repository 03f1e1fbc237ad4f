#include "machine/riscv_boot.hpp"

#include <elf.h>

#include <cstring>

#include "base/bits.hpp"
#include "base/file.hpp"
#include "loader/elf_image.hpp"

namespace trapeze::machine {

namespace {

constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// Linux RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst).
constexpr size_t kImageHeaderSize = 64;
constexpr uint64_t kImageSizeOffset = 0x10;
constexpr uint64_t kImageMagic2Offset = 0x38;
constexpr char kImageMagic2[4] = {'R', 'S', 'C', '\x05'};

Result<void> copy_in(GuestMemory& mem, uint64_t addr, const std::vector<uint8_t>& data, const std::string& what) {
    if (!mem.write(Gpa(addr), data))
        return make_error("{} ({} bytes at {:#x}) does not fit in guest RAM ({} MiB)", what, data.size(), addr,
                          mem.size() >> 20);
    return ok();
}

// Returns the end of the kernel in RAM (its memory size, bss included).
Result<uint64_t> load_kernel(const std::string& path, GuestMemory& mem, uint64_t at) {
    auto data = read_file(path);
    if (!data) return std::move(data).context("kernel").error();
    if (loader::ElfImage::looks_like_elf(*data)) {
        auto elf = loader::ElfImage::parse(std::move(*data), EM_RISCV);
        if (!elf) return make_error("kernel '{}': {}", path, elf.error().message);
        TRAPEZE_TRY(std::move(elf->load(mem)).context(fmt::format("kernel '{}'", path)));
        return elf->extent().second;
    }
    // Anything else must be a Linux Image: a random file would only make the firmware jump
    // into garbage and hang, so say so instead.
    if (data->size() < kImageHeaderSize || std::memcmp(data->data() + kImageMagic2Offset, kImageMagic2, 4) != 0)
        return make_error("kernel '{}' is neither an ELF file nor a RISC-V Linux Image (no RSC\\x05 magic)", path);
    const uint64_t size = std::max<uint64_t>(data->size(), load_le<uint64_t>(data->data() + kImageSizeOffset));
    TRAPEZE_TRY(copy_in(mem, at, *data, fmt::format("kernel '{}'", path)));
    if (!mem.contains(Gpa(at), size))
        return make_error("kernel '{}' needs {} MiB at {:#x}: guest RAM is too small", path, size >> 20, at);
    return at + size;
}

Result<BootPlan> load_bare_metal(const MachineConfig& cfg, GuestMemory& mem) {
    auto data = read_file(cfg.kernel);
    if (!data) return std::move(data).context("kernel").error();
    if (!loader::ElfImage::looks_like_elf(*data))
        return make_error("--bios none needs an ELF kernel; '{}' is not an ELF file", cfg.kernel);
    auto elf = loader::ElfImage::parse(std::move(*data), EM_RISCV);
    if (!elf) return make_error("kernel '{}': {}", cfg.kernel, elf.error().message);
    TRAPEZE_TRY(std::move(elf->load(mem)).context(fmt::format("kernel '{}'", cfg.kernel)));
    BootPlan plan;
    plan.entry = elf->entry();
    plan.tohost = elf->symbol("tohost");
    plan.fromhost = elf->symbol("fromhost");
    return plan;
}

}  // namespace

Result<BootPlan> load_boot_images(const MachineConfig& cfg, GuestMemory& mem, arch::riscv64::BoardConfig& board) {
    const uint64_t ram_end = mem.end().value;
    // The FDT goes at the top of RAM, 2 MiB aligned as QEMU does, out of the kernel's way.
    const uint64_t fdt_addr = align_down(ram_end - kFdtMaxSize, 0x200000);
    BootPlan plan;
    uint64_t kernel_end = mem.base().value;
    if (!cfg.bios) {
        auto bare = load_bare_metal(cfg, mem);
        if (!bare) return bare.error();
        plan = *bare;
        kernel_end = mem.base().value;  // the ELF's own layout; an initrd still goes below the FDT
    } else {
        auto fw = read_file(*cfg.bios);
        if (!fw) return std::move(fw).context("firmware").error();
        if (fw->size() > kKernelOffset)
            return make_error("firmware '{}' is {} bytes; at most {} fit below the kernel", *cfg.bios, fw->size(), kKernelOffset);
        TRAPEZE_TRY(copy_in(mem, mem.base().value, *fw, fmt::format("firmware '{}'", *cfg.bios)));
        plan.entry = mem.base().value;
        if (!cfg.kernel.empty()) {
            auto end = load_kernel(cfg.kernel, mem, mem.base().value + kKernelOffset);
            if (!end) return end.error();
            kernel_end = *end;
        }
    }
    if (kernel_end > fdt_addr) return make_error("guest RAM ({} MiB) is too small for the kernel", mem.size() >> 20);
    if (cfg.initrd) {
        auto initrd = read_file(*cfg.initrd);
        if (!initrd) return std::move(initrd).context("initrd").error();
        if (initrd->size() + align_up(kernel_end, 0x1000) > fdt_addr)
            return make_error("initrd '{}' ({} MiB) does not fit in guest RAM ({} MiB) with the kernel", *cfg.initrd,
                              initrd->size() >> 20, mem.size() >> 20);
        const uint64_t start = align_down(fdt_addr - initrd->size(), 0x1000);
        TRAPEZE_TRY(copy_in(mem, start, *initrd, fmt::format("initrd '{}'", *cfg.initrd)));
        board.initrd = std::make_pair(start, start + initrd->size());
    }
    plan.fdt_addr = fdt_addr;
    return plan;
}

}  // namespace trapeze::machine
