#include "rv64/interp/code_cache.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <memory>
#include <new>
#include <type_traits>

#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/decoder.hpp"
#include "rv64/isa/lr_sequence.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::interp {

// The block index grows with the blocks decoded (a Debian boot keeps some 6*10^4): reserving
// for a boot up front cost every VM 4.4 MiB before its first block, and a doubling of the flat
// index moves only its 16-byte slots.
CodeCache::CodeCache(GuestMemory& mem, size_t max_dead_bytes, size_t max_arena_bytes)
    : m_mem(mem),
      m_pages(mem.size() / GuestMemory::kPageSize),
      m_code_pages(std::make_unique<std::atomic<uint8_t>[]>(m_pages)),
      m_max_dead_bytes(max_dead_bytes),
      m_max_arena_bytes(max_arena_bytes) {
    m_decoded.reserve(kMaxBlockInsns);
}

namespace {

constexpr size_t align_up(size_t v, size_t a) {
    return (v + a - 1) & ~(a - 1);
}

// A block's arena footprint: the Block, then its instructions.
constexpr size_t block_bytes(size_t insns) {
    return align_up(sizeof(Block), alignof(DecodedInsn)) + align_up(insns * sizeof(DecodedInsn), alignof(Block));
}

}  // namespace

// Blocks are never destroyed one by one (the arena's chunks go whole), so they must not own
// anything.
static_assert(std::is_trivially_destructible_v<Block>);

Block* CodeCache::allocate(uint64_t pa, std::span<const DecodedInsn> insns) {
    const size_t bytes = block_bytes(insns.size());
    static_assert(block_bytes(kMaxBlockInsns) <= kChunkBytes);
    if (m_chunk_used + bytes > kChunkBytes) {
        m_chunks.push_back(next_chunk());
        m_chunk_count.store(m_chunks.size(), std::memory_order_relaxed);
        m_chunk_used = 0;
    }
    auto* at = reinterpret_cast<std::byte*>(m_chunks.back().data()) + m_chunk_used;
    m_chunk_used += bytes;
    auto* code = reinterpret_cast<DecodedInsn*>(at + align_up(sizeof(Block), alignof(DecodedInsn)));
    std::uninitialized_copy(insns.begin(), insns.end(), code);
    Block* b = new (at) Block;
    b->pa = pa;
    b->insns = std::span(code, insns.size());
    return b;
}

// Under m_mu: the chunk prepare_chunk left, or a new one. Out of host memory is a host failure
// the cache cannot report (callers need a block): the same std::bad_alloc that operator new
// would throw.
HugeRegion CodeCache::next_chunk() {
    if (m_spare_ready.load(std::memory_order_acquire)) {
        std::lock_guard lock(m_spare_mu);
        m_spare_ready.store(false, std::memory_order_relaxed);
        return std::move(m_spare);
    }
    auto chunk = HugeRegion::map(kChunkBytes);
    if (!chunk) throw std::bad_alloc();
    return std::move(*chunk);
}

void CodeCache::prepare_chunk() {
    if (m_spare_ready.load(std::memory_order_acquire)) return;
    auto chunk = HugeRegion::map(kChunkBytes);
    if (!chunk) return;
    (void)::madvise(chunk->data(), kChunkBytes, MADV_POPULATE_WRITE);  // a hint: else it faults on use
    std::lock_guard lock(m_spare_mu);
    m_spare = std::move(*chunk);
    m_spare_ready.store(true, std::memory_order_release);
}

Block* CodeCache::build(uint64_t pa, Hart& h) {
    std::vector<DecodedInsn>& insns = m_decoded;
    insns.clear();
    const uint64_t page_end = (pa & ~0xfffull) + GuestMemory::kPageSize;
    uint64_t at = pa;
    while (insns.size() < kMaxBlockInsns && at + 2 <= page_end) {
        const uint16_t lo = load_le<uint16_t>(m_mem.span(Gpa(at), 2).data());
        uint32_t raw = lo;
        if ((lo & 3) == 3 && at + 4 > page_end) {
            // Crosses the page end: a block of its own (see Op::crossing), so that its
            // instruction counts are exact whatever the upper half turns out to be.
            if (!insns.empty()) break;
            DecodedInsn d;
            d.op = static_cast<uint16_t>(Op::crossing);
            d.raw = lo;
            d.len = 4;
            d.fn = exec_for(d);
            insns.push_back(d);
            break;
        }
        if ((lo & 3) == 3) raw = load_le<uint32_t>(m_mem.span(Gpa(at), 4).data());
        DecodedInsn d = decode(raw);
        if (!insns.empty() && (starts_block(d) || (m_debug != nullptr && m_debug->offset_has_breakpoint(at)))) break;
        if (const auto op = static_cast<Op>(d.op); op == Op::lr_w || op == Op::lr_d)
            d.imm = classify_lr_in_page(at, d.len);
        d.fn = exec_for(d);
        insns.push_back(d);
        at += d.len;
        if (ends_block(d)) break;
    }
    assert(!insns.empty());  // pa is 2-aligned, so one halfword always fits
    for (size_t i = 0; i < insns.size(); ++i) insns[i].tfn = threaded_for(insns[i], i + 1 == insns.size());
    mark_code_page(pa, h);
    m_built.fetch_add(1, std::memory_order_relaxed);
    Block* block = allocate(pa, insns);
    block->debug_check = m_debug != nullptr && m_debug->offset_has_breakpoint(pa);
    m_page_blocks[pa >> 12].push_back(pa);
    m_blocks.emplace(pa, block);
    return block;
}

// The sequence of the LR at pa, classified from what follows it in its own page (its SC is
// usually in the next block, after a branch). The verdict lives in the LR's block, so exactly
// as long as the bytes it was read from: a store to the page drops the block. The next page
// may be mapped anywhere, or nowhere, whenever the LR runs: a scan that reaches the page end
// leaves the LR undecided (it classifies itself through the fetch translation as it runs).
int32_t CodeCache::classify_lr_in_page(uint64_t pa, unsigned len) const {
    const uint64_t from = pa + len;
    const uint64_t page_end = (pa & ~0xfffull) + GuestMemory::kPageSize;
    std::array<uint16_t, kLrScScanBytes / 2> parcels{};
    const size_t n = std::min<size_t>(parcels.size(), (page_end - from) / 2);
    for (size_t i = 0; i < n; ++i) parcels[i] = load_le<uint16_t>(m_mem.span(Gpa(from + 2 * i), 2).data());
    return classify_lr(len, std::span(parcels).first(n), kLrUndecided);
}

// Harts may hold write entries for this page; from now on stores must take the slow path.
// The mark goes up before the harts' write bits are read (seq_cst, as Hart::fill_tlb sets its
// bit before it reads the mark), so a hart filling a write entry meanwhile either sees the
// mark or is seen.
void CodeCache::mark_code_page(uint64_t pa, Hart& h) {
    const uint64_t i = (pa - m_mem.base().value) >> 12;
    if (m_code_pages[i].load(std::memory_order_relaxed) != 0) return;
    m_code_pages[i].store(1);
    const uint64_t page = pa & ~0xfffull;
    if (m_listener == nullptr) {
        for (Hart* other : m_harts) other->drop_write_entries(page);  // all on this thread
        return;
    }
    h.drop_write_entries(page);
    m_listener->page_marked(page, h);
}

void CodeCache::drop(Block& b) {
    b.dropped = true;
    if (m_on_drop) m_on_drop(b);
    m_dead_bytes.store(m_dead_bytes.load(std::memory_order_relaxed) + block_bytes(b.insns.size()),
                       std::memory_order_relaxed);
}

void CodeCache::invalidate_page_locked(uint64_t pa) {
    const uint64_t i = (pa - m_mem.base().value) >> 12;
    if (i >= m_pages || m_code_pages[i].load(std::memory_order_relaxed) == 0) return;
    m_code_pages[i].store(0, std::memory_order_relaxed);
    auto it = m_page_blocks.find(pa >> 12);
    if (it != m_page_blocks.end()) {
        for (uint64_t b : it->second) {
            auto bit = m_blocks.find(b);
            if (bit == m_blocks.end()) continue;
            drop(*bit->second);
            m_blocks.erase(bit);
        }
        m_page_blocks.erase(it);
    }
    m_gen.fetch_add(1, std::memory_order_release);  // every link into the dropped blocks is now stale
}

// A page holding a block with an instruction at a changed offset is dropped whole (the JIT's
// translations span the blocks of a page); its blocks are decoded again, split as the
// breakpoints now ask. Pages of other offsets keep their blocks and translations.
// The generation is published last: another hart's sync_breakpoints() that sees it (without
// the lock) must find the pages already dropped, else it would run a block decoded for the old
// breakpoints (one that starts at a new breakpoint without its check) before they are.
void CodeCache::resplit_for_breakpoints() {
    const uint64_t gen = m_debug->breakpoint_generation();
    const std::bitset<2048> changed = m_split_offsets ^ m_debug->breakpoint_offsets();
    m_split_offsets = m_debug->breakpoint_offsets();
    if (changed.none()) {
        m_debug_gen.store(gen, std::memory_order_release);
        return;
    }
    std::vector<uint64_t> pages;
    for (const auto& [pa, b] : m_blocks) {
        uint64_t at = pa;
        for (const DecodedInsn& d : b->insns) {
            if (changed[(at & 0xfff) >> 1]) {
                pages.push_back(pa);
                break;
            }
            at += d.len;
        }
    }
    for (uint64_t pa : pages) invalidate_page_locked(pa);
    m_debug_gen.store(gen, std::memory_order_release);
}

void CodeCache::invalidate_range(uint64_t pa, uint64_t len) {
    const uint64_t end = len > ~0ull - pa ? ~0ull : pa + len;
    for (uint64_t page = pa & ~0xfffull; page < end; page += GuestMemory::kPageSize) {
        if (is_code_page(page)) invalidate_code_page(page);
    }
}

void CodeCache::flush() {
    for (auto& [pa, b] : m_blocks) drop(*b);
    m_blocks.clear();
    for (auto& c : m_chunks) m_retired.push_back(std::move(c));
    m_chunks.clear();
    m_chunk_count.store(0, std::memory_order_relaxed);
    m_chunk_used = kChunkBytes;
    m_dead_bytes.store(0, std::memory_order_relaxed);
    m_page_blocks.clear();
    for (size_t i = 0; i < m_pages; ++i) m_code_pages[i].store(0, std::memory_order_relaxed);
    m_gen.fetch_add(1, std::memory_order_release);
}

// A link to a successor in the same virtual page as its predecessor stays valid across TLB
// flushes: both blocks were reached through the one translation of that page (link_page), so
// only code invalidation retires it. A link across pages also depends on the target page's
// translation: the context generation and the mode (priv and V; switching V changes no
// generation) must be those it was made in.
//
// Any hart may link a block while others follow its links: a sequence lock keeps a reader
// from taking a target from one link with the pc of another. A writer makes the count odd
// (a compare-and-swap, so writers exclude each other), writes, and makes it even again; a
// reader that saw an odd count, or a different count after reading, finds no link and looks
// the block up instead. The fields are accessed as relaxed atomics: the count's acquire and
// release order them.
namespace {

Block::Link read_link(const Block::Link& l) {
    return Block::Link{relaxed_load(l.pc), relaxed_load(l.code_gen), relaxed_load(l.context_gen),
                       relaxed_load(l.mode), relaxed_load(l.target)};
}

void write_link(Block::Link& l, const Block::Link& v) {
    relaxed_store(l.pc, v.pc);
    relaxed_store(l.code_gen, v.code_gen);
    relaxed_store(l.context_gen, v.context_gen);
    relaxed_store(l.mode, v.mode);
    relaxed_store(l.target, v.target);
}

}  // namespace

void CodeCache::link(Block& prev, const Hart& h, bool same_page, Block* target) {
    uint32_t seq = prev.link_seq.load(std::memory_order_relaxed);
    if ((seq & 1) != 0 || !prev.link_seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
        return;  // another hart is linking it: this link can wait for the next run
    std::atomic_thread_fence(std::memory_order_release);
    write_link(prev.links[1], read_link(prev.links[0]));  // keep the two most recent successors
    write_link(prev.links[0],
               Block::Link{h.s.pc, generation(), h.context_gen(), link_mode(h, same_page), target});
    prev.link_seq.store(seq + 2, std::memory_order_release);
}

}  // namespace trapeze::rv64::interp
