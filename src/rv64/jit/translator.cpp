#include "rv64/jit/translator.hpp"

#include <memory>
#include <system_error>
#include <utility>

#include <time.h>
#include <sys/resource.h>

#include "base/started_thread.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::rv64::jit {

// The thread installs its seccomp filter before it takes any work, and the constructor waits
// for that (start_thread): a thread that cannot be confined is not used, and the throw makes
// the Jit translate on the hart thread instead, as when no thread can be had.
Translator::Translator(Emitter& emitter, Placer place, IdleTask idle, std::chrono::microseconds nap_for)
    : m_emitter(emitter), m_place(std::move(place)), m_idle_task(std::move(idle)), m_nap_for(nap_for) {
    auto setup = [] {
        // Below the hart threads (nice 10: a twentieth of their CPU share when they compete):
        // guest code runs interpreted meanwhile, while a hart that waits for its CPU stalls every
        // hart that waits for it (lock holders, IPI targets). Measured on 2 cores, Debian boot,
        // medians of 7: 2 harts 1.94 -> 1.70 s, 1 hart 1.54 -> 1.44 s; nice 19 starved it (1.85 s).
        setpriority(PRIO_PROCESS, 0, kNice);  // 0: this thread (Linux keeps a nice per thread)
        return sandbox::confine_this_thread(sandbox::ThreadKind::Translator);
    };
    auto thread = start_thread("trapeze-jit", setup, [this] { loop(); });
    if (!thread) throw std::system_error(std::make_error_code(std::errc::operation_not_permitted), thread.error().message);
    m_thread = std::move(*thread);
}

Translator::~Translator() {
    {
        std::lock_guard lock(m_mu);
        m_stop.store(true, std::memory_order_relaxed);
    }
    m_work.notify_one();
    m_thread.join();
}

// Wakes the thread only if it sleeps: a wakeup is a system call and a context switch, and a
// boot asks for a translation every few tens of microseconds. The wakeup comes after the
// unlock, so the thread does not wake only to wait for the mutex.
void Translator::submit(interp::Block* head, std::span<const interp::Block* const> blocks, uint64_t generation) {
    bool wake = false;
    const auto now = std::chrono::steady_clock::now();  // read before the mutex, held only for moves
    {
        std::lock_guard lock(m_mu);
        m_position.insert_or_assign(head, m_queue.size());  // (a head is queued once: Jit::translate)
        Job& job = m_queue.emplace_back();
        if (!m_spare.empty()) {
            job = std::move(m_spare.back());
            m_spare.pop_back();
        }
        job.head = head;
        job.blocks.assign(blocks.begin(), blocks.end());
        job.generation = generation;
        job.stats = {};
        job.submitted = now;
        m_queued.store(++m_live, std::memory_order_relaxed);
        wake = m_sleeping;
    }
    if (wake) {
        m_wakeups.fetch_add(1, std::memory_order_relaxed);
        m_work.notify_one();
    }
}

bool Translator::withdraw(const interp::Block* head) {
    std::lock_guard lock(m_mu);
    const auto it = m_position.find(head);
    if (it == m_position.end()) return false;
    Job& job = m_queue[it->second];
    m_position.erase(it);
    m_spare.push_back(std::move(job));
    job.head = nullptr;
    --m_live;
    forget_taken();
    return true;
}

void Translator::hold(bool held) {
    {
        std::lock_guard lock(m_mu);
        m_held = held;
    }
    m_work.notify_one();
}

void Translator::take_finished(std::vector<Job>& done) {
    std::lock_guard lock(m_mu);
    m_finished.store(false, std::memory_order_relaxed);
    std::swap(done, m_done);
}

void Translator::recycle(std::vector<Job>& done) {
    std::lock_guard lock(m_mu);
    for (Job& job : done) {
        if (m_spare.size() == kSpareJobs) break;
        if (job.code.capacity() > kSpareCodeBytes) job.code = {};
        m_spare.push_back(std::move(job));
    }
    done.clear();
}

Translator::Waits Translator::waits() const {
    return {m_started.load(std::memory_order_relaxed), m_waited_ns.load(std::memory_order_relaxed),
            m_long_waits.load(std::memory_order_relaxed)};
}

// The thread, outside the mutex, as it starts a job (it alone writes the counts).
void Translator::count_wait(const Job& job) {
    const auto waited = std::chrono::steady_clock::now() - job.submitted;
    const auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count());
    m_started.store(m_started.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    m_waited_ns.store(m_waited_ns.load(std::memory_order_relaxed) + ns, std::memory_order_relaxed);
    if (waited > kLongWait) m_long_waits.store(m_long_waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Under m_mu, with m_live > 0: the oldest queued job not withdrawn.
Translator::Job Translator::take_queued() {
    while (m_queue[m_head].head == nullptr) ++m_head;
    Job job = std::move(m_queue[m_head++]);
    m_position.erase(job.head);
    --m_live;
    forget_taken();
    return job;
}

// Under m_mu, after a job left the queue: once none is left, the places of those taken and
// withdrawn are given back.
void Translator::forget_taken() {
    m_queued.store(m_live, std::memory_order_relaxed);
    if (m_live == 0) {
        m_queue.clear();
        m_head = 0;
    }
}

// Under m_mu.
void Translator::drop_queued() {
    m_queue.clear();
    m_position.clear();
    m_head = 0;
    m_live = 0;
    m_queued.store(0, std::memory_order_relaxed);
}

void Translator::cancel_all() {
    std::unique_lock lock(m_mu);
    drop_queued();
    m_idle.wait(lock, [this] { return !m_busy; });
    m_done.clear();
    m_finished.store(false, std::memory_order_relaxed);
}

void Translator::wait_idle() {
    std::unique_lock lock(m_mu);
    m_idle.wait(lock, [this] { return m_live == 0 && !m_busy; });
}

// Before it sleeps the thread waits a while for the next job without needing a wakeup
// (requests come in bursts while a guest runs new code), so the hart thread rarely has to wake
// it: see wait_for_work.
void Translator::loop() {
    std::unique_lock lock(m_mu);
    for (;;) {
        if (m_live == 0 && !m_stop) {
            lock.unlock();
            if (m_idle_task) m_idle_task();
            wait_for_work();
            lock.lock();
        }
        m_sleeping = true;
        m_work.wait(lock, [this] { return m_stop || (m_live > 0 && !m_held); });
        m_sleeping = false;
        if (m_stop) return;
        Job job = take_queued();
        m_busy = true;
        lock.unlock();
        count_wait(job);
        const std::span<const uint8_t> code = m_emitter.emit_region(job.blocks, job.stats);
        job.size = code.size();
        job.hot_size = m_emitter.hot_size();
        const std::span<const uint32_t> cross = m_emitter.cross();
        job.placed = code.empty() ? CodeBuffer::Placed{} : m_place(code, job.hot_size, cross);
        if (job.placed.hot == nullptr) {
            job.code.assign(code.begin(), code.end());
            job.cross.assign(cross.begin(), cross.end());
        } else {
            job.code.clear();
            job.cross.clear();
        }
        const std::span<const Emitter::Patch> patches = m_emitter.patches();
        job.patches.assign(patches.begin(), patches.end());
        const std::span<const Emitter::Entry> entries = m_emitter.entries();
        job.entries.assign(entries.begin(), entries.end());
        lock.lock();
        m_busy = false;
        m_done.push_back(std::move(job));
        m_finished.store(true, std::memory_order_relaxed);
        m_idle.notify_all();
    }
}

// A wakeup costs the hart that submits the job a futex system call and an IPI to the
// thread's CPU: about 30 us of the hart's time on a paravirtualized host, where the IPI is a
// hypervisor exit. Between the jobs of a gcc compile (Debian's cc1 under the programs
// benchmark) half the gaps are under 200 us, which the spin covers; most of the rest are under
// 5 ms, which the naps cover at the cost of the thread's own CPU (a timer wakeup every ~100 us,
// on the CPU the thread sleeps on) and of up to a nap's delay before a job starts: the hart
// runs the block interpreted meanwhile, as it does while any job waits. Measured there (a boot
// and the compile): the gaps between jobs were 9500 under 200 us, 4500 under 1 ms, 1800 under
// 5 ms, 330 longer; the run's futex calls went from 21000 to 6600 with the naps, and to 1000
// when the thread also stopped sleeping on the code cache's mutex (Jit::place).
void Translator::wait_for_work() const {
    const auto start = std::chrono::steady_clock::now();
    auto idle = [this] {
        return m_queued.load(std::memory_order_relaxed) == 0 && !m_stop.load(std::memory_order_relaxed);
    };
    while (idle()) {
        for (int i = 0; i < 64; ++i) __builtin_ia32_pause();
        if (std::chrono::steady_clock::now() - start > kSpin) break;
    }
    while (idle() && std::chrono::steady_clock::now() - start < m_nap_for) {
        const timespec nap{0, std::chrono::nanoseconds(kNap).count()};
        nanosleep(&nap, nullptr);
    }
}

}  // namespace trapeze::rv64::jit
