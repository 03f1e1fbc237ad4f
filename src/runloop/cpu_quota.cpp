#include "runloop/cpu_quota.hpp"

#include <time.h>

#include <algorithm>

namespace trapeze::runloop {
namespace {

uint64_t read_clock(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// Periods a debt may span before it is forgiven: keeps `periods * budget` far from overflow
// after a long idle time (the debt is paid long before).
constexpr uint64_t kMaxPeriodsPaid = uint64_t{1} << 20;

}  // namespace

CpuQuota::CpuQuota(unsigned percent, uint64_t period_ns, Clocks clocks)
    : m_period_ns(period_ns), m_budget_ns(period_ns / 100 * percent), m_clocks(std::move(clocks)) {
    if (!m_clocks.cpu_ns) m_clocks.cpu_ns = [] { return read_clock(CLOCK_PROCESS_CPUTIME_ID); };
    if (!m_clocks.now_ns) m_clocks.now_ns = [] { return read_clock(CLOCK_MONOTONIC); };
    restart();
}

void CpuQuota::restart() {
    if (!enabled()) return;
    m_start_ns = m_clocks.now_ns();
    m_cpu_start = m_clocks.cpu_ns();
    m_cpu_seen.store(m_cpu_start, std::memory_order_relaxed);
    m_base.store(0, std::memory_order_relaxed);
    m_period.store(0, std::memory_order_release);
    m_throttled_in.store(UINT64_MAX, std::memory_order_relaxed);
}

uint64_t CpuQuota::charge() {
    if (!enabled()) return 0;
    // CPU time counted before this reading: at the first charge of a period, what this reading
    // adds may belong to either period, and counting it in the new one never lets the
    // process exceed its share.
    const uint64_t before = m_cpu_seen.load(std::memory_order_relaxed) - m_cpu_start;
    const uint64_t used = note_cpu(m_clocks.cpu_ns());
    const uint64_t now = m_clocks.now_ns() - m_start_ns;
    const uint64_t period = now / m_period_ns;
    if (period > m_period.load(std::memory_order_acquire)) roll_over(period, before);
    if (used < m_base.load(std::memory_order_relaxed) + m_budget_ns) return 0;
    if (m_throttled_in.exchange(period, std::memory_order_relaxed) != period)
        m_throttled_periods.fetch_add(1, std::memory_order_relaxed);
    return (period + 1) * m_period_ns - now;  // > 0: now is inside `period`
}

// CPU time since restart(), by the largest reading any thread has made.
uint64_t CpuQuota::note_cpu(uint64_t cpu) {
    uint64_t seen = m_cpu_seen.load(std::memory_order_relaxed);
    while (cpu > seen && !m_cpu_seen.compare_exchange_weak(seen, cpu, std::memory_order_relaxed)) {
    }
    return std::max(seen, cpu) - m_cpu_start;
}

// The first charge of a new period moves the base: to the CPU time used until the period
// began (`used`) if the periods since the last base had budget left (it expires), else by
// their budgets (the overrun stays a debt).
void CpuQuota::roll_over(uint64_t period, uint64_t used) {
    std::lock_guard lock(m_roll);
    const uint64_t current = m_period.load(std::memory_order_relaxed);
    if (period <= current) return;  // another thread was first
    const uint64_t paid = std::min(period - current, kMaxPeriodsPaid) * m_budget_ns;
    m_base.store(std::min(used, m_base.load(std::memory_order_relaxed) + paid), std::memory_order_relaxed);
    m_period.store(period, std::memory_order_release);
}

}  // namespace trapeze::runloop
