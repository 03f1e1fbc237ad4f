// CodeCoherence: keeps the decoded code of harts that run on threads of their own (each with
// its own code cache and engine) coherent with the stores of every other hart and of devices.
//
// One bit per hart and RAM page says which harts' caches hold blocks decoded from the page.
// A hart never caches write permission for a page any hart holds code of (Hart::fill_tlb asks
// is_code_page()), so every store to such a page takes the hart's slow path and comes here
// first: the storing hart drops its own blocks there at once and posts the page to every
// other hart holding blocks of it, which drops them before its next slice and at its next
// FENCE.I. That is what the ISA asks for (unpriv spec §6.1 "Zifencei"): a hart sees another
// hart's code stores once it executes FENCE.I after synchronising with that hart; until then
// it may run the old code, as it does here until it takes its posts.
//
// The reverse direction: when a hart decodes the first block of a page, other harts may hold
// write entries for it (Hart::has_write_entries). They are posted the page too and drop those
// entries before their next slice; a store they make through such an entry meanwhile reaches
// no one, so the decoding hart counts the page as unconfirmed and drops its blocks there at its
// next FENCE.I, decoding them again from what memory then holds. The bit in the page's mask
// and the hart's own write-page bit are each set before the other is read (seq_cst), so one of
// the two sides always sees the other.
//
// Thread: member i's calls (its Hart's CodeWatch, its cache's listener, service(i)) on hart
// i's thread; invalidate_range() on any thread (device DMA).
#pragma once

#include <absl/container/flat_hash_set.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64 {

class CodeCoherence {
public:
    static constexpr unsigned kMaxHarts = 64;  // one bit each in a page's mask

    CodeCoherence(const GuestMemory& mem, unsigned harts);
    CodeCoherence(const CodeCoherence&) = delete;
    CodeCoherence& operator=(const CodeCoherence&) = delete;
    ~CodeCoherence();

    // Hart i runs from `cache` and from no other. Becomes the hart's CodeWatch and the cache's
    // page listener.
    void join(unsigned i, Hart& h, interp::CodeCache& cache);

    // Writes that bypass the harts (device DMA): every hart holding code there drops it
    // before its next slice. Any thread.
    void invalidate_range(uint64_t pa, uint64_t len);

    // Hart i's thread, between slices: applies what other harts posted to it.
    bool has_posts(unsigned i) const;
    void service(unsigned i);

    bool is_code_page(uint64_t pa) const;

private:
    class Member;
    friend class Member;

    std::atomic<uint64_t>* mask(uint64_t pa);
    const std::atomic<uint64_t>* mask(uint64_t pa) const;
    // Drops hart i's bit for the page and posts it to i if the bit was set.
    void post_invalidate(unsigned i, uint64_t page);
    void post_drop_writes(unsigned i, uint64_t page);

    const GuestMemory& m_mem;
    std::unique_ptr<std::atomic<uint64_t>[]> m_masks;  // one per RAM page
    size_t m_pages = 0;
    std::vector<std::unique_ptr<Member>> m_members;
};

}  // namespace trapeze::rv64
