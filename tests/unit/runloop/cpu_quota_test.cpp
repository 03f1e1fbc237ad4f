// CpuQuota (issue 22) with clocks of the test's own: a period's budget is quota% of the period
// in CPU time, spent budget makes charge() say how long to sleep, unused budget expires and an
// overrun is paid by the next periods; hart threads over the quota run no slice until the next
// period, and stop and pause still reach them. And --cgroup's errors.
#include "eventually.hpp"
#include "runloop/cpu_quota.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "runloop/cgroup.hpp"
#include "runloop/hart_threads.hpp"

namespace trapeze::runloop {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kPeriod = 100 * kMs;

// CPU time and elapsed time that only move when the test says so.
struct FakeClocks {
    std::atomic<uint64_t> cpu{1'000 * kMs};  // not 0: the process had run before the quota
    std::atomic<uint64_t> now{5'000 * kMs};
    std::atomic<unsigned> reads{0};

    CpuQuota::Clocks clocks() {
        return {[this] {
                    reads.fetch_add(1);
                    return cpu.load();
                },
                [this] {
                    reads.fetch_add(1);
                    return now.load();
                }};
    }
};

TEST(CpuQuota, WithoutALimitNeverThrottlesNorReadsAClock) {
    FakeClocks c;
    CpuQuota quota(0, kPeriod, c.clocks());
    c.cpu += 10'000 * kMs;
    EXPECT_FALSE(quota.enabled());
    EXPECT_EQ(quota.charge(), 0u);
    EXPECT_EQ(c.reads.load(), 0u);
}

TEST(CpuQuota, ThrottlesToTheNextPeriodOnceThePeriodsBudgetIsSpent) {
    FakeClocks c;
    CpuQuota quota(30, kPeriod, c.clocks());
    EXPECT_EQ(quota.budget_ns(), 30 * kMs);
    c.now += 10 * kMs;
    c.cpu += 29 * kMs;
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 1 * kMs;
    EXPECT_EQ(quota.charge(), 90 * kMs);  // the rest of period 0
    c.now += 40 * kMs;
    EXPECT_EQ(quota.charge(), 50 * kMs);  // still spent: sleep again
    c.now += 50 * kMs;                    // period 1
    EXPECT_EQ(quota.charge(), 0u);
    EXPECT_EQ(quota.throttled_periods(), 1u);
}

TEST(CpuQuota, UnusedBudgetExpiresWithItsPeriod) {
    FakeClocks c;
    CpuQuota quota(30, kPeriod, c.clocks());
    c.cpu += 10 * kMs;
    EXPECT_EQ(quota.charge(), 0u);
    c.now += 350 * kMs;  // periods 0-2 mostly idle; period 3 starts with one budget, not four
    c.cpu += 29 * kMs;
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 1 * kMs;
    EXPECT_EQ(quota.charge(), 50 * kMs);
}

TEST(CpuQuota, AnOverrunIsADebtTheNextPeriodsPayFirst) {
    FakeClocks c;
    CpuQuota quota(30, kPeriod, c.clocks());
    c.cpu += 50 * kMs;  // 20 ms over in period 0 (threads mid-slice when the budget ran out)
    EXPECT_GT(quota.charge(), 0u);
    c.now += 100 * kMs;  // period 1 has 30 - 20 = 10 ms left
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 9 * kMs;
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 1 * kMs;
    EXPECT_EQ(quota.charge(), 100 * kMs);
    c.now += 100 * kMs;  // period 2: a whole budget again
    c.cpu += 29 * kMs;
    EXPECT_EQ(quota.charge(), 0u);

    // A debt of several periods: nothing runs until the periods since have paid it.
    FakeClocks d;
    CpuQuota deep(30, kPeriod, d.clocks());
    d.cpu += 250 * kMs;
    for (int period = 0; period < 8; ++period, d.now += kPeriod) EXPECT_GT(deep.charge(), 0u) << period;
    EXPECT_EQ(deep.charge(), 0u);  // period 8: 9 budgets (270 ms) cover the 250 ms used
}

TEST(CpuQuota, AboveOneHundredPercentGivesMoreThanOneCpu) {
    FakeClocks c;
    CpuQuota quota(150, kPeriod, c.clocks());
    c.cpu += 149 * kMs;  // two threads, 75 ms each in a 100 ms period
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 1 * kMs;
    EXPECT_GT(quota.charge(), 0u);
}

// Threads read the process's CPU clock at different moments: a reading older than one another
// thread already counted adds nothing, so the time is counted once.
TEST(CpuQuota, CountsEachNanosecondOnceWhicheverThreadReadsIt) {
    FakeClocks c;
    const uint64_t base = c.cpu.load();
    // The first reading is the constructor's (the start); then one per charge.
    const std::vector<uint64_t> readings{base, base + 20 * kMs, base + 25 * kMs, base + 22 * kMs, base + 29 * kMs};
    size_t next = 0;
    CpuQuota quota(30, kPeriod, {[&] { return readings.at(next++); }, [&] { return c.now.load(); }});
    for (size_t i = 1; i < readings.size(); ++i) EXPECT_EQ(quota.charge(), 0u) << i;  // 29 ms, not 20+5+7
}

TEST(CpuQuota, RestartForgetsTheTimeUsedBefore) {
    FakeClocks c;
    CpuQuota quota(30, kPeriod, c.clocks());
    c.cpu += 500 * kMs;  // loading the kernel, before the harts start
    c.now += 30 * kMs;
    quota.restart();
    c.cpu += 29 * kMs;
    c.now += 30 * kMs;
    EXPECT_EQ(quota.charge(), 0u);
    c.cpu += 1 * kMs;
    EXPECT_EQ(quota.charge(), 70 * kMs);  // period 0 began at restart()
}

// Every slice costs one fake millisecond of CPU.
class SliceCostingLoop final : public HartLoop {
public:
    SliceCostingLoop(unsigned harts, FakeClocks& c, uint64_t cost) : slices(harts), m_clocks(c), m_cost(cost) {}

    bool run_slice(unsigned hart) override {
        slices[hart].fetch_add(1);
        m_clocks.cpu.fetch_add(m_cost);
        std::this_thread::sleep_for(10us);
        return true;
    }
    void between_slices(unsigned) override {}
    bool wants_to_run(unsigned) override { return true; }
    uint64_t ns_until_timer(unsigned) override { return 1'000'000; }

    uint64_t total() const {
        uint64_t n = 0;
        for (const auto& s : slices) n += s.load();
        return n;
    }

    std::vector<std::atomic<uint64_t>> slices;

private:
    FakeClocks& m_clocks;
    uint64_t m_cost;
};

TEST(HartThreads, HartsOverTheCpuQuotaRunNoSliceUntilTheNextPeriod) {
    FakeClocks c;
    SliceCostingLoop loop(3, c, kMs);
    HartThreads threads(3, loop, std::make_unique<CpuQuota>(30, kPeriod, c.clocks()));
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return loop.total() >= 30; }));  // 30 ms of budget, 1 ms a slice
    std::this_thread::sleep_for(50ms);
    const uint64_t spent = loop.total();
    EXPECT_LE(spent, 30u + 3u);  // each hart may have been inside a slice when it ran out
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(loop.total(), spent);  // the fake period never ends: nobody runs
    c.now += kPeriod;
    threads.wake_all();  // the real sleep was as long as the fake period: do not wait for it
    EXPECT_TRUE(eventually([&] { return loop.total() >= 60; }));
    EXPECT_LE(loop.total(), 60u + 3u + 3u);
    threads.stop();
}

TEST(HartThreads, PauseAndStopReachHartsSleepingOverTheCpuQuota) {
    FakeClocks c;
    SliceCostingLoop loop(2, c, 10 * kMs);
    constexpr uint64_t kLongPeriod = 10'000 * kMs;  // a 10 s sleep: pause and stop must not wait for it
    HartThreads threads(2, loop, std::make_unique<CpuQuota>(1, kLongPeriod, c.clocks()));
    ASSERT_TRUE(threads.start());
    ASSERT_TRUE(eventually([&] { return loop.total() >= 10; }));  // 100 ms of budget
    const auto t0 = std::chrono::steady_clock::now();
    threads.pause();
    EXPECT_TRUE(threads.paused());
    threads.resume();
    threads.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // a bound on a hang, not a timing
}

TEST(JoinCgroup, RefusesADirectoryThatIsNotACgroupV2) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = tmp != nullptr ? tmp : "/tmp";
    auto joined = join_cgroup(dir);
    ASSERT_FALSE(joined.ok());
    EXPECT_NE(joined.error().message.find("'" + dir + "': not a directory of a cgroup v2"), std::string::npos)
        << joined.error().message;
}

TEST(JoinCgroup, NamesADirectoryThatDoesNotExist) {
    auto joined = join_cgroup("/sys/fs/cgroup/trapeze-no-such-group");
    ASSERT_FALSE(joined.ok());
    EXPECT_NE(joined.error().message.find("'/sys/fs/cgroup/trapeze-no-such-group': No such file or directory"),
              std::string::npos)
        << joined.error().message;
}

}  // namespace
}  // namespace trapeze::runloop
