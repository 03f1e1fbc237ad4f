#include "memory/ram_prefaulter.hpp"

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.hpp"
#include "base/started_thread.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze {

namespace {

// A quarter of RAM's chunks, at least 1, at most 32 (64 MiB).
uint64_t budget_for(uint64_t chunks) {
    return std::clamp<uint64_t>(chunks / 4, 1, 32);
}

}  // namespace

RamPrefaulter::RamPrefaulter(uint8_t* ram, uint64_t size)
    : m_ram(ram),
      m_size(size),
      m_chunks((size + kChunk - 1) / kChunk),
      m_budget(budget_for(m_chunks)),
      m_used(new std::atomic<uint64_t>[words()]()),
      m_populated(new std::atomic<uint64_t>[words()]()) {}

// As the JIT's translator thread starts (rv64/jit/Translator): below the harts (nice
// kTranslatorNice), confined before it takes any work, and not used unless it could be.
std::unique_ptr<RamPrefaulter> RamPrefaulter::start(uint8_t* ram, uint64_t size) {
    if (size == 0) return nullptr;
    std::unique_ptr<RamPrefaulter> p(new RamPrefaulter(ram, size));
    auto setup = [] {
        setpriority(PRIO_PROCESS, 0, sandbox::kTranslatorNice);  // 0: this thread
        return sandbox::confine_this_thread(sandbox::ThreadKind::Prefaulter);
    };
    auto thread = start_thread("trapeze-ram", setup, [self = p.get()] { self->loop(); });
    if (!thread) {
        spdlog::debug("guest RAM is not populated ahead of the guest: {}", thread.error().message);
        return nullptr;
    }
    p->m_thread = std::move(*thread);
    return p;
}

RamPrefaulter::~RamPrefaulter() {
    {
        std::lock_guard lock(m_mu);
        m_stop = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) m_thread.join();
}

// The first use of `chunk` (whichever hart marks it first): the thread is woken only if it
// sleeps, once per chunk of RAM at most.
void RamPrefaulter::first_use(uint64_t chunk) noexcept {
    if ((m_used[chunk / 64].fetch_or(bit(chunk), std::memory_order_relaxed) & bit(chunk)) != 0) return;
    m_latest.store(chunk, std::memory_order_relaxed);
    bool wake = false;
    {
        std::lock_guard lock(m_mu);
        m_pending = true;
        wake = m_sleeping;
    }
    if (wake) m_wake.notify_one();
}

void RamPrefaulter::loop() {
    std::unique_lock lock(m_mu);
    for (;;) {
        m_sleeping = true;
        m_idle.notify_all();
        m_wake.wait(lock, [this] { return m_stop || m_pending; });
        m_sleeping = false;
        if (m_stop) return;
        m_pending = false;
        lock.unlock();
        populate_after(m_latest.load(std::memory_order_relaxed));
        lock.lock();
    }
}

void RamPrefaulter::wait_idle() {
    std::unique_lock lock(m_mu);
    m_idle.wait(lock, [this] { return m_stop || (m_sleeping && !m_pending); });
}

// MADV_POPULATE_WRITE faults the chunk in as a write would, one huge page where the host can
// give one, and leaves a page that is already there as it is: the guest sees the zeroes it
// would have seen. A failure (a host out of memory, a kernel before 5.14) ends the thread's
// work: the guest takes its own faults from then on.
void RamPrefaulter::populate_after(uint64_t chunk) {
    const uint64_t last = std::min(m_chunks - 1, chunk + kAhead);
    for (uint64_t c = chunk + 1; c <= last; ++c) {
        if (used(c) || (m_populated[c / 64].load(std::memory_order_relaxed) & bit(c)) != 0) continue;
        if (outstanding() >= m_budget) return;
        const uint64_t len = std::min(kChunk, m_size - c * kChunk);
        if (::madvise(m_ram + c * kChunk, len, MADV_POPULATE_WRITE) != 0) {
            spdlog::debug("guest RAM is no longer populated ahead of the guest: madvise: {}", std::strerror(errno));
            std::lock_guard lock(m_mu);
            m_stop = true;
            m_idle.notify_all();
            return;
        }
        m_populated[c / 64].fetch_or(bit(c), std::memory_order_relaxed);
    }
}

// Chunks populated that the guest has not used yet.
uint64_t RamPrefaulter::outstanding() const {
    uint64_t n = 0;
    for (size_t w = 0; w < words(); ++w)
        n += static_cast<uint64_t>(std::popcount(m_populated[w].load(std::memory_order_relaxed) &
                                                 ~m_used[w].load(std::memory_order_relaxed)));
    return n;
}

RamPrefaulter::Stats RamPrefaulter::stats() const {
    Stats out;
    for (size_t w = 0; w < words(); ++w) {
        const uint64_t populated = m_populated[w].load(std::memory_order_relaxed);
        const uint64_t used = m_used[w].load(std::memory_order_relaxed);
        out.populated += static_cast<uint64_t>(std::popcount(populated));
        out.used += static_cast<uint64_t>(std::popcount(populated & used));
        out.guest += static_cast<uint64_t>(std::popcount(used));
    }
    return out;
}

}  // namespace trapeze
