// CpuQuota: the share of the host's CPUs a VM may use (`--cpu-quota PERCENT`, issue 22),
// enforced by the VMM itself the way Linux's CFS bandwidth control enforces a cgroup's
// cpu.max: in every period (100 ms, CFS's default) the VM may use PERCENT % of the period in
// CPU time (150 = one and a half CPUs); the threads that run guest code check the budget
// between slices and sleep to the end of the period once it is spent. It needs no privilege
// and no cgroup (`--cgroup`, runloop/cgroup.hpp, is the kernel-enforced alternative).
//
// What is counted: the whole process's CPU time (CLOCK_PROCESS_CPUTIME_ID), one VM per
// process: hart and vCPU threads (a KVM vCPU thread's time in the guest included), and the
// threads that do not run guest code: the I/O thread, the JIT's translator threads, virtio
// notify and console threads. Only the threads that run guest code are throttled; the others
// are charged against the same budget, so when they burn CPU the guest gets less and the
// process as a whole stays within its share.
//
// Overrun: a thread sees the budget spent only at its next check (a slice, ~100 µs; on KVM an
// exit or a CPU-time kick, every 5 ms of a vCPU's CPU time), and others may be mid-slice then.
// What a period overran is a debt the next periods pay first, as in CFS; budget left unused
// expires with its period. So over any span the process uses at most its share plus one
// period's overrun, and a guest that was idle cannot save up for a burst.
//
// Thread: charge() on any thread, concurrently: lock-free (a fetch-max on the CPU time seen)
// except at the first charge of a period, which takes a mutex. restart() before the threads
// that charge start.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace trapeze::runloop {

class CpuQuota {
public:
    static constexpr uint64_t kDefaultPeriodNs = 100'000'000;

    // Where time comes from; tests supply their own. Empty members take the defaults.
    struct Clocks {
        std::function<uint64_t()> cpu_ns;  // CPU time used (default: CLOCK_PROCESS_CPUTIME_ID)
        std::function<uint64_t()> now_ns;  // elapsed time (default: CLOCK_MONOTONIC)
    };

    // `percent` 0: no limit (charge() returns 0 at once and reads no clock).
    explicit CpuQuota(unsigned percent, uint64_t period_ns = kDefaultPeriodNs, Clocks clocks = {});
    CpuQuota(const CpuQuota&) = delete;
    CpuQuota& operator=(const CpuQuota&) = delete;

    bool enabled() const { return m_budget_ns != 0; }
    uint64_t budget_ns() const { return m_budget_ns; }
    uint64_t period_ns() const { return m_period_ns; }

    // Counts the CPU time used since the last charge (by any thread). Returns 0 while the
    // period has budget left; once it is spent, the nanoseconds to the start of the next
    // period, which the caller sleeps (or less, if woken) before it charges again.
    uint64_t charge();

    // Starts accounting afresh: period 0 begins now and CPU time used so far is not counted.
    void restart();

    // Periods in which charge() found the budget spent at least once (CFS's nr_throttled).
    uint64_t throttled_periods() const { return m_throttled_periods.load(std::memory_order_relaxed); }

private:
    uint64_t note_cpu(uint64_t cpu);
    void roll_over(uint64_t period, uint64_t used);

    const uint64_t m_period_ns;
    const uint64_t m_budget_ns;
    Clocks m_clocks;
    uint64_t m_start_ns = 0;   // now_ns() at restart(); written before the charging threads start
    uint64_t m_cpu_start = 0;  // cpu_ns() at restart(); likewise
    // The largest cpu_ns() any charge has read: readings on several threads race, and each
    // nanosecond is counted once. Ordering: relaxed, only its own value matters.
    std::atomic<uint64_t> m_cpu_seen{0};
    // The current period, and the CPU time (since restart) at which its budget starts: the
    // period allows CPU time up to m_base + budget. Written under m_roll, m_base first;
    // Ordering: m_period is stored with release and loaded with acquire, so a thread that
    // sees a period also sees its base (or a later, larger one).
    std::atomic<uint64_t> m_period{0};
    std::atomic<uint64_t> m_base{0};
    std::atomic<uint64_t> m_throttled_in{UINT64_MAX};  // the last period counted as throttled
    std::atomic<uint64_t> m_throttled_periods{0};
    std::mutex m_roll;
};

}  // namespace trapeze::runloop
