#include "machine/riscv_boot.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include "base/bits.hpp"
#include "base/file.hpp"
#include "loader/elf_image.hpp"
#include "loader/kernel_format.hpp"

namespace trapeze::machine {

namespace {

constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// Linux RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst).
constexpr size_t kImageHeaderSize = 64;
constexpr uint64_t kImageSizeOffset = 0x10;

// The RAM for [addr, addr+size), or an error naming `what` if it is not all RAM.
Result<std::span<uint8_t>> ram_for(GuestMemory& mem, uint64_t addr, uint64_t size, std::string_view what) {
    const std::span<uint8_t> dst = mem.span(Gpa(addr), size);
    if (dst.size() != size)
        return make_error("{} ({} bytes at {:#x}) does not fit in guest RAM ({} MiB)", what, size, addr,
                          mem.size() >> 20);
    return dst;
}

// Reads the file at path straight into guest RAM at addr ([addr, addr+size) must be RAM).
Result<void> read_into(GuestMemory& mem, uint64_t addr, uint64_t size, const std::string& path,
                       const std::string& what) {
    auto dst = ram_for(mem, addr, size, what);
    if (!dst) return dst.error();
    TRAPEZE_TRY(read_file_into(path, *dst));
    mem.notify_written(Gpa(addr), size);
    return ok();
}

// An ELF kernel is loaded by its physical addresses; returns its end (bss included).
Result<uint64_t> load_elf_kernel(std::vector<uint8_t> data, GuestMemory& mem, std::string_view name) {
    auto elf = loader::ElfImage::parse(std::move(data), EM_RISCV);
    if (!elf) return make_error("kernel '{}': {}", name, elf.error().message);
    TRAPEZE_TRY(std::move(elf->load(mem)).context(fmt::format("kernel '{}'", name)));
    return elf->extent().second;
}

// The memory a kernel of `file_bytes` bytes needs from its load address. A Linux Image: its
// header's image_size, at least the file (boot-image-header.rst). Anything else that is not
// ELF is a raw binary (U-Boot's u-boot.bin, say), loaded as it is at the kernel address as
// QEMU's virt board loads one. But not an x86 bzImage: as a raw binary the harts would run its
// bytes, silently and forever. `head` is the file's first bytes (loader::kKernelHeadBytes, or the whole file).
Result<uint64_t> kernel_memory_size(std::span<const uint8_t> head, uint64_t file_bytes, std::string_view name) {
    if (file_bytes == 0) return make_error("kernel '{}' is empty", name);
    const loader::KernelFormat format = loader::identify_kernel(head).format;
    if (format == loader::KernelFormat::BzImage)
        return make_error("kernel '{}' is an x86 bzImage, not a RISC-V kernel (it runs with --arch x86_64)", name);
    if (format != loader::KernelFormat::RiscvImage || head.size() < kImageHeaderSize) return file_bytes;
    return std::max<uint64_t>(file_bytes, load_le<uint64_t>(head.data() + kImageSizeOffset));
}

// The end of a kernel of memory size `size` placed at `at`, once its file bytes are there.
Result<uint64_t> image_end(const GuestMemory& mem, uint64_t at, uint64_t size, std::string_view name) {
    if (!mem.contains(Gpa(at), size))
        return make_error("kernel '{}' needs {} MiB at {:#x}: guest RAM is too small", name, size >> 20, at);
    return at + size;
}

// Returns the end of the kernel in RAM (its memory size, bss included). A Linux Image or a raw
// binary is read straight into RAM; an ELF file is parsed from a copy. load_kernel_bytes is the same for a
// kernel already in memory.
Result<uint64_t> load_kernel(const std::string& path, GuestMemory& mem, uint64_t at) {
    auto file_bytes = file_size(path);
    if (!file_bytes) return std::move(file_bytes).context("kernel").error();
    std::array<uint8_t, loader::kKernelHeadBytes> header{};
    const auto head = std::span(header).first(std::min<size_t>(header.size(), *file_bytes));
    TRAPEZE_TRY(std::move(read_file_into(path, head)).context("kernel"));
    if (loader::ElfImage::looks_like_elf(head)) {
        auto data = read_file(path);
        if (!data) return std::move(data).context("kernel").error();
        return load_elf_kernel(std::move(*data), mem, path);
    }
    auto size = kernel_memory_size(head, *file_bytes, path);
    if (!size) return size.error();
    TRAPEZE_TRY(read_into(mem, at, *file_bytes, path, fmt::format("kernel '{}'", path)));
    return image_end(mem, at, *size, path);
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
        auto fw_bytes = file_size(*cfg.bios);
        if (!fw_bytes) return std::move(fw_bytes).context("firmware").error();
        // Nothing at the reset vector: the harts would trap on zeros forever, silently.
        if (*fw_bytes == 0) return make_error("firmware '{}' is empty", *cfg.bios);
        if (*fw_bytes > kKernelOffset)
            return make_error("firmware '{}' is {} bytes; at most {} fit below the kernel", *cfg.bios, *fw_bytes,
                              kKernelOffset);
        TRAPEZE_TRY(read_into(mem, mem.base().value, *fw_bytes, *cfg.bios, fmt::format("firmware '{}'", *cfg.bios)));
        plan.entry = mem.base().value;
        if (!cfg.kernel.empty()) {
            auto end = load_kernel(cfg.kernel, mem, mem.base().value + kKernelOffset);
            if (!end) return end.error();
            kernel_end = *end;
        }
    }
    if (kernel_end > fdt_addr) return make_error("guest RAM ({} MiB) is too small for the kernel", mem.size() >> 20);
    if (cfg.initrd) {
        auto size = file_size(*cfg.initrd);
        if (!size) return std::move(size).context("initrd").error();
        if (*size + align_up(kernel_end, 0x1000) > fdt_addr)
            return make_error("initrd '{}' ({} MiB) does not fit in guest RAM ({} MiB) with the kernel", *cfg.initrd,
                              *size >> 20, mem.size() >> 20);
        const uint64_t start = align_down(fdt_addr - *size, 0x1000);
        TRAPEZE_TRY(read_into(mem, start, *size, *cfg.initrd, fmt::format("initrd '{}'", *cfg.initrd)));
        board.initrd = std::make_pair(start, start + *size);
    }
    plan.fdt_addr = fdt_addr;
    return plan;
}

Result<uint64_t> load_kernel_bytes(std::span<const uint8_t> file, GuestMemory& mem, uint64_t at, std::string_view name) {
    const auto head = file.first(std::min<size_t>(loader::kKernelHeadBytes, file.size()));
    if (loader::ElfImage::looks_like_elf(head)) return load_elf_kernel({file.begin(), file.end()}, mem, name);
    auto size = kernel_memory_size(head, file.size(), name);
    if (!size) return size.error();
    auto dst = ram_for(mem, at, file.size(), fmt::format("kernel '{}'", name));
    if (!dst) return dst.error();
    std::copy(file.begin(), file.end(), dst->begin());
    mem.notify_written(Gpa(at), file.size());
    return image_end(mem, at, *size, name);
}

}  // namespace trapeze::machine
