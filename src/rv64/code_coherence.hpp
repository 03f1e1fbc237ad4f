// CodeCoherence: keeps the one code cache that harts on threads of their own share coherent
// with their stores, where the cache cannot do it alone.
//
// A hart never caches write permission for a page the cache holds code of (Hart::fill_tlb asks
// is_code_page()), so every store to such a page takes the hart's slow path and drops the
// page's blocks — for every hart, the cache being shared — before the store lands. Another
// hart still running a dropped block (it was in it already) runs the old code until it leaves
// it, which the ISA allows: a hart sees another hart's code stores once it executes FENCE.I
// after synchronising with that hart (unpriv spec §6.1 "Zifencei").
//
// What needs help is the other order: when a hart decodes the first block of a page, other
// harts may hold write entries for it (Hart::has_write_entries), cached before the page was
// code, and a store through one reaches no one. Those harts are posted the page; each drops
// its entries there before its next slice (service()) and then drops the page's blocks once
// more, since they may have been decoded before a store it made through such an entry. Until
// every hart posted has done so the page is unconfirmed, and any hart's FENCE.I drops its
// blocks too, so a hart that synchronised with the storer and fenced decodes what memory now
// holds. The page's mark and a hart's write-page bit are each set before the other is read
// (seq_cst), so one of the two sides always sees the other.
//
// Thread: hart i's CodeWatch calls and service(i) on hart i's thread; page_marked() on the
// decoding hart's, under the code cache's mutex.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64 {

class CodeCoherence final : public interp::CodePageListener {
public:
    CodeCoherence(interp::CodeCache& cache, unsigned harts);
    CodeCoherence(const CodeCoherence&) = delete;
    CodeCoherence& operator=(const CodeCoherence&) = delete;
    ~CodeCoherence() override;

    // Hart i runs from the cache; becomes the hart's CodeWatch (after the engine's attach,
    // which made the cache itself the watch). The cache must have this as its page listener.
    void join(unsigned i, Hart& h);

    // Hart i's thread, between slices: drops the write entries other harts asked it to.
    bool has_posts(unsigned i) const;
    void service(unsigned i);
    // Pages whose blocks a FENCE.I still drops (for tests).
    size_t unconfirmed() const;

    // interp::CodePageListener: hart `by` decoded the page's first block.
    void page_marked(uint64_t page, Hart& by) override;

private:
    class Member;

    void confirm(uint64_t page);
    void fence_i();

    interp::CodeCache& m_cache;
    std::vector<std::unique_ptr<Member>> m_members;
    mutable std::mutex m_mu;
    absl::flat_hash_map<uint64_t, unsigned> m_unconfirmed;  // page -> harts yet to drop entries
    std::atomic<size_t> m_unconfirmed_count{0};            // m_unconfirmed.size(), for FENCE.I
};

}  // namespace trapeze::rv64
