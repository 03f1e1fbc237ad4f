// HartThreads and PauseRendezvous (issue 21) with a HartLoop of the test's own: every hart runs
// on a thread of its own, a pause stops all of them between slices and nothing runs until the
// last resume, a hart sleeping in WFI wakes for wake() and for its timer, and stop() ends
// sleeping and running harts alike. More harts than host cores is the normal case here.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "runloop/hart_threads.hpp"

namespace trapeze::runloop {
namespace {

using namespace std::chrono_literals;

// Each hart counts its slices; a hart with `waiting` set stays in WFI until `irq` is set.
class CountingLoop final : public HartLoop {
public:
    explicit CountingLoop(unsigned harts) : slices(harts), waiting(harts), irq(harts), sleeps(harts) {}

    bool run_slice(unsigned hart) override {
        running.fetch_add(1);
        if (waiting[hart].load() && !irq[hart].load()) {
            running.fetch_sub(1);
            return false;
        }
        slices[hart].fetch_add(1);
        std::this_thread::sleep_for(20us);  // a slice of guest work
        running.fetch_sub(1);
        return true;
    }
    void between_slices(unsigned) override {}
    bool wants_to_run(unsigned hart) override { return irq[hart].load(); }
    uint64_t ns_until_timer(unsigned hart) override {
        sleeps[hart].fetch_add(1);
        return timer_ns.load();
    }

    std::vector<std::atomic<uint64_t>> slices;
    std::vector<std::atomic<bool>> waiting;
    std::vector<std::atomic<bool>> irq;
    std::vector<std::atomic<uint64_t>> sleeps;
    std::atomic<int> running{0};
    std::atomic<uint64_t> timer_ns{10'000'000'000};  // 10 s: a wake-up must not wait for it
};

uint64_t total(const CountingLoop& l) {
    uint64_t n = 0;
    for (const auto& s : l.slices) n += s.load();
    return n;
}

TEST(HartThreads, EveryHartRunsOnAThreadOfItsOwn) {
    CountingLoop loop(8);
    HartThreads threads(8, loop);
    ASSERT_TRUE(threads.start());
    for (unsigned h = 0; h < 8; ++h) EXPECT_TRUE(eventually([&] { return loop.slices[h].load() > 10; })) << h;
    threads.stop();
}

TEST(HartThreads, PauseStopsEveryHartBetweenSlicesUntilTheLastResume) {
    CountingLoop loop(4);
    HartThreads threads(4, loop);
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return total(loop) > 40; }));
    threads.pause();
    EXPECT_TRUE(threads.paused());
    EXPECT_EQ(loop.running.load(), 0);  // no hart is inside a slice
    const uint64_t frozen = total(loop);
    threads.pause();  // a second controller
    threads.resume();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(total(loop), frozen);  // still paused: one pause is left
    threads.resume();
    EXPECT_FALSE(threads.paused());
    EXPECT_TRUE(eventually([&] { return total(loop) > frozen + 40; }));
    threads.stop();
}

TEST(HartThreads, PauseIncludesHartsSleepingInWfi) {
    CountingLoop loop(3);
    loop.waiting[1] = true;
    HartThreads threads(3, loop);
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return loop.sleeps[1].load() > 0; }));
    threads.pause();  // returns although hart 1 sleeps with a 10 s timer
    EXPECT_TRUE(threads.paused());
    loop.irq[1] = true;
    threads.wake(1);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(loop.slices[1].load(), 0u);  // woken while paused: it still waits for resume
    threads.resume();
    EXPECT_TRUE(eventually([&] { return loop.slices[1].load() > 0; }));
    threads.stop();
}

TEST(HartThreads, AHartInWfiWakesForWakeAndForItsTimer) {
    CountingLoop loop(2);
    loop.waiting[0] = true;
    loop.waiting[1] = true;
    HartThreads threads(2, loop);
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return loop.sleeps[0].load() > 0 && loop.sleeps[1].load() > 0; }));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(total(loop), 0u);
    loop.irq[0] = true;
    threads.wake(0);
    EXPECT_TRUE(eventually([&] { return loop.slices[0].load() > 0; }, 2s));  // not after 10 s
    EXPECT_EQ(loop.slices[1].load(), 0u);
    // Hart 1's timer: a short deadline ends its sleep without a wake().
    loop.timer_ns = 1'000'000;
    threads.wake(1);  // once, to take the new deadline
    const uint64_t before = loop.sleeps[1].load();
    EXPECT_TRUE(eventually([&] { return loop.sleeps[1].load() > before + 5; }, 2s));
    threads.stop();
}

TEST(HartThreads, StopEndsSleepingAndRunningHartsPromptly) {
    CountingLoop loop(4);
    loop.waiting[2] = true;
    loop.waiting[3] = true;
    HartThreads threads(4, loop);
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return loop.sleeps[2].load() > 0 && loop.sleeps[3].load() > 0; }));
    const auto t0 = std::chrono::steady_clock::now();
    threads.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // a bound on a hang, not a timing
    EXPECT_EQ(loop.running.load(), 0);
}

// A VM stopped while paused (the API's Ctrl-A x, a signal): the parked harts leave instead
// of waiting for a resume that never comes, and a later pause() does not wait either.
TEST(HartThreads, StopWhilePausedEndsTheParkedHarts) {
    CountingLoop loop(3);
    HartThreads threads(3, loop);
    ASSERT_TRUE(threads.start());
    threads.pause();
    std::thread stopper([&] { threads.stop(); });
    ASSERT_TRUE(eventually([&] { return !stopper.joinable() || loop.running.load() == 0; }));
    stopper.join();  // hangs (and the test times out) if parked harts never leave
    threads.pause();
    EXPECT_EQ(loop.running.load(), 0);
}

}  // namespace
}  // namespace trapeze::runloop
