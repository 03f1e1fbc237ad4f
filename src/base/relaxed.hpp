// Plain fields that one thread writes while others read them without a lock (block links,
// the JIT's block-cache entries): each access is one relaxed atomic load or store, so a
// reader never sees a torn value, and whatever else it needs orders them (a sequence lock,
// a mutex on the writing side). On x86-64 each is a plain mov.
#pragma once

#include <atomic>

namespace trapeze {

template <typename T>
T relaxed_load(const T& field) {
    return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}

template <typename T>
void relaxed_store(T& field, T value) {
    std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

}  // namespace trapeze
