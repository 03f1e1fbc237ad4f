// The ELF loader reads untrusted files: every malformed header is an error, never a crash.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "loader/elf_image.hpp"

namespace trapeze::loader {
namespace {

// A minimal ELF64 RISC-V executable: one PT_LOAD of `payload` at paddr, plus a symbol table.
std::vector<uint8_t> make_elf(uint64_t paddr, const std::vector<uint8_t>& payload, uint64_t memsz) {
    const char strtab[] = "\0tohost\0";
    const uint64_t ph_off = sizeof(Elf64_Ehdr), data_off = ph_off + sizeof(Elf64_Phdr);
    const uint64_t sym_off = data_off + payload.size(), str_off = sym_off + 2 * sizeof(Elf64_Sym);
    const uint64_t sh_off = str_off + sizeof(strtab);
    std::vector<uint8_t> f(sh_off + 3 * sizeof(Elf64_Shdr));
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
    eh.e_shoff = sh_off;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 3;
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_offset = data_off;
    ph.p_paddr = paddr;
    ph.p_filesz = payload.size();
    ph.p_memsz = memsz;
    Elf64_Sym syms[2]{};
    syms[1].st_name = 1;
    syms[1].st_value = paddr + 0x40;
    Elf64_Shdr sh[3]{};
    sh[1].sh_type = SHT_SYMTAB;
    sh[1].sh_offset = sym_off;
    sh[1].sh_size = sizeof(syms);
    sh[1].sh_link = 2;
    sh[2].sh_type = SHT_STRTAB;
    sh[2].sh_offset = str_off;
    sh[2].sh_size = sizeof(strtab);
    std::memcpy(f.data(), &eh, sizeof eh);
    std::memcpy(f.data() + ph_off, &ph, sizeof ph);
    std::memcpy(f.data() + data_off, payload.data(), payload.size());
    std::memcpy(f.data() + sym_off, syms, sizeof syms);
    std::memcpy(f.data() + str_off, strtab, sizeof strtab);
    std::memcpy(f.data() + sh_off, sh, sizeof sh);
    return f;
}

TEST(ElfImage, LoadsSegmentsZeroFillsBssAndFindsSymbols) {
    auto mem = GuestMemory::create(Gpa(0x80000000), 0x10000).value();
    std::memset(mem.host_base(), 0xee, 0x100);
    auto img = ElfImage::parse(make_elf(0x80000000, {1, 2, 3}, 0x10), EM_RISCV);
    ASSERT_TRUE(img.ok()) << img.error().message;
    ASSERT_TRUE(img->load(mem).ok());
    EXPECT_EQ(mem.host_base()[2], 3);
    EXPECT_EQ(mem.host_base()[3], 0);  // bss
    EXPECT_EQ(mem.host_base()[0x10], 0xee);
    EXPECT_EQ(img->entry(), 0x80000000u);
    EXPECT_EQ(img->symbol("tohost"), 0x80000040u);
    EXPECT_FALSE(img->symbol("fromhost").has_value());
}

TEST(ElfImage, RejectsSegmentsOutsideGuestRam) {
    auto mem = GuestMemory::create(Gpa(0x80000000), 0x10000).value();
    auto img = ElfImage::parse(make_elf(0x8000fff0, {1}, 0x100), EM_RISCV);
    ASSERT_TRUE(img.ok());
    EXPECT_FALSE(img->load(mem).ok());
}

TEST(ElfImage, RejectsOtherMachinesAndTruncatedFiles) {
    auto elf = make_elf(0x80000000, {1}, 1);
    auto other = ElfImage::parse(elf, EM_X86_64);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().message, "ELF file is for RISC-V, not x86-64");  // not "machine 243"
    auto truncated = elf;
    truncated.resize(sizeof(Elf64_Ehdr) + 10);  // program header cut off
    EXPECT_FALSE(ElfImage::parse(truncated, EM_RISCV).ok());
    EXPECT_FALSE(ElfImage::parse({0x7f, 'E', 'L', 'F'}, EM_RISCV).ok());
}

TEST(ElfImage, RejectsSegmentsPointingPastTheFile) {
    auto elf = make_elf(0x80000000, {1, 2}, 2);
    Elf64_Phdr ph{};
    std::memcpy(&ph, elf.data() + sizeof(Elf64_Ehdr), sizeof ph);
    ph.p_offset = ~0ull - 1;
    std::memcpy(elf.data() + sizeof(Elf64_Ehdr), &ph, sizeof ph);
    EXPECT_FALSE(ElfImage::parse(elf, EM_RISCV).ok());
}

TEST(ElfImage, SurvivesAGarbageSymbolTable) {
    auto elf = make_elf(0x80000000, {1}, 1);
    Elf64_Ehdr eh{};
    std::memcpy(&eh, elf.data(), sizeof eh);
    Elf64_Shdr sh{};
    std::memcpy(&sh, elf.data() + eh.e_shoff + sizeof(Elf64_Shdr), sizeof sh);
    sh.sh_size = ~0ull;  // claims a table larger than the file
    std::memcpy(elf.data() + eh.e_shoff + sizeof(Elf64_Shdr), &sh, sizeof sh);
    auto img = ElfImage::parse(elf, EM_RISCV);
    ASSERT_TRUE(img.ok());
    EXPECT_FALSE(img->symbol("tohost").has_value());
}

// Appends a second SHT_SYMTAB (and its string table) naming `name`, after the file's own.
void add_second_symbol_table(std::vector<uint8_t>& elf, const char* name, uint64_t value) {
    Elf64_Ehdr eh{};
    std::memcpy(&eh, elf.data(), sizeof eh);
    const uint64_t sh_end = eh.e_shoff + uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr);
    ASSERT_EQ(sh_end, elf.size()) << "make_elf puts the section headers last";
    const uint64_t sym_off = sh_end + 2 * sizeof(Elf64_Shdr);
    const uint64_t str_off = sym_off + 2 * sizeof(Elf64_Sym);
    Elf64_Shdr sh[2]{};
    sh[0].sh_type = SHT_SYMTAB;
    sh[0].sh_offset = sym_off;
    sh[0].sh_size = 2 * sizeof(Elf64_Sym);
    sh[0].sh_link = eh.e_shnum + 1;
    sh[1].sh_type = SHT_STRTAB;
    sh[1].sh_offset = str_off;
    sh[1].sh_size = std::strlen(name) + 2;
    Elf64_Sym syms[2]{};
    syms[1].st_name = 1;
    syms[1].st_value = value;
    elf.resize(str_off + sh[1].sh_size, 0);
    std::memcpy(elf.data() + sh_end, sh, sizeof sh);
    std::memcpy(elf.data() + sym_off, syms, sizeof syms);
    std::memcpy(elf.data() + str_off + 1, name, std::strlen(name));
    eh.e_shnum = static_cast<uint16_t>(eh.e_shnum + 2);
    std::memcpy(elf.data(), &eh, sizeof eh);
}

// gABI: one SHT_SYMTAB per file. Reading every table made the work grow as section headers
// times symbols (a 132 KiB file of 2048 headers naming one table: 8 s and 0.9 GB).
TEST(ElfImage, ReadsOnlyTheFirstSymbolTable) {
    auto elf = make_elf(0x80000000, {1}, 1);
    add_second_symbol_table(elf, "fromhost", 0x80000048);
    auto img = ElfImage::parse(elf, EM_RISCV);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->symbol("tohost"), 0x80000040u);
    EXPECT_FALSE(img->symbol("fromhost").has_value());
}

// Names are matched in the string table, not copied: one that runs to the table's end
// without a NUL is still whole, and a prefix of a name is not that name.
TEST(ElfImage, MatchesWholeNamesEvenWithoutATerminatingNul) {
    auto elf = make_elf(0x80000000, {1}, 1);
    Elf64_Ehdr eh{};
    std::memcpy(&eh, elf.data(), sizeof eh);
    Elf64_Shdr strtab{};
    std::memcpy(&strtab, elf.data() + eh.e_shoff + 2 * sizeof(Elf64_Shdr), sizeof strtab);
    strtab.sh_size -= 2;  // "\0tohost", no NUL after the name
    std::memcpy(elf.data() + eh.e_shoff + 2 * sizeof(Elf64_Shdr), &strtab, sizeof strtab);
    auto img = ElfImage::parse(elf, EM_RISCV);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img->symbol("tohost"), 0x80000040u);
    EXPECT_FALSE(img->symbol("tohos").has_value());
    EXPECT_FALSE(img->symbol("tohostx").has_value());
}

}  // namespace
}  // namespace trapeze::loader
