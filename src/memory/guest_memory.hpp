// GuestMemory: the guest's RAM, one contiguous anonymous mapping at a base GPA.
//
// Every access from devices and loaders is bounds-checked here (overflow-safe);
// engines obtain host pointers for whole pages through host_page() and cache
// them in their TLBs. Thread: any; the mapping never moves after creation.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>
#include <functional>
#include <span>
#include <utility>

#include "base/huge_region.hpp"
#include "base/result.hpp"
#include "memory/address.hpp"
#include "memory/ram_prefaulter.hpp"

namespace trapeze {

class GuestMemory {
public:
    static constexpr uint64_t kPageSize = 4096;

    static Result<GuestMemory> create(Gpa base, uint64_t size);
    // RAM whose initial contents are the file `fd` (a snapshot's memory file: a regular file of
    // exactly `size` bytes, or an error), mapped copy-on-write: restore time does not grow with
    // the RAM size.
    static Result<GuestMemory> create_from_file(Gpa base, uint64_t size, int fd);
    // RAM takes the contents of `fd` (a memory file of its size) in place, copy-on-write, as
    // create_from_file maps it: a rewind. Host addresses stay as they were.
    Result<void> replace_from_file(int fd);

    GuestMemory(GuestMemory&& o) noexcept = default;
    GuestMemory& operator=(GuestMemory&&) = delete;
    GuestMemory(const GuestMemory&) = delete;

    Gpa base() const { return m_base; }
    uint64_t size() const { return m_ram.size(); }
    Gpa end() const { return Gpa(m_base.value + size()); }
    uint8_t* host_base() const { return m_ram.data(); }

    // True if [gpa, gpa+len) lies entirely in RAM (len may be 0).
    bool contains(Gpa gpa, uint64_t len) const {
        const uint64_t off = gpa.value - m_base.value;
        return gpa.value >= m_base.value && off <= size() && len <= size() - off;
    }

    // A bounds-checked host view of [gpa, gpa+len), or an empty span if any byte is outside RAM.
    std::span<uint8_t> span(Gpa gpa, uint64_t len) const {
        if (!contains(gpa, len)) return {};
        return {host_base() + (gpa.value - m_base.value), static_cast<size_t>(len)};
    }

    // Host pointer to the start of the page containing gpa, or nullptr outside RAM.
    uint8_t* host_page(Gpa gpa) const {
        const uint64_t page = gpa.value & ~(kPageSize - 1);
        return contains(Gpa(page), kPageSize) ? host_base() + (page - m_base.value) : nullptr;
    }

    // Starts populating RAM ahead of the guest's first uses of it (RamPrefaulter), which
    // engines report with note_use(). Anonymous RAM only: RAM from a memory file (a snapshot)
    // stays as mapped, and replace_from_file() stops it.
    void start_prefaulting();
    // An engine is about to use the page at `host_page` (a soft-TLB fill).
    void note_use(const uint8_t* host_page) const {
        if (m_prefaulter) m_prefaulter->note_use(static_cast<uint64_t>(host_page - host_base()));
    }
    const RamPrefaulter* prefaulter() const { return m_prefaulter.get(); }
    RamPrefaulter* prefaulter() { return m_prefaulter.get(); }

    // Copies in/out with bounds checks; false if any byte is outside RAM (nothing is copied then).
    // write() reports the range to the write observer.
    bool read(Gpa gpa, std::span<uint8_t> out) const;
    bool write(Gpa gpa, std::span<const uint8_t> in);

    // Writes that do not come from a hart (device DMA, loaders) must be reported, so engines
    // can drop what they derived from the old bytes (decoded code). Whoever writes through a
    // span() reports it with notify_written() before the guest can observe the data.
    using WriteObserver = std::function<void(Gpa gpa, uint64_t len)>;
    void set_write_observer(WriteObserver observer) { m_observer = std::move(observer); }
    void notify_written(Gpa gpa, uint64_t len) const {
        if (len == 0) return;
        mark_dirty(gpa, len);
        if (m_observer) m_observer(gpa, len);
    }

    // --- dirty pages (diff snapshots) --------------------------------------------------------
    // One bit per 4 KiB page, set by every write to RAM since the last take_dirty(): device
    // and loader writes through write()/notify_written(), and harts' stores through
    // mark_dirty() when they translate a store to a page (Hart::access_one), before they cache
    // the page as writable. So whoever clears the bits must also make every hart forget its
    // writable translations (Hart::flush_tlb) before it runs again. Any thread.
    void mark_dirty(Gpa gpa, uint64_t len) const;
    // The bitmap of pages written since the last call (bit i of word i/64 = page i from
    // base()), cleared. Call with no hart running.
    std::vector<uint64_t> take_dirty();
    // ORs a bitmap take_dirty() returned back in: a snapshot that failed leaves the next Diff
    // every page it would have had.
    void return_dirty(std::span<const uint64_t> dirty);
    uint64_t page_count() const { return size() / kPageSize; }

private:
    GuestMemory(Gpa base, HugeRegion ram);

    Gpa m_base;
    HugeRegion m_ram;  // a moved-from one is empty, so a moved-from GuestMemory has no RAM
    bool m_anonymous = false;  // m_ram is not a file's mapping
    std::unique_ptr<std::atomic<uint64_t>[]> m_dirty;  // page_count() bits
    WriteObserver m_observer;
    std::unique_ptr<RamPrefaulter> m_prefaulter;  // after m_ram: its thread stops before RAM goes
};

}  // namespace trapeze
