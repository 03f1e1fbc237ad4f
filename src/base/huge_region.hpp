// HugeRegion: private memory (anonymous, or a file's pages copy-on-write) that starts on a 2 MiB boundary and is advised for
// transparent huge pages, as QEMU maps its RAM blocks.
//
// On first touch the host kernel faults in a whole 2 MiB page at once instead of 512 pages
// of 4 KiB; where a fault is expensive (a nested host, seen here at ~10 µs per 4 KiB page)
// that is most of the cost of memory a VMM fills once: guest RAM and the decoded-block
// arena. The advice is only a hint: a host with THP off keeps 4 KiB pages. MAP_NORESERVE:
// pages are allocated as touched, so a large region costs only what is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/result.hpp"

namespace trapeze {

class HugeRegion {
public:
    static constexpr size_t kHugePage = size_t{2} << 20;

    static Result<HugeRegion> map(size_t size);
    // The first `size` bytes of the file `fd`, mapped private (copy-on-write): reads come from
    // the file through the page cache, the first write to a page copies it, and nothing is
    // ever written back. A snapshot's memory file restored this way costs no reading up front.
    static Result<HugeRegion> map_file_private(int fd, size_t size);

    HugeRegion() = default;
    HugeRegion(HugeRegion&& o) noexcept
        : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
    HugeRegion& operator=(HugeRegion&& o) noexcept {
        if (this != &o) {
            unmap();
            m_data = std::exchange(o.m_data, nullptr);
            m_size = std::exchange(o.m_size, 0);
        }
        return *this;
    }
    HugeRegion(const HugeRegion&) = delete;
    HugeRegion& operator=(const HugeRegion&) = delete;
    ~HugeRegion() { unmap(); }

    // The region now holds the first size() bytes of `fd`, mapped private as map_file_private
    // does, at the same address (so host pointers into it stay valid).
    Result<void> remap_file_private(int fd);

    uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    HugeRegion(uint8_t* data, size_t size) : m_data(data), m_size(size) {}
    void unmap();

    uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

}  // namespace trapeze
