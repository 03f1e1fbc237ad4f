// PageAllocator: a standard allocator that gives each allocation its own anonymous mapping,
// for the translator's tables (the code cache's block index); PageArray: a fixed array in such
// a mapping, left as the host's zeroes (a hart's block cache and soft TLB).
//
// Why not the heap: these tables are a few hundred KiB to a few MiB, sparse (hashed or
// direct-mapped, so a lookup lands anywhere) and emptied by a flush. Mapped on their own
// they are zero-filled by the host and backed page by page as they are touched, and go back
// to the host at once when freed. They are advised against transparent huge pages: on a host
// with THP "always" a 2 MiB page would be faulted in for every scattered first touch, where
// these tables want only the pages they use. The advice also marks them ("nh" in
// /proc/PID/smaps), so bench/api.py can count them with the code cache, not as the VMM's
// own memory.
//
// A PageArray asked for Pages::huge is a HugeRegion instead, rounded up to whole 2 MiB pages
// (THP backs only a whole aligned 2 MiB of a mapping) and marked "hg": for a table that is
// looked up so often, all over, that its 4 KiB pages' host TLB misses cost more than being
// resident whole (see Jit::HartContext::block_cache).
//
// Out of host memory throws std::bad_alloc, as operator new does.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "base/huge_region.hpp"

namespace trapeze {

template <typename T>
class PageAllocator {
public:
    using value_type = T;

    PageAllocator() = default;
    template <typename U>
    PageAllocator(const PageAllocator<U>&) noexcept {}

    T* allocate(size_t n) {
        if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
        const size_t bytes = n * sizeof(T);
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        (void)::madvise(p, bytes, MADV_NOHUGEPAGE);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t n) noexcept { ::munmap(p, n * sizeof(T)); }

    template <typename U>
    bool operator==(const PageAllocator<U>&) const noexcept {
        return true;
    }
};

enum class Pages { small, huge };

// n elements that start as all-zero bytes, never constructed or destroyed: T must be a type
// whose all-zero representation is a valid value (for a cache, its empty entry).
template <typename T>
class PageArray {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
    static_assert(HugeRegion::kHugePage % alignof(T) == 0);

public:
    explicit PageArray(size_t n, Pages pages = Pages::small) : m_size(n) {
        if (pages == Pages::small) {
            m_small = PageAllocator<T>().allocate(n);
            return;
        }
        constexpr size_t kPage = HugeRegion::kHugePage;
        if (n == 0 || n > (SIZE_MAX - kPage) / sizeof(T)) throw std::bad_alloc();
        auto region = HugeRegion::map((n * sizeof(T) + kPage - 1) / kPage * kPage);
        if (!region) throw std::bad_alloc();
        m_huge = std::move(*region);
    }
    PageArray(const PageArray&) = delete;
    PageArray& operator=(const PageArray&) = delete;
    ~PageArray() {
        if (m_small != nullptr) PageAllocator<T>().deallocate(m_small, m_size);
    }

    T& operator[](size_t i) { return data()[i]; }
    const T& operator[](size_t i) const { return data()[i]; }
    size_t size() const { return m_size; }

private:
    T* data() const { return m_small != nullptr ? m_small : reinterpret_cast<T*>(m_huge.data()); }

    T* m_small = nullptr;  // Pages::small
    HugeRegion m_huge;     // Pages::huge
    size_t m_size;
};

}  // namespace trapeze
