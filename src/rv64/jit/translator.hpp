// Translator: the Emitter on a thread of its own, so the hart thread goes on running blocks
// (through the interpreter's semantics) while their translations are made, instead of
// stopping for each one: translation is about an eighth of a boot's time, and the host has a
// second core for it.
//
// A hart thread hands over a region (its blocks, picked by Jit::region) and later one of them
// takes the finished code, which it installs only if none of the region's blocks was dropped
// meanwhile (Jit::install_finished). One Translator serves every hart of the machine. The thread reads nothing but the blocks' pa, insns and crossing,
// which stay as they are while a block lives, and the blocks live until the code cache is
// flushed, which first waits for the thread (cancel_all). Slots for the exits come from the
// Jit's SlotArena, which the hart threads' emitter allocates from as well.
//
// The thread copies each finished translation straight into the Jit's code buffer (Placer:
// the room is taken under the code cache's mutex, the copy made after), so that a hart
// installing it only links it in; only when the buffer is nearly full does the code travel in
// the job for a hart to copy (and flush for).
//
// Jobs are recycled, not freed: a hart hands installed jobs back (recycle) and the next
// submit reuses one, with the capacity of its vectors. A buffer allocated on one thread and
// freed on the other takes the allocating thread's malloc arena lock, and with the two threads
// allocating all the time they waited for each other in the kernel (futex calls on a JIT boot
// of Debian's kernel: see AdaptiveMutex for the mutex's own share).
//
// Thread: the member functions for the hart threads (Jit calls submit, take_finished and
// recycle under its code cache's mutex, cancel_all in its ExclusiveSection); loop() runs on the
// translator's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "base/adaptive_mutex.hpp"
#include "rv64/interp/code_cache.hpp"
#include "rv64/jit/code_buffer.hpp"
#include "rv64/jit/emitter.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::rv64::jit {

class Translator {
public:
    struct Job {
        interp::Block* head = nullptr;
        std::vector<const interp::Block*> blocks;  // the region, head first
        uint64_t generation = 0;                   // the code cache's when asked
        // Filled on the translator's thread: the code is in the code buffer at `placed`
        // (`size` bytes in two parts, Emitter::hot_size), or, if the buffer had no room, in
        // `code` (empty if it did not fit), with the jumps between its parts at `cross`.
        CodeBuffer::Placed placed;
        size_t size = 0;
        size_t hot_size = 0;
        std::vector<uint8_t> code;
        std::vector<uint32_t> cross;
        std::vector<Emitter::Patch> patches;
        std::vector<Emitter::Entry> entries;
        Emitter::Stats stats;
        std::chrono::steady_clock::time_point submitted;  // when the hart queued it
    };

    // Copies a finished translation into the code buffer, its first `hot` bytes apart from the
    // rest (CodeBuffer::place_split), and returns where it runs, or Placed{} if the buffer
    // keeps its room for the harts' own translations.
    using Placer = std::function<CodeBuffer::Placed(std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross)>;

    // Work for the thread's spare time, done each time it runs out of jobs (before it waits for
    // the next): Jit's prepares the code cache's next arena chunk (CodeCache::prepare_chunk).
    using IdleTask = std::function<void()>;

    // With nothing to do, the thread naps (needs no wakeup) for nap_for before it sleeps until
    // a job comes (see wait_for_work).
    static constexpr std::chrono::microseconds kNapFor{5000};
    Translator(Emitter& emitter, Placer place, IdleTask idle = {}, std::chrono::microseconds nap_for = kNapFor);
    ~Translator();
    Translator(const Translator&) = delete;
    Translator& operator=(const Translator&) = delete;

    // Queues the translation of `blocks` (the region, head first), in a recycled job.
    void submit(interp::Block* head, std::span<const interp::Block* const> blocks, uint64_t generation);
    // Takes back the queued job of `head` if the thread has not started it (a hart translates
    // it itself: Jit::translate); false if there is none.
    bool withdraw(const interp::Block* head);
    // Finished jobs are waiting (a relaxed check, for every turn of the dispatcher).
    bool has_finished() const { return m_finished.load(std::memory_order_relaxed); }
    // The finished jobs, swapped into `done` (which must be empty: its capacity goes to the
    // thread); hand them back with recycle() once installed.
    void take_finished(std::vector<Job>& done);
    // Installed jobs go back to the pool submit() takes from; `done` is left empty.
    void recycle(std::vector<Job>& done);
    // Waits for the job being translated, then forgets every job, queued or finished.
    void cancel_all();
    // Waits until every queued job is finished (for tests: what runs native code next is then
    // known).
    void wait_idle();
    // For tests: while held, the thread starts no job (as when the hart threads keep every
    // core busy and it gets none).
    void hold(bool held);
    // Times submit woke the sleeping thread (each a system call on the submitting hart thread).
    uint64_t wakeups() const { return m_wakeups.load(std::memory_order_relaxed); }

    // How long jobs waited in the queue before the thread started them: the blocks of a waiting
    // job run interpreted meanwhile. With harts keeping every core busy the thread, below them,
    // falls behind (see its start).
    struct Waits {
        uint64_t started = 0;  // jobs the thread started
        uint64_t total_ns = 0;  // their waits from submit to start, summed
        uint64_t long_ones = 0;  // those that waited longer than kLongWait
    };
    static constexpr std::chrono::milliseconds kLongWait{100};
    Waits waits() const;

private:
    static constexpr int kNice = sandbox::kTranslatorNice;  // the thread's scheduling priority (see its start)
    // With nothing to do, the thread spins for kSpin, then naps kNap at a time until nap_for
    // has passed, before it sleeps until woken (wait_for_work).
    static constexpr std::chrono::microseconds kSpin{200};
    static constexpr std::chrono::microseconds kNap{50};
    // Recycled jobs kept (a burst of requests queues more; their buffers are freed), and the
    // largest code buffer a kept job holds on to.
    static constexpr size_t kSpareJobs = 64;
    static constexpr size_t kSpareCodeBytes = 16 * 1024;

    void loop();
    void wait_for_work() const;
    Job take_queued();
    void forget_taken();
    void count_wait(const Job& job);
    void drop_queued();

    Emitter& m_emitter;
    const Placer m_place;
    const IdleTask m_idle_task;
    const std::chrono::microseconds m_nap_for;
    AdaptiveMutex m_mu;  // held for a few moves at a time, by a hart and the thread at once
    std::condition_variable_any m_work;  // a job was queued, or stop
    std::condition_variable_any m_idle;  // the thread finished a job
    // The queue: m_queue[m_head..] in the order submitted (a vector, emptied when all are
    // taken, so its storage is reused rather than allocated per job as a deque's would be).
    // A withdrawn job leaves its place empty (head null) for take_queued to skip: found by
    // m_position and not erased, since a hart withdraws under the code cache's mutex and a
    // search and erase through hundreds of queued jobs (a gcc compile's queue) had taken 6% of
    // the compile's samples, the thread waiting on m_mu meanwhile.
    std::vector<Job> m_queue;
    size_t m_head = 0;
    size_t m_live = 0;  // the jobs in m_queue[m_head..] not withdrawn
    absl::flat_hash_map<const interp::Block*, size_t> m_position;  // their heads' places
    std::vector<Job> m_done;
    std::vector<Job> m_spare;
    bool m_busy = false;
    bool m_held = false;
    std::atomic<bool> m_stop{false};        // set under m_mu; read without it by wait_for_work
    bool m_sleeping = false;                // waiting on m_work (submit must wake it)
    std::atomic<size_t> m_queued{0};        // m_live, for wait_for_work
    std::atomic<bool> m_finished{false};
    std::atomic<uint64_t> m_wakeups{0};
    std::atomic<uint64_t> m_started{0};     // Waits, written by the thread only (count_wait)
    std::atomic<uint64_t> m_waited_ns{0};
    std::atomic<uint64_t> m_long_waits{0};
    std::thread m_thread;  // last: starts once the members above exist
};

}  // namespace trapeze::rv64::jit
