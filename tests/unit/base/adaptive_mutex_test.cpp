#include "base/adaptive_mutex.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace trapeze {
namespace {

// Several threads add to one plain counter under the mutex, more threads than the host has
// cores (so holders are preempted and waiters go past their spin to the kernel): not one
// increment may be lost.
TEST(AdaptiveMutex, NoIncrementIsLostAmongMoreThreadsThanCores) {
    AdaptiveMutex mu;
    uint64_t counter = 0;
    constexpr int kThreads = 8;
    constexpr int kEach = 200'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                std::lock_guard lock(mu);
                counter = counter + 1;
            }
        });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(counter, uint64_t{kThreads} * kEach);
}

// The lock is held 50 ms, far longer than a waiter spins, while another thread takes it with
// `take`: the waiter must not get it before the holder let go. Returns whether the holder's
// unlock had a sleeper to wake (AdaptiveMutex::unlock_wakes) just before it let go.
template <typename Take>
bool wait_past_the_spin(Take take) {
    AdaptiveMutex mu;
    bool released = false;
    bool seen_released = false;
    mu.lock();
    std::thread waiter([&] {
        take(mu);
        seen_released = released;
        mu.unlock();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const bool wakes = mu.unlock_wakes();
    released = true;
    mu.unlock();
    waiter.join();
    EXPECT_TRUE(seen_released);
    return wakes;
}

// Past its spin, lock() sleeps in the kernel; the unlock must wake it.
TEST(AdaptiveMutex, AWaiterPastItsSpinIsWokenByTheUnlock) {
    EXPECT_TRUE(wait_past_the_spin([](AdaptiveMutex& mu) { mu.lock(); }));
}

TEST(AdaptiveMutex, TryLockFailsWhileHeldAndSucceedsAfter) {
    AdaptiveMutex mu;
    mu.lock();
    bool got = true;
    std::thread([&] { got = mu.try_lock(); }).join();
    EXPECT_FALSE(got);
    mu.unlock();
    std::thread([&] {
        got = mu.try_lock();
        if (got) mu.unlock();
    }).join();
    EXPECT_TRUE(got);
}

// The Translator waits on a condition_variable_any with it.
TEST(AdaptiveMutex, WorksWithConditionVariableAny) {
    AdaptiveMutex mu;
    std::condition_variable_any cv;
    bool ready = false;
    std::thread t([&] {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ready; });
    });
    {
        std::lock_guard lock(mu);
        ready = true;
    }
    cv.notify_one();
    t.join();
}

}  // namespace
}  // namespace trapeze
