#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arch/x86_64/pvh.hpp"

namespace trapeze::x86 {
namespace {

// An ELF64 header, one PT_NOTE program header and the note bytes after them.
std::vector<uint8_t> elf_with_notes(const std::vector<uint8_t>& notes) {
    const size_t headers = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    std::vector<uint8_t> f(headers + notes.size());
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_machine = EM_X86_64;
    eh.e_type = ET_EXEC;
    eh.e_phoff = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr ph{};
    ph.p_type = PT_NOTE;
    ph.p_offset = headers;
    ph.p_filesz = notes.size();
    std::memcpy(f.data(), &eh, sizeof eh);
    std::memcpy(f.data() + sizeof eh, &ph, sizeof ph);
    if (!notes.empty()) std::memcpy(f.data() + headers, notes.data(), notes.size());
    return f;
}

void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

std::vector<uint8_t> note(const char* name, uint32_t type, std::vector<uint8_t> desc) {
    std::vector<uint8_t> n;
    const auto namesz = static_cast<uint32_t>(std::strlen(name) + 1);
    put32(n, namesz);
    put32(n, static_cast<uint32_t>(desc.size()));
    put32(n, type);
    n.insert(n.end(), name, name + namesz);
    while (n.size() % 4) n.push_back(0);
    n.insert(n.end(), desc.begin(), desc.end());
    while (n.size() % 4) n.push_back(0);
    return n;
}

TEST(PvhNote, FindsTheEntryAfterOtherNotes) {
    auto notes = note("GNU", 3, {1, 2, 3, 4, 5});
    auto xen = note("Xen", XEN_ELFNOTE_PHYS32_ENTRY, {0x20, 0x00, 0x10, 0x00});
    notes.insert(notes.end(), xen.begin(), xen.end());
    EXPECT_EQ(find_pvh_entry(elf_with_notes(notes)), 0x100020u);
}

TEST(PvhNote, AcceptsAnEightByteDescriptorAsLinuxWritesIt) {
    EXPECT_EQ(find_pvh_entry(elf_with_notes(note("Xen", 18, {0x80, 0x3a, 0x00, 0x01, 0, 0, 0, 0}))), 0x1003a80u);
}

TEST(PvhNote, IgnoresOtherXenNotesAndOtherOwners) {
    EXPECT_EQ(find_pvh_entry(elf_with_notes(note("Xen", 1, {1, 0, 0, 0}))), std::nullopt);
    EXPECT_EQ(find_pvh_entry(elf_with_notes(note("Xe", 18, {1, 0, 0, 0}))), std::nullopt);
}

TEST(PvhNote, RejectsANoteRunningPastItsSegment) {
    auto notes = note("Xen", 18, {0x20, 0x00, 0x10, 0x00});
    notes[4] = 0xff;  // descsz far beyond the segment
    EXPECT_EQ(find_pvh_entry(elf_with_notes(notes)), std::nullopt);
    EXPECT_EQ(find_pvh_entry(std::vector<uint8_t>(10, 0)), std::nullopt);
}

// Note segments that together name more bytes than the file (they overlap) are a crafted
// file: each would be scanned in full, segments times file size in all.
TEST(PvhNote, StopsAtNoteSegmentsThatTogetherExceedTheFile) {
    auto notes = note("GNU", 3, std::vector<uint8_t>(64, 1));
    const size_t gnu_size = notes.size();  // 80 bytes: more than a program header
    auto xen = note("Xen", XEN_ELFNOTE_PHYS32_ENTRY, {0x20, 0x00, 0x10, 0x00});
    notes.insert(notes.end(), xen.begin(), xen.end());
    auto f = elf_with_notes(notes);
    Elf64_Ehdr eh{};
    std::memcpy(&eh, f.data(), sizeof eh);
    Elf64_Phdr ph{};
    std::memcpy(&ph, f.data() + eh.e_phoff, sizeof ph);
    // Headers that all name the GNU note, then the Xen note's own segment: enough of them
    // that they name more bytes than the file, headers included, holds.
    const size_t count = (f.size() + sizeof ph) / (gnu_size - sizeof ph) + 1;
    std::vector<uint8_t> phdrs;
    for (size_t i = 0; i <= count; ++i) {
        Elf64_Phdr p = ph;
        p.p_filesz = i < count ? gnu_size : xen.size();
        if (i == count) p.p_offset += gnu_size;
        phdrs.insert(phdrs.end(), reinterpret_cast<uint8_t*>(&p), reinterpret_cast<uint8_t*>(&p) + sizeof p);
    }
    eh.e_phoff = f.size();
    eh.e_phnum = static_cast<uint16_t>(count + 1);
    std::memcpy(f.data(), &eh, sizeof eh);
    f.insert(f.end(), phdrs.begin(), phdrs.end());
    EXPECT_EQ(find_pvh_entry(f), std::nullopt);
    eh.e_phnum = 2;  // one GNU segment and the Xen one: a plain file
    std::memcpy(f.data(), &eh, sizeof eh);
    std::memcpy(f.data() + eh.e_phoff + sizeof ph, phdrs.data() + count * sizeof ph, sizeof ph);
    EXPECT_EQ(find_pvh_entry(f), 0x100020u);
}

TEST(PvhStartInfo, WritesMagicMemmapCommandLineAndModule) {
    auto mem = GuestMemory::create(Gpa(0), 1 << 20);
    ASSERT_TRUE(mem.ok());
    PvhBootInfo info;
    info.memmap = {{0, 0x9fc00, E820Type::Ram}, {0x100000, 0x100000, E820Type::Ram}};
    info.cmdline = "console=ttyS0";
    info.initrd = std::pair{uint64_t{0x80000}, uint64_t{0x1234}};
    info.rsdp = kAcpiBase;
    ASSERT_TRUE(write_pvh_start_info(*mem, info).ok());

    HvmStartInfo si{};
    ASSERT_TRUE(mem->read(Gpa(kStartInfoAddr), {reinterpret_cast<uint8_t*>(&si), sizeof si}));
    EXPECT_EQ(si.magic, XEN_HVM_START_MAGIC_VALUE);
    EXPECT_EQ(si.version, 1u);
    EXPECT_EQ(si.rsdp_paddr, kAcpiBase);
    ASSERT_EQ(si.memmap_entries, 2u);
    HvmMemmapEntry e{};
    ASSERT_TRUE(mem->read(Gpa(si.memmap_paddr + sizeof e), {reinterpret_cast<uint8_t*>(&e), sizeof e}));
    EXPECT_EQ(e.addr, 0x100000u);
    EXPECT_EQ(e.type, 1u);
    ASSERT_EQ(si.nr_modules, 1u);
    HvmModlistEntry mod{};
    ASSERT_TRUE(mem->read(Gpa(si.modlist_paddr), {reinterpret_cast<uint8_t*>(&mod), sizeof mod}));
    EXPECT_EQ(mod.paddr, 0x80000u);
    EXPECT_EQ(mod.size, 0x1234u);
    auto cmd = mem->span(Gpa(si.cmdline_paddr), 14);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(cmd.data())), "console=ttyS0");
}

TEST(PvhStartInfo, RejectsAnOverlongCommandLine) {
    auto mem = GuestMemory::create(Gpa(0), 1 << 20);
    ASSERT_TRUE(mem.ok());
    PvhBootInfo info;
    info.cmdline.assign(kCmdlineMax, 'x');
    EXPECT_FALSE(write_pvh_start_info(*mem, info).ok());
}

}  // namespace
}  // namespace trapeze::x86
