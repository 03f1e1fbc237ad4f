// libFuzzer target: the ELF loader (loader::ElfImage), which takes the kernel and bare-metal
// program files: parse, symbol lookup, extent, and loading into guest RAM.
//
// Input: the whole file. It is parsed for x86-64 if its e_machine says so, else for RISC-V
// (so every other machine value exercises the mismatch), and loaded into a 256 KiB guest RAM
// at 0x80000000 (the RISC-V board's RAM base) with guard pages on both sides.
//
// Checked: a parsed image has at least one segment, each inside the file, with file size <=
// memory size and an address range that does not wrap; the extent covers every segment; and
// load() leaves RAM exactly as placing the segments in order says it should (file bytes, then
// zeroes up to the memory size), stopping at the first segment that is not wholly RAM, which
// it must report as an error.
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_guest.hpp"
#include "loader/elf_image.hpp"

using namespace trapeze;
using trapeze::loader::ElfImage;

namespace {

constexpr uint64_t kRamBase = 0x8000'0000;
constexpr uint64_t kRamSize = 256 * 1024;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

GuestMemory& ram() {
    static GuestMemory& mem = fuzz::make_guarded_ram(Gpa(kRamBase), kRamSize);
    return mem;
}

uint16_t machine_of(std::span<const uint8_t> file) {
    Elf64_Ehdr eh{};
    if (file.size() >= sizeof eh) std::memcpy(&eh, file.data(), sizeof eh);
    return eh.e_machine == EM_X86_64 ? EM_X86_64 : EM_RISCV;
}

void check_segments(const ElfImage& img, size_t file_size) {
    require(!img.segments().empty());
    const auto [lo, hi] = img.extent();
    for (const ElfImage::Segment& s : img.segments()) {
        require(s.mem_size != 0 && s.file_size <= s.mem_size);
        require(s.file_offset <= file_size && s.file_size <= file_size - s.file_offset);
        require(s.paddr + s.mem_size >= s.paddr);
        require(lo <= s.paddr && s.paddr + s.mem_size <= hi);
    }
}

// Segments placed in order into a copy of RAM, up to the first that is not all RAM: what
// load() must have done. Returns whether every segment fitted.
bool place(const ElfImage& img, std::span<const uint8_t> file, const GuestMemory& mem, std::vector<uint8_t>& ram) {
    for (const ElfImage::Segment& s : img.segments()) {
        if (!mem.contains(Gpa(s.paddr), s.mem_size)) return false;
        uint8_t* at = ram.data() + (s.paddr - mem.base().value);
        std::memcpy(at, file.data() + s.file_offset, s.file_size);
        std::memset(at + s.file_size, 0, s.mem_size - s.file_size);
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    (void)ElfImage::looks_like_elf(file);
    auto img = ElfImage::parse({file.begin(), file.end()}, machine_of(file));
    if (!img) {
        require(!img.error().message.empty());
        return 0;
    }
    check_segments(*img, size);
    (void)img->symbol("tohost");
    (void)img->symbol("fromhost");
    (void)img->entry();

    GuestMemory& mem = ram();
    std::memset(mem.host_base(), 0, mem.size());
    std::vector<uint8_t> expected(mem.size(), 0);
    const bool fits = place(*img, file, mem, expected);
    const bool loaded = img->load(mem).ok();
    require(loaded == fits);
    require(std::memcmp(mem.host_base(), expected.data(), expected.size()) == 0);
    return 0;
}
