// CodeCache: pre-decoded blocks (decode once, execute many), keyed by the guest-physical
// address of their first instruction. One per machine: every hart runs from it, whether the
// harts take turns on one thread or each runs on a thread of its own, so a block decoded (and
// translated, jit::Jit) for one hart serves them all.
//
// A block never crosses a 4 KiB page, so a store to a page drops exactly the blocks of
// that page. Pages holding blocks are marked; harts never cache write permission for
// them in their TLBs, so every store to code comes through invalidate_code_page().
// Blocks live in an arena of large chunks (a boot decodes some 10^5 of them: one allocation
// each, scattered over the heap, made building and freeing them a measurable share of a
// boot). A dropped block's bytes stay until the next flush, since a store may drop the very
// block that is executing — on this hart or another; the engines flush when wants_flush()
// says the dropped blocks have piled up, inside the ExclusiveSection, where no other thread
// holds a block. A flush's chunks are freed at the next reap(), also inside one.
//
// Thread: any. The lookup map, the arena and the page lists are guarded by mutex(): the
// members marked "locked" expect the caller to hold it (engines group several of them, and the
// JIT's drop observer runs under it); the others take it themselves. Links (follow_link,
// link) and the code-page marks are read without it.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "base/huge_region.hpp"
#include "base/page_allocator.hpp"
#include "base/relaxed.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/debug_points.hpp"
#include "rv64/decoded_insn.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/exclusive_section.hpp"

namespace trapeze::rv64::jit {
struct ExitSlot;
}

namespace trapeze::rv64::interp {

// What the engines compare to tell whether a block's successor is in the page the block was
// entered in (CodeCache::link's same_page): the pc's virtual page, and the translation that
// fetched it: none in M-mode, satp's below M, with V=1 the guest's two stages (priv spec
// §3.1.6.3, §8.5). A trap or an xRET between two blocks changes the translation but may keep
// the page number, and then the page is another one.
inline uint64_t link_page(const Hart& h) {
    const uint64_t translation = h.s.priv == Priv::M ? 1 : h.s.virt ? 2 : 0;
    return (h.s.pc >> 12) | translation << 62;  // pc >> 12 has at most 52 bits
}

// A link's mode in one word, so follow_link compares it with one load: the privilege, V (HS
// and VS are both S) and whether the successor is in the page its predecessor was entered in.
inline uint32_t link_mode(const Hart& h, bool same_page) {
    return static_cast<uint32_t>(h.s.priv) | static_cast<uint32_t>(h.s.virt) << 8 |
           static_cast<uint32_t>(same_page) << 16;
}

struct Block {
    // A successor the engines ran after this block, to find it again without a lookup. Any
    // hart may write one while others read: see CodeCache::link for how a reader knows it
    // read one link whole.
    struct Link {
        uint64_t pc = ~0ull;
        uint64_t code_gen = 0;     // code cache generation when linked
        uint64_t context_gen = 0;  // the linking hart's translation generation (cross-page links)
        uint32_t mode = ~0u;       // link_mode(): the mode the successor ran in, and same_page
        Block* target = nullptr;
    };
    uint64_t pa = 0;
    std::span<DecodedInsn> insns;     // in the arena, right after the Block
    Link links[2];                    // the two most recent static successors
    // Odd while a hart writes links; bumped by 2 per write (a sequence lock, see link()).
    std::atomic<uint32_t> link_seq{0};
    // jit::Jit's translation of this block, if any: published (release) once the code is in
    // the code buffer, so a hart that reads it (acquire) runs complete code.
    std::atomic<const void*> host_code{nullptr};
    std::atomic<uint32_t> runs{0};    // jit::Jit: times run interpreted before translation
    // jit::Jit: its translation is being made (written under mutex(); read without it as a hint).
    std::atomic<bool> queued{false};
    // It starts at the page offset of a debugger breakpoint (DebugPoints): the engines compare
    // the hart's pc with the breakpoints before running it, and the JIT does not translate it.
    bool debug_check = false;
    // jit::Jit: for an Op::crossing block, the whole instruction as its upper half read when
    // the block was translated (the translation checks that half before running it).
    std::optional<DecodedInsn> crossing;
    jit::ExitSlot* incoming = nullptr;  // jit::Jit's filled slots that jump to host_code (under mutex())
    // Taken out of the index (under mutex()): a dropped block stays readable until the next
    // flush but is never the cache's again, so this answers "is b still the block at b.pa?"
    // without a lookup (jit::Jit asks on every fill of an exit slot).
    bool dropped = false;

    const void* code() const { return host_code.load(std::memory_order_acquire); }
    // A relaxed count: harts racing on it may lose an increment, which only delays translation.
    void count_run() { runs.store(runs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    uint32_t run_count() const { return runs.load(std::memory_order_relaxed); }
};

// Told when a page gets the cache's first block, by the hart that decoded it (CodeCoherence:
// other harts may still hold write entries for the page, and must be told to drop them).
class CodePageListener {
public:
    virtual ~CodePageListener() = default;
    virtual void page_marked(uint64_t page, Hart& by) = 0;
};

class CodeCache final : public CodeWatch {
public:
    static constexpr unsigned kMaxBlockInsns = 128;
    static constexpr size_t kMaxDeadBytes = size_t{64} << 20;
    // Memory bound: the arena, live and dead blocks together, is flushed when it reaches this,
    // whatever the guest runs (a Debian boot uses ~30 MiB; a guest executing all of a large
    // RAM would otherwise decode ~10 host bytes per guest byte). With the chunks a flush
    // retires until the next reap(), the arena never holds more than twice this.
    static constexpr size_t kMaxArenaBytes = size_t{256} << 20;

    explicit CodeCache(GuestMemory& mem, size_t max_dead_bytes = kMaxDeadBytes,
                       size_t max_arena_bytes = kMaxArenaBytes);

    // Every hart that runs from the cache, before any runs. Without a page listener (harts
    // taking turns on one thread) a page that gets its first block makes every attached hart
    // drop its write entries there at once; with one, only the decoding hart does, and the
    // listener tells the others.
    void attach(Hart& h) { m_harts.push_back(&h); }
    void set_page_listener(CodePageListener* l) { m_listener = l; }
    // Told of every block as it is dropped (invalidated or flushed), before it is freed; runs
    // with mutex() held.
    void set_drop_observer(std::function<void(Block&)> f) { m_on_drop = std::move(f); }
    // The debugger's breakpoints: blocks end before their page offsets (see DebugPoints).
    void set_debug_points(const DebugPoints* points) { m_debug = points; }
    // Between slices: after the breakpoints changed, drops the pages whose blocks were split
    // for offsets no longer used or not split for new ones, so no block runs past a breakpoint.
    void sync_breakpoints() {
        if (m_debug != nullptr && m_debug->breakpoint_generation() != m_debug_gen.load(std::memory_order_acquire))
            [[unlikely]] {
            std::lock_guard lock(m_mu);
            resplit_for_breakpoints();
        }
    }
    // Whether h, about to run b, is at a breakpoint; if so the hart is stopped for it.
    bool stops_at_breakpoint(const Block& b, Hart& h) const {
        if (!b.debug_check || m_debug == nullptr || !m_debug->is_breakpoint(h.s.pc)) return false;
        h.stop_at_breakpoint();
        return true;
    }

    AdaptiveMutex& mutex() { return m_mu; }
    // Locked: the block at pa, if decoded.
    Block* find(uint64_t pa) {
        auto it = m_blocks.find(pa);
        return it == m_blocks.end() ? nullptr : it->second;
    }
    // Locked: decodes a block at pa (2-aligned, in RAM, fetch permission already checked for
    // the page) for hart h.
    Block* build(uint64_t pa, Hart& h);
    // The block at pa, decoded for h if it was not.
    Block* find_or_build(uint64_t pa, Hart& h) {
        std::lock_guard lock(m_mu);
        Block* b = find(pa);
        return b != nullptr ? b : build(pa, h);
    }

    // Any thread, no lock (seq_cst: the other side of Hart::fill_tlb's write bit).
    bool is_code_page(uint64_t pa) const override {
        const uint64_t i = (pa - m_mem.base().value) >> 12;
        return i < m_pages && m_code_pages[i].load() != 0;
    }
    // A store is about to change the page: its blocks go, for every hart.
    void invalidate_code_page(uint64_t pa) override {
        std::lock_guard lock(m_mu);
        invalidate_page_locked(pa);
    }
    // Drops the blocks of every page in [pa, pa+len): for writes that bypass the harts (DMA).
    void invalidate_range(uint64_t pa, uint64_t len);
    // Locked, and inside the ExclusiveSection.
    void flush();
    // The successor of prev that an engine ran last from h's pc (see Block::links), if still
    // valid; same_page: h's link_page is the one prev was entered in.
    // Runs for every block an engine leaves (the interpreter's dispatch is mostly this), so it
    // is inline and reads each link's words in place, the pc first, and copies none: the
    // sequence lock only has to vouch for the target it returns.
    Block* follow_link(const Block& prev, const Hart& h, bool same_page) const {
        const uint32_t seq = prev.link_seq.load(std::memory_order_acquire);
        if ((seq & 1) != 0) return nullptr;
        const uint64_t pc = h.s.pc;
        const uint32_t mode = link_mode(h, same_page);
        Block* target = nullptr;
        for (const Block::Link& l : prev.links) {
            if (relaxed_load(l.pc) != pc || relaxed_load(l.mode) != mode || relaxed_load(l.code_gen) != generation())
                continue;
            if (!same_page && relaxed_load(l.context_gen) != h.context_gen()) continue;
            target = relaxed_load(l.target);
            break;
        }
        if (target == nullptr) return nullptr;
        std::atomic_thread_fence(std::memory_order_acquire);
        return prev.link_seq.load(std::memory_order_relaxed) == seq ? target : nullptr;
    }
    void link(Block& prev, const Hart& h, bool same_page, Block* target);
    // Locked: the block at guest-physical pa if one of prev's links leads to it, else nullptr
    // (then find(pa) knows). A link of this generation leads to a block still in the index
    // (every drop starts a new generation), and a block's links are its recent successors, so
    // this saves the index's probes (host cache misses) for the successors the engines ran:
    // jit::Jit::region walks a new translation's successors, most of them not in a loop.
    const Block* linked_block_at(const Block& prev, uint64_t pa) const {
        const uint32_t seq = prev.link_seq.load(std::memory_order_acquire);
        if ((seq & 1) != 0) return nullptr;
        std::array<const Block*, 2> targets{};
        for (size_t i = 0; i < targets.size(); ++i)
            if (relaxed_load(prev.links[i].code_gen) == generation()) targets[i] = relaxed_load(prev.links[i].target);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (prev.link_seq.load(std::memory_order_relaxed) != seq) return nullptr;  // torn: may be of another generation
        for (const Block* t : targets)
            if (t != nullptr && t->pa == pa) return t;
        return nullptr;
    }
    // Dropped blocks hold max_dead_bytes of the arena, or the arena reached max_arena_bytes:
    // time for the engine to flush.
    bool wants_flush() const {
        const size_t chunks = m_chunk_count.load(std::memory_order_relaxed);
        return m_dead_bytes.load(std::memory_order_relaxed) >= m_max_dead_bytes ||
               chunks * kChunkBytes >= m_max_arena_bytes;
    }
    size_t arena_bytes() const { return m_chunk_count.load(std::memory_order_relaxed) * kChunkBytes; }
    // Inside the ExclusiveSection: frees what the last flush retired.
    void reap() { m_retired.clear(); }
    uint64_t generation() const { return m_gen.load(std::memory_order_acquire); }
    uint64_t built() const { return m_built.load(std::memory_order_relaxed); }
    ExclusiveSection& exclusive() { return m_exclusive; }
    // Maps the arena's next chunk and faults it in now, so that the hart that fills the
    // current one takes a ready chunk instead of faulting in a fresh huge page itself (the
    // kernel zeroes 2 MiB then: some milliseconds on a nested host, 2% of a Debian boot's hart
    // thread). For a thread with time to spare, one at a time (the JIT's translator thread,
    // between jobs); it takes no lock a hart waits for while the chunk is faulted in. At most
    // one chunk waits; without memory for it nothing happens (allocate maps its own).
    void prepare_chunk();
    bool chunk_prepared() const { return m_spare_ready.load(std::memory_order_acquire); }  // for tests

private:
    // One huge page each (HugeRegion): a boot decodes some 30 MiB of blocks, which in 4 KiB
    // pages took 7000 host page faults.
    static constexpr size_t kChunkBytes = HugeRegion::kHugePage;

    void invalidate_page_locked(uint64_t pa);
    void mark_code_page(uint64_t pa, Hart& h);
    int32_t classify_lr_in_page(uint64_t pa, unsigned len) const;
    void resplit_for_breakpoints();
    void drop(Block& b);
    Block* allocate(uint64_t pa, std::span<const DecodedInsn> insns);
    HugeRegion next_chunk();

    GuestMemory& m_mem;
    AdaptiveMutex m_mu;
    std::vector<Hart*> m_harts;
    // Open addressing (one probe is usually one cache line): the dispatchers look blocks up
    // here whenever their own direct-mapped caches miss.
    // Its slots in pages of their own (PageAllocator): a Debian boot's 6*10^4 blocks fill
    // 2 MiB of them.
    absl::flat_hash_map<uint64_t, Block*, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                        PageAllocator<std::pair<const uint64_t, Block*>>>
        m_blocks;
    absl::flat_hash_map<uint64_t, std::vector<uint64_t>> m_page_blocks;  // page -> block PAs
    size_t m_pages = 0;
    std::unique_ptr<std::atomic<uint8_t>[]> m_code_pages;  // written under m_mu
    std::vector<HugeRegion> m_chunks;   // the last one is being filled
    std::vector<HugeRegion> m_retired;  // a flush's, freed by reap()
    std::mutex m_spare_mu;              // hands m_spare from prepare_chunk to allocate
    HugeRegion m_spare;
    std::atomic<bool> m_spare_ready{false};
    std::atomic<size_t> m_chunk_count{0};  // m_chunks.size(), for wants_flush
    size_t m_chunk_used = kChunkBytes;  // bytes of m_chunks.back() in use
    std::atomic<size_t> m_dead_bytes{0};  // arena bytes of dropped blocks (written under m_mu)
    size_t m_max_dead_bytes = 0;
    size_t m_max_arena_bytes = 0;
    std::vector<DecodedInsn> m_decoded;  // build()'s scratch
    std::function<void(Block&)> m_on_drop;
    CodePageListener* m_listener = nullptr;
    const DebugPoints* m_debug = nullptr;
    std::bitset<2048> m_split_offsets;  // the breakpoint offsets the blocks were built for
    std::atomic<uint64_t> m_debug_gen{0};
    // Bumped (under m_mu) by every drop: a link or jump-cache entry made before is stale.
    std::atomic<uint64_t> m_gen{0};
    std::atomic<uint64_t> m_built{0};
    ExclusiveSection m_exclusive;
};

}  // namespace trapeze::rv64::interp
