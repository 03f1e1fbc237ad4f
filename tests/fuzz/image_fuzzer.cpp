// libFuzzer target: the RISC-V kernel loader (machine::load_kernel_bytes, the kernel step of
// load_boot_images): a Linux Image (its 64-byte header, boot-image-header.rst) or an ELF file.
//
// Input: the whole kernel file. Guest RAM is 1 MiB at 0x80000000 (guard pages on both sides);
// an Image goes to RAM + 64 KiB (the board uses + 2 MiB; the place does not matter here).
//
// Checked on success: the kernel ends inside RAM; an Image's end is at least its file size
// past its load address, its file bytes are what RAM holds there, and the write was reported
// (engines drop decoded code through that report); every reported write lies inside RAM.
// A failure must say why.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_guest.hpp"
#include "loader/elf_image.hpp"
#include "machine/riscv_boot.hpp"

using namespace trapeze;

namespace {

constexpr uint64_t kRamBase = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kImageAt = kRamBase + 0x10000;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

struct Write {
    uint64_t gpa;
    uint64_t len;
};

GuestMemory& ram() {
    static GuestMemory& mem = fuzz::make_guarded_ram(Gpa(kRamBase), kRamSize);
    return mem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    GuestMemory& mem = ram();
    std::vector<Write> writes;
    mem.set_write_observer([&](Gpa gpa, uint64_t len) {
        require(mem.contains(gpa, len));
        writes.push_back({gpa.value, len});
    });
    auto end = machine::load_kernel_bytes(file, mem, kImageAt, "fuzz");
    mem.set_write_observer({});
    if (!end) {
        require(!end.error().message.empty());
        return 0;
    }
    require(*end > mem.base().value && *end <= mem.end().value);
    if (loader::ElfImage::looks_like_elf(file)) return 0;  // elf_fuzzer checks the ELF loader itself
    require(*end - kImageAt >= size);
    require(std::memcmp(mem.span(Gpa(kImageAt), size).data(), data, size) == 0);
    require(writes.size() == 1 && writes[0].gpa == kImageAt && writes[0].len == size);
    return 0;
}
