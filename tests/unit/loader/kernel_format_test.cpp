// identify_kernel tells the kernel formats apart by their magics, from as many of the file's
// first bytes as it has: a file too short to hold a magic is not taken for that format.
#include "loader/kernel_format.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace trapeze::loader {
namespace {

std::vector<uint8_t> with_magic(size_t size, size_t off, const char* magic, size_t len) {
    std::vector<uint8_t> head(size, 0);
    std::memcpy(head.data() + off, magic, len);
    return head;
}

std::vector<uint8_t> elf_for(uint16_t machine) {
    std::vector<uint8_t> head = with_magic(64, 0, ELFMAG, SELFMAG);
    head[18] = static_cast<uint8_t>(machine);
    head[19] = static_cast<uint8_t>(machine >> 8);
    return head;
}

TEST(KernelFormat, TellsElfRiscvImageBzImageAndRawApart) {
    const KernelKind riscv = identify_kernel(elf_for(EM_RISCV));
    EXPECT_EQ(riscv.format, KernelFormat::Elf);
    EXPECT_EQ(riscv.elf_machine, EM_RISCV);
    EXPECT_EQ(identify_kernel(elf_for(EM_X86_64)).elf_machine, EM_X86_64);
    EXPECT_EQ(identify_kernel(elf_for(EM_AARCH64)).elf_machine, EM_AARCH64);
    EXPECT_EQ(identify_kernel(with_magic(kKernelHeadBytes, 0x38, "RSC\x05", 4)).format, KernelFormat::RiscvImage);
    EXPECT_EQ(identify_kernel(with_magic(kKernelHeadBytes, 0x202, "HdrS", 4)).format, KernelFormat::BzImage);
    EXPECT_EQ(identify_kernel(std::vector<uint8_t>(kKernelHeadBytes, 0x13)).format, KernelFormat::Raw);
    EXPECT_EQ(identify_kernel({}).format, KernelFormat::Raw);
}

TEST(KernelFormat, NeedsTheWholeMagicInTheBytesItIsGiven) {
    const std::vector<uint8_t> bz = with_magic(kKernelHeadBytes, 0x202, "HdrS", 4);
    EXPECT_EQ(identify_kernel(std::span(bz).first(kKernelHeadBytes - 1)).format, KernelFormat::Raw);
    const std::vector<uint8_t> image = with_magic(0x3c, 0x38, "RSC\x05", 4);
    EXPECT_EQ(identify_kernel(image).format, KernelFormat::RiscvImage);
    EXPECT_EQ(identify_kernel(std::span(image).first(0x3b)).format, KernelFormat::Raw);
    const std::vector<uint8_t> elf = elf_for(EM_RISCV);
    EXPECT_EQ(identify_kernel(std::span(elf).first(19)).format, KernelFormat::Raw) << "no e_machine in it";
}

TEST(KernelFormat, NamesTheMachinesAWrongKernelIsLikelyFor) {
    EXPECT_EQ(elf_machine_name(EM_X86_64), "x86-64");
    EXPECT_EQ(elf_machine_name(EM_RISCV), "RISC-V");
    EXPECT_EQ(elf_machine_name(EM_AARCH64), "AArch64");
    EXPECT_EQ(elf_machine_name(EM_386), "i386");
    EXPECT_EQ(elf_machine_name(20), "machine 20");
}

}  // namespace
}  // namespace trapeze::loader
