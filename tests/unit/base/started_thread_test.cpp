// start_thread: the body runs only after a setup that worked, on a thread of the given name,
// and a failed setup comes back as its error with the thread already gone.
#include "base/started_thread.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace trapeze {
namespace {

TEST(StartThread, RunsTheBodyAfterTheSetupOnANamedThread) {
    std::atomic<bool> set_up{false};
    std::atomic<bool> body_saw_setup{false};
    std::string name;
    // The setup takes a while, so a start_thread that returned without waiting for it would
    // find set_up still false.
    auto setup = [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        set_up = true;
        return ok();
    };
    auto t = start_thread(
        "trapeze-test", setup,
        [&] {
            body_saw_setup = set_up.load();
            char buf[16] = {};
            pthread_getname_np(pthread_self(), buf, sizeof buf);
            name = buf;
        });
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_TRUE(set_up);  // start_thread returned only after the setup ran
    t->join();
    EXPECT_TRUE(body_saw_setup);
    EXPECT_EQ(name, "trapeze-test");
}

TEST(StartThread, AFailedSetupIsTheErrorAndTheBodyNeverRuns) {
    std::atomic<bool> ran{false};
    auto t = start_thread(
        "trapeze-test", [] { return Result<void>(make_error("no filter for you")); }, [&] { ran = true; });
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().message, "no filter for you");
    EXPECT_FALSE(ran);  // and the thread is joined: nothing left to run it later
}

TEST(StartThread, NoSetupIsASetupThatWorked) {
    std::atomic<bool> ran{false};
    auto t = start_thread("trapeze-test", {}, [&] { ran = true; });
    ASSERT_TRUE(t);
    t->join();
    EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace trapeze
