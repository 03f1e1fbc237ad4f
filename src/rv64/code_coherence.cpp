#include "rv64/code_coherence.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <utility>

namespace trapeze::rv64 {

class CodeCoherence::Member final : public CodeWatch, public interp::CodePageListener {
public:
    Member(CodeCoherence& c, unsigned index, Hart& h, interp::CodeCache& cache)
        : m_c(c), m_index(index), m_bit(uint64_t{1} << index), m_hart(h), m_cache(cache) {}

    // --- CodeWatch: hart i's stores and FENCE.I ------------------------------------------
    bool is_code_page(uint64_t pa) const override { return m_c.is_code_page(pa); }

    // A store of this hart's is about to change the page.
    void invalidate_code_page(uint64_t pa) override {
        const uint64_t page = pa & ~(GuestMemory::kPageSize - 1);
        std::atomic<uint64_t>* mask = m_c.mask(page);
        if (mask == nullptr) return;
        const uint64_t holders = mask->load();
        if ((holders & m_bit) != 0) m_cache.invalidate_code_page(page);  // page_unmarked clears the bit
        for (uint64_t others = holders & ~m_bit; others != 0; others &= others - 1)
            m_c.post_invalidate(static_cast<unsigned>(std::countr_zero(others)), page);
    }

    void fence_i() override {
        m_c.service(m_index);
        for (uint64_t page : m_unconfirmed) m_cache.invalidate_code_page(page);
        m_unconfirmed.clear();
    }

    // --- CodePageListener: hart i's cache ------------------------------------------------
    void page_marked(uint64_t page) override {
        m_c.mask(page)->fetch_or(m_bit);  // seq_cst: before the other harts' write bits are read
        bool writers = false;
        for (const auto& other : m_c.m_members) {
            if (other == nullptr || other.get() == this || !other->m_hart.has_write_entries(page)) continue;
            m_c.post_drop_writes(other->m_index, page);
            writers = true;
        }
        if (writers) m_unconfirmed.insert(page);
    }

    void page_unmarked(uint64_t page) override { m_c.mask(page)->fetch_and(~m_bit); }

    // --- posts from other threads --------------------------------------------------------
    void post(uint64_t page, bool drop_writes) {
        std::lock_guard lock(m_post_lock);
        (drop_writes ? m_drop_writes : m_invalidate).insert(page);
        m_has_posts.store(true, std::memory_order_release);
    }

    bool has_posts() const { return m_has_posts.load(std::memory_order_acquire); }

    void service() {
        absl::flat_hash_set<uint64_t> invalidate, drop_writes;
        {
            std::lock_guard lock(m_post_lock);
            m_has_posts.store(false, std::memory_order_relaxed);
            invalidate.swap(m_invalidate);
            drop_writes.swap(m_drop_writes);
        }
        for (uint64_t page : invalidate) m_cache.invalidate_code_page(page);
        for (uint64_t page : drop_writes) m_hart.drop_write_entries(page);
    }

private:
    CodeCoherence& m_c;
    const unsigned m_index;
    const uint64_t m_bit;
    Hart& m_hart;
    interp::CodeCache& m_cache;
    // Pages whose first block was decoded while another hart could store to them unseen.
    absl::flat_hash_set<uint64_t> m_unconfirmed;  // hart i's thread only
    std::mutex m_post_lock;
    absl::flat_hash_set<uint64_t> m_invalidate;   // pages, under m_post_lock: at most one entry each
    absl::flat_hash_set<uint64_t> m_drop_writes;  // pages, under m_post_lock
    std::atomic<bool> m_has_posts{false};
};

CodeCoherence::CodeCoherence(const GuestMemory& mem, unsigned harts)
    : m_mem(mem),
      m_masks(std::make_unique<std::atomic<uint64_t>[]>(mem.size() / GuestMemory::kPageSize)),
      m_pages(mem.size() / GuestMemory::kPageSize),
      m_members(harts) {
    assert(harts <= kMaxHarts);
}

CodeCoherence::~CodeCoherence() = default;

void CodeCoherence::join(unsigned i, Hart& h, interp::CodeCache& cache) {
    assert(i < m_members.size() && m_members[i] == nullptr);
    m_members[i] = std::make_unique<Member>(*this, i, h, cache);
    h.set_code_watch(m_members[i].get());
    cache.set_page_listener(m_members[i].get());
}

std::atomic<uint64_t>* CodeCoherence::mask(uint64_t pa) {
    const uint64_t i = (pa - m_mem.base().value) / GuestMemory::kPageSize;
    return pa >= m_mem.base().value && i < m_pages ? &m_masks[i] : nullptr;
}

const std::atomic<uint64_t>* CodeCoherence::mask(uint64_t pa) const {
    return const_cast<CodeCoherence*>(this)->mask(pa);
}

bool CodeCoherence::is_code_page(uint64_t pa) const {
    const std::atomic<uint64_t>* m = mask(pa);
    return m != nullptr && m->load() != 0;  // seq_cst: see Hart::fill_tlb
}

void CodeCoherence::post_invalidate(unsigned i, uint64_t page) {
    if ((mask(page)->fetch_and(~(uint64_t{1} << i)) & (uint64_t{1} << i)) == 0) return;  // someone else posted it
    m_members[i]->post(page, false);
}

void CodeCoherence::post_drop_writes(unsigned i, uint64_t page) { m_members[i]->post(page, true); }

void CodeCoherence::invalidate_range(uint64_t pa, uint64_t len) {
    const uint64_t ram_end = m_mem.base().value + m_mem.size();
    const uint64_t end = len > ram_end - std::min(pa, ram_end) ? ram_end : pa + len;
    for (uint64_t page = pa & ~(GuestMemory::kPageSize - 1); page < end; page += GuestMemory::kPageSize) {
        std::atomic<uint64_t>* m = mask(page);
        if (m == nullptr) continue;
        for (uint64_t holders = m->load(); holders != 0; holders &= holders - 1)
            post_invalidate(static_cast<unsigned>(std::countr_zero(holders)), page);
    }
}

bool CodeCoherence::has_posts(unsigned i) const { return m_members[i]->has_posts(); }

void CodeCoherence::service(unsigned i) {
    if (m_members[i]->has_posts()) m_members[i]->service();
}

}  // namespace trapeze::rv64
