// ExclusiveSection (the code cache's flush point): what runs exclusively runs while every other
// thread that entered waits at a checkpoint, and a thread outside (a hart asleep, paused) is
// not waited for.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "rv64/interp/exclusive_section.hpp"

namespace trapeze::rv64::test {
namespace {

TEST(ExclusiveSection, RunsWhileEveryOtherEnteredThreadWaitsAtACheckpoint) {
    interp::ExclusiveSection section;
    std::atomic<int> between_checkpoints{0};  // threads past a checkpoint, not yet at the next
    std::atomic<int> sections{0};
    std::atomic<int> overlaps{0};
    constexpr int kThreads = 4;
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int round = 0; round < 50; ++round) {
                section.enter();
                for (int i = 0; i < 200; ++i) {
                    section.checkpoint();
                    if (i % 50 == t) {
                        section.run_exclusive([&] {
                            if (between_checkpoints.load() != 0) overlaps.fetch_add(1);
                            sections.fetch_add(1);
                        });
                        continue;
                    }
                    between_checkpoints.fetch_add(1);
                    std::this_thread::yield();  // "running a block"
                    between_checkpoints.fetch_sub(1);
                }
                section.leave();
                if (round % 7 == t) std::this_thread::sleep_for(std::chrono::microseconds(200));  // outside
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(overlaps.load(), 0) << "an exclusive section ran while another thread was between checkpoints";
    EXPECT_GT(sections.load(), 0);
}

TEST(ExclusiveSection, ALoneThreadRunsAtOnceAndAThreadOutsideIsNotWaitedFor) {
    interp::ExclusiveSection section;
    section.enter();
    bool ran = false;
    EXPECT_TRUE(section.run_exclusive([&] { ran = true; }));
    EXPECT_TRUE(ran);
    EXPECT_FALSE(section.checkpoint());
    section.leave();
}

}  // namespace
}  // namespace trapeze::rv64::test
