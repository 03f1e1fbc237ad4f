#include "loader/kernel_format.hpp"

#include <elf.h>

#include <cstring>

#include <fmt/format.h>

#include "loader/elf_image.hpp"

namespace trapeze::loader {

namespace {

// The RISC-V Image header's magic2 (boot-image-header.rst: "RSC\x05" at 0x38).
constexpr size_t kImageMagicOffset = 0x38;
constexpr char kImageMagic[4] = {'R', 'S', 'C', '\x05'};
// The x86 setup header's "HdrS" at 0x202 (boot.rst), the boot protocol's own signature.
constexpr size_t kBzImageMagicOffset = 0x202;
constexpr char kBzImageMagic[4] = {'H', 'd', 'r', 'S'};
static_assert(kKernelHeadBytes == kBzImageMagicOffset + sizeof kBzImageMagic);

bool has(std::span<const uint8_t> head, size_t off, const char (&magic)[4]) {
    return head.size() >= off + sizeof magic && std::memcmp(head.data() + off, magic, sizeof magic) == 0;
}

}  // namespace

KernelKind identify_kernel(std::span<const uint8_t> head) {
    // e_machine is the half-word at 18, little-endian in the little-endian ELF files both
    // boards take (a big-endian one is refused by the ELF loader for its class or data).
    if (head.size() >= 20 && ElfImage::looks_like_elf(head))
        return {KernelFormat::Elf, static_cast<uint16_t>(head[18] | head[19] << 8)};
    if (has(head, kImageMagicOffset, kImageMagic)) return {KernelFormat::RiscvImage};
    if (has(head, kBzImageMagicOffset, kBzImageMagic)) return {KernelFormat::BzImage};
    return {KernelFormat::Raw};
}

std::string elf_machine_name(uint16_t machine) {
    switch (machine) {
        case EM_X86_64:
            return "x86-64";
        case EM_RISCV:
            return "RISC-V";
        case EM_AARCH64:
            return "AArch64";
        case EM_386:
            return "i386";
        default:
            return fmt::format("machine {}", machine);
    }
}

}  // namespace trapeze::loader
