// RamPrefaulter: populates fresh guest RAM a little ahead of the guest, on a thread of its own,
// so that the host's first-touch faults (a 2 MiB huge page zeroed by the host kernel: several
// ms each under nested virtualisation, 5 ms on an earlier session's host) are not taken on a
// hart's thread in the middle of guest code. (What such a fault costs depends on the memory
// the host hands out: on this project's nested hosts 4.8-5.7 ms per 2 MiB for memory the host
// had reclaimed, 0.2-0.3 ms for memory freed a moment before, 1 ms for 2 MiB of 4 KiB faults;
// two threads faulting at once get 1.9 times the throughput of one.)
//
// It follows the guest rather than guessing: an engine reports each page it is about to use
// (note_use, from a soft-TLB fill), and the first use of a 2 MiB chunk makes the thread
// populate the chunks after it that the guest has not used. Linux gives out free memory in
// ascending address order (at boot the buddy allocator's free lists are filled from the
// bottom up, to their tails: mm/page_alloc.c, __free_pages_core), so the chunks after the
// one it just began to use are the ones it uses next: in a Debian guest's xz run, 85 of the
// 100 chunks it touched lay above every chunk it had touched before, and in a gcc compile 256
// of the 284 MiB the guest used had been populated before it got there. Before this, the
// guest's own zeroing of fresh pages (cbo.zero, clear_page) took the host faults on the hart
// thread: 7% of a sha256sum's time in the guest, 6% of a gzip's, 4.5% of a sort's. A Linux
// boot also begins at the top of RAM (memblock allocates downwards), but populating the top
// 48 MiB as the thread started did not speed a boot up (0.999 of the build before, 12 pairs),
// nor did following the guest down, not even on memory the host had taken back (boots 8 s
// apart: 1.23 s and 1.17 s against 1.16 s; docs/performance.md, "Where the boot's time goes").
//
// Bounded: at most kAhead chunks after the latest first use, and never more than budget()
// chunks populated that the guest has not used yet (a quarter of RAM: 8 chunks, 16 MiB, for a
// 64 MiB guest; 32 chunks, 64 MiB, from 256 MiB on). An idle guest costs nothing beyond that.
// Only anonymous RAM: a snapshot's copy-on-write file mapping is not populated (GuestMemory
// stops it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace trapeze {

class RamPrefaulter {
public:
    static constexpr uint64_t kChunk = uint64_t{2} << 20;  // a huge page
    static constexpr uint64_t kAhead = 8;                  // chunks past the latest first use

    // Starts the thread over `size` bytes of anonymous RAM at `ram`; nullptr if it cannot be
    // started or confined (the guest then takes its faults itself, as without one).
    static std::unique_ptr<RamPrefaulter> start(uint8_t* ram, uint64_t size);
    ~RamPrefaulter();
    RamPrefaulter(const RamPrefaulter&) = delete;
    RamPrefaulter& operator=(const RamPrefaulter&) = delete;

    // An engine is about to use RAM at `offset` from its start. Any thread; a load and a test
    // once the chunk has been used.
    void note_use(uint64_t offset) noexcept {
        const uint64_t chunk = offset / kChunk;
        if (chunk < m_chunks && !used(chunk)) first_use(chunk);
    }

    struct Stats {
        uint64_t populated = 0;  // chunks the thread populated
        uint64_t used = 0;       // of those, the ones the guest has used since
        uint64_t guest = 0;      // chunks the guest has used, populated ahead or not
    };
    Stats stats() const;
    uint64_t budget() const { return m_budget; }
    // For tests: waits until the thread has acted on every first use reported so far (or has
    // stopped).
    void wait_idle();

private:
    RamPrefaulter(uint8_t* ram, uint64_t size);
    static uint64_t bit(uint64_t chunk) { return uint64_t{1} << (chunk % 64); }
    size_t words() const { return static_cast<size_t>((m_chunks + 63) / 64); }  // of each bitmap
    bool used(uint64_t chunk) const { return (m_used[chunk / 64].load(std::memory_order_relaxed) & bit(chunk)) != 0; }
    void first_use(uint64_t chunk) noexcept;
    void loop();
    void populate_after(uint64_t chunk);
    uint64_t outstanding() const;

    uint8_t* const m_ram;
    const uint64_t m_size;
    const uint64_t m_chunks;
    const uint64_t m_budget;
    std::unique_ptr<std::atomic<uint64_t>[]> m_used;  // a bit per chunk an engine has used
    std::unique_ptr<std::atomic<uint64_t>[]> m_populated;  // a bit per chunk the thread populated (it alone sets them)
    std::atomic<uint64_t> m_latest{0};  // the chunk of the latest first use
    std::mutex m_mu;
    std::condition_variable m_wake;
    std::condition_variable m_idle;  // the thread went to sleep
    bool m_pending = false;   // a first use since the thread last looked (under m_mu)
    bool m_sleeping = false;  // the thread waits on m_wake (under m_mu)
    bool m_stop = false;      // (under m_mu)
    std::thread m_thread;     // last: starts once the members above exist
};

}  // namespace trapeze
