#include "rv64/code_coherence.hpp"

#include <cassert>
#include <utility>

namespace trapeze::rv64 {

// Hart i's CodeWatch, and the pages posted to it.
class CodeCoherence::Member final : public CodeWatch {
public:
    Member(CodeCoherence& c, Hart& h) : m_c(c), m_hart(h) {}

    bool is_code_page(uint64_t pa) const override { return m_c.m_cache.is_code_page(pa); }
    void invalidate_code_page(uint64_t pa) override { m_c.m_cache.invalidate_code_page(pa); }
    void fence_i() override {
        service();
        m_c.fence_i();
    }

    Hart& hart() { return m_hart; }

    // Any thread (the decoding hart's, under the cache's mutex). False if it was posted already.
    bool post(uint64_t page) {
        std::lock_guard lock(m_post_lock);
        const bool added = m_drop_writes.insert(page).second;
        m_has_posts.store(true, std::memory_order_release);
        return added;
    }
    bool has_posts() const { return m_has_posts.load(std::memory_order_acquire); }

    // The hart's thread.
    void service() {
        if (!has_posts()) return;
        absl::flat_hash_set<uint64_t> pages;
        {
            std::lock_guard lock(m_post_lock);
            m_has_posts.store(false, std::memory_order_relaxed);
            pages.swap(m_drop_writes);
        }
        for (uint64_t page : pages) {
            m_hart.drop_write_entries(page);
            m_c.confirm(page);
        }
    }

private:
    CodeCoherence& m_c;
    Hart& m_hart;
    std::mutex m_post_lock;
    absl::flat_hash_set<uint64_t> m_drop_writes;  // pages, under m_post_lock
    std::atomic<bool> m_has_posts{false};
};

CodeCoherence::CodeCoherence(interp::CodeCache& cache, unsigned harts) : m_cache(cache), m_members(harts) {}

CodeCoherence::~CodeCoherence() = default;

void CodeCoherence::join(unsigned i, Hart& h) {
    assert(i < m_members.size() && m_members[i] == nullptr);
    m_members[i] = std::make_unique<Member>(*this, h);
    h.set_code_watch(m_members[i].get());
}

bool CodeCoherence::has_posts(unsigned i) const { return m_members[i]->has_posts(); }

void CodeCoherence::service(unsigned i) { m_members[i]->service(); }

size_t CodeCoherence::unconfirmed() const { return m_unconfirmed_count.load(std::memory_order_relaxed); }

// The decoding hart dropped its own write entries there already (CodeCache::mark_code_page).
// Counted before the post can be serviced (confirm() takes m_mu too).
void CodeCoherence::page_marked(uint64_t page, Hart& by) {
    std::lock_guard lock(m_mu);
    unsigned posted = 0;
    for (const auto& m : m_members) {
        if (m == nullptr || &m->hart() == &by || !m->hart().has_write_entries(page)) continue;
        if (m->post(page)) ++posted;
    }
    if (posted == 0) return;
    m_unconfirmed[page] += posted;
    m_unconfirmed_count.store(m_unconfirmed.size(), std::memory_order_relaxed);
}

// A hart posted the page has dropped its write entries: blocks decoded before that may predate
// a store it made through one, so they go; once every hart posted has done so, the page's
// stores all reach the cache again.
void CodeCoherence::confirm(uint64_t page) {
    m_cache.invalidate_code_page(page);
    std::lock_guard lock(m_mu);
    auto it = m_unconfirmed.find(page);
    if (it == m_unconfirmed.end()) return;
    if (--it->second == 0) m_unconfirmed.erase(it);
    m_unconfirmed_count.store(m_unconfirmed.size(), std::memory_order_relaxed);
}

// A page another hart is decoding right now may be one whose count is not up yet: the cache's
// mutex, held through a decode, orders this FENCE.I after it (or the decode after this, when it
// reads memory with everything this hart synchronised with).
void CodeCoherence::fence_i() {
    { std::lock_guard serialise(m_cache.mutex()); }
    if (m_unconfirmed_count.load(std::memory_order_relaxed) == 0) return;
    std::vector<uint64_t> pages;
    {
        std::lock_guard lock(m_mu);
        for (const auto& [page, n] : m_unconfirmed) pages.push_back(page);
    }
    for (uint64_t page : pages) m_cache.invalidate_code_page(page);
}

}  // namespace trapeze::rv64
