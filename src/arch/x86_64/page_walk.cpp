#include "arch/x86_64/page_walk.hpp"

#include <array>
#include <cstring>
#include <span>

namespace trapeze::x86 {
namespace {

constexpr uint64_t kCr0Pg = uint64_t{1} << 31;    // paging enabled
constexpr uint64_t kCr4Pse = uint64_t{1} << 4;    // 4 MiB pages in 32-bit paging
constexpr uint64_t kCr4Pae = uint64_t{1} << 5;    // PAE (and long mode) paging structures
constexpr uint64_t kCr4La57 = uint64_t{1} << 12;  // 5-level paging
constexpr uint64_t kEferLma = uint64_t{1} << 10;  // long mode active

constexpr uint64_t kPresent = uint64_t{1} << 0;  // P, in every paging entry
constexpr uint64_t kLarge = uint64_t{1} << 7;    // PS: this entry maps a page
// Bits 51:12 of an 8-byte entry: the next table or the page (SDM §4.5: up to MAXPHYADDR 52).
constexpr uint64_t kAddrMask = 0x000f'ffff'ffff'f000;

std::optional<uint64_t> read_entry(const GuestMemory& mem, uint64_t at, size_t size) {
    std::array<uint8_t, 8> bytes{};
    if (!mem.read(Gpa(at), std::span(bytes).first(size))) return std::nullopt;
    uint64_t entry = 0;
    std::memcpy(&entry, bytes.data(), size);  // little-endian host and guest
    return entry;
}

uint64_t low_bits(uint64_t value, unsigned bits) {
    return value & ((uint64_t{1} << bits) - 1);
}

// PAE, 4-level and 5-level paging share the 8-byte entry (SDM Tables 4-8 to 4-20): each level
// indexes its table with 9 bits of the linear address from `shifts[i]` (PAE's PDPT has only
// 4 entries, which a 32-bit address indexes with 2). PS maps a 2 MiB page at the directory
// level and, in long mode, a 1 GiB page one level up; it is reserved elsewhere.
std::optional<Gpa> walk_8byte(const GuestMemory& mem, uint64_t table, uint64_t linear, std::span<const unsigned> shifts,
                              bool gib_pages) {
    for (const unsigned shift : shifts) {
        const auto entry = read_entry(mem, table + ((linear >> shift) & 511) * 8, 8);
        if (!entry || (*entry & kPresent) == 0) return std::nullopt;
        const bool can_map = shift == 12 || shift == 21 || (shift == 30 && gib_pages);
        if (can_map && (shift == 12 || (*entry & kLarge) != 0))
            return Gpa((*entry & kAddrMask & ~low_bits(~uint64_t{0}, shift)) | low_bits(linear, shift));
        table = *entry & kAddrMask;
    }
    return std::nullopt;  // not reached: the last level always maps
}

// 32-bit paging (SDM §4.3): 4-byte entries, a directory indexed by bits 31:22 and tables by
// bits 21:12; with CR4.PSE a directory entry with PS maps 4 MiB, its bits 20:13 being bits
// 39:32 of the physical address (PSE-36).
std::optional<Gpa> walk_32bit(const GuestMemory& mem, const PagingRegs& regs, uint64_t linear) {
    const auto pde = read_entry(mem, (regs.cr3 & 0xffff'f000) + ((linear >> 22) & 1023) * 4, 4);
    if (!pde || (*pde & kPresent) == 0) return std::nullopt;
    if ((*pde & kLarge) != 0 && (regs.cr4 & kCr4Pse) != 0)
        return Gpa((*pde & 0xffc0'0000) | (((*pde >> 13) & 0xff) << 32) | low_bits(linear, 22));
    const auto pte = read_entry(mem, (*pde & 0xffff'f000) + ((linear >> 12) & 1023) * 4, 4);
    if (!pte || (*pte & kPresent) == 0) return std::nullopt;
    return Gpa((*pte & 0xffff'f000) | low_bits(linear, 12));
}

// SDM §4.5: bits 63:48 (63:57 with 5-level paging) must copy the highest translated bit.
bool canonical(uint64_t linear, unsigned bits) {
    const unsigned unused = 64 - bits;
    return static_cast<uint64_t>(static_cast<int64_t>(linear << unused) >> unused) == linear;
}

}  // namespace

std::optional<Gpa> translate_linear(const GuestMemory& mem, const PagingRegs& regs, Gva linear) {
    const uint64_t la = linear.value;
    if ((regs.cr0 & kCr0Pg) == 0) return Gpa(la);
    if ((regs.efer & kEferLma) != 0) {
        static constexpr unsigned kFourLevel[] = {39, 30, 21, 12};
        static constexpr unsigned kFiveLevel[] = {48, 39, 30, 21, 12};
        const bool la57 = (regs.cr4 & kCr4La57) != 0;
        if (!canonical(la, la57 ? 57 : 48)) return std::nullopt;
        return la57 ? walk_8byte(mem, regs.cr3 & kAddrMask, la, kFiveLevel, true)
                    : walk_8byte(mem, regs.cr3 & kAddrMask, la, kFourLevel, true);
    }
    if ((regs.cr4 & kCr4Pae) != 0) {
        static constexpr unsigned kPae[] = {30, 21, 12};
        return walk_8byte(mem, regs.cr3 & 0xffff'ffe0, la & 0xffff'ffff, kPae, false);
    }
    return walk_32bit(mem, regs, la & 0xffff'ffff);
}

}  // namespace trapeze::x86
