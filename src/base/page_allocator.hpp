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
// Out of host memory throws std::bad_alloc, as operator new does.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

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

// n elements that start as all-zero bytes, never constructed or destroyed: T must be a type
// whose all-zero representation is a valid value (for a cache, its empty entry).
template <typename T>
class PageArray {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
    explicit PageArray(size_t n) : m_data(PageAllocator<T>().allocate(n)), m_size(n) {}
    PageArray(const PageArray&) = delete;
    PageArray& operator=(const PageArray&) = delete;
    ~PageArray() { PageAllocator<T>().deallocate(m_data, m_size); }

    T& operator[](size_t i) { return m_data[i]; }
    const T& operator[](size_t i) const { return m_data[i]; }
    size_t size() const { return m_size; }

private:
    T* m_data;
    size_t m_size;
};

}  // namespace trapeze
