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

// A holder that keeps the lock far longer than a waiter spins makes the waiter sleep in the
// kernel; the unlock must wake it, and it must not get the lock before the holder let go.
TEST(AdaptiveMutex, AWaiterPastItsSpinIsWokenByTheUnlock) {
    AdaptiveMutex mu;
    bool released = false;
    bool seen_released = false;
    mu.lock();
    std::thread waiter([&] {
        std::lock_guard lock(mu);
        seen_released = released;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    released = true;
    mu.unlock();
    waiter.join();
    EXPECT_TRUE(seen_released);
}

// lock_napping waits as long as the holder keeps the lock, past its spin, and gets it after,
// but never as a sleeper the holder's unlock would have to wake with a system call.
TEST(AdaptiveMutex, ANappingWaiterLeavesTheUnlockNothingToWake) {
    AdaptiveMutex mu;
    bool released = false;
    bool seen_released = false;
    mu.lock();
    std::thread waiter([&] {
        mu.lock_napping();
        seen_released = released;
        mu.unlock();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(mu.unlock_wakes());
    released = true;
    mu.unlock();
    waiter.join();
    EXPECT_TRUE(seen_released);
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
