// --hart-affinity (runloop/hart_affinity): the per-hart CPU lists an operator gives, checked
// against the CPUs this process may run on, and hart threads that run only there.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eventually.hpp"
#include "runloop/hart_affinity.hpp"
#include "runloop/hart_threads.hpp"

namespace trapeze::runloop {
namespace {

// The CPUs this process may run on, lowest first.
std::vector<unsigned> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    std::vector<unsigned> cpus;
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

TEST(HartAffinity, ParsesOneTasksetListPerHart) {
    const std::vector<unsigned> cpus = allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    const unsigned a = cpus.front(), b = cpus.back();
    // The range: from the first allowed CPU as far as the allowed ones run without a gap.
    std::vector<unsigned> range = {a};
    while (range.size() < cpus.size() && cpus[range.size()] == a + range.size()) range.push_back(cpus[range.size()]);
    auto parsed =
        parse_hart_affinity(fmt::format("{}/{}/{}-{}/{},{},{}", a, b, a, range.back(), b, a, b), 4);
    ASSERT_TRUE(parsed) << parsed.error().message;
    ASSERT_EQ(parsed->size(), 4u);
    EXPECT_EQ((*parsed)[0], std::vector<unsigned>{a});
    EXPECT_EQ((*parsed)[1], std::vector<unsigned>{b});
    EXPECT_EQ((*parsed)[2], range);
    // Sorted, without repeats.
    EXPECT_EQ((*parsed)[3], a == b ? std::vector<unsigned>{a} : std::vector<unsigned>({a, b}));
}

TEST(HartAffinity, RefusesBadListsWithTheirReason) {
    const unsigned a = allowed_cpus().front();
    struct Case {
        std::string spec;
        unsigned harts;
        std::string says;
    };
    const std::vector<Case> cases = {
        {fmt::format("{}", a), 2, "1 list(s) of CPUs, one per hart, for 2 harts"},
        {fmt::format("{}/{}/{}", a, a, a), 2, "3 list(s)"},
        {fmt::format("{}//{}", a, a), 3, "hart 1: an empty list"},
        {"x", 1, "'x' is not a CPU number"},
        {fmt::format("{}-", a), 1, "'' is not a CPU number"},
        {"-1", 1, "'' is not a CPU number"},
        {"3-1", 1, "the range '3-1' runs backwards"},
        {fmt::format("{},", a), 1, "'' is not a CPU number"},
        {"1 ", 1, "'1 ' is not a CPU number"},
        {"99999", 1, "past the highest"},
        {fmt::format("{}", CPU_SETSIZE - 1), 1, "is not one this process may run on"},
    };
    for (const Case& c : cases) {
        auto parsed = parse_hart_affinity(c.spec, c.harts);
        ASSERT_FALSE(parsed) << c.spec;
        EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << c.spec << ": " << parsed.error().message;
        EXPECT_NE(parsed.error().message.find("--hart-affinity"), std::string::npos) << parsed.error().message;
    }
}

// Each hart's thread records the CPUs it may run on, from inside its first slice.
class AffinityLoop final : public HartLoop {
public:
    explicit AffinityLoop(unsigned harts) : seen(harts), done(harts) {}
    bool run_slice(unsigned hart) override {
        if (!done[hart].load()) {
            cpu_set_t set;
            CPU_ZERO(&set);
            pthread_getaffinity_np(pthread_self(), sizeof set, &set);
            for (unsigned c = 0; c < CPU_SETSIZE; ++c)
                if (CPU_ISSET(c, &set)) seen[hart].push_back(c);
            done[hart].store(true);
        }
        return false;  // then wait in WFI
    }
    void between_slices(unsigned) override {}
    bool wants_to_run(unsigned) override { return false; }
    uint64_t ns_until_timer(unsigned) override { return 10'000'000; }
    std::vector<std::vector<unsigned>> seen;
    std::vector<std::atomic<bool>> done;
};

TEST(HartAffinity, EachHartThreadRunsOnlyOnItsCpus) {
    const std::vector<unsigned> cpus = allowed_cpus();
    const HartAffinity affinity = {{cpus.back()}, {cpus.front()}, cpus};
    AffinityLoop loop(3);
    HartThreads threads(3, loop, nullptr, affinity);
    ASSERT_TRUE(threads.start());
    for (unsigned h = 0; h < 3; ++h) ASSERT_TRUE(eventually([&] { return loop.done[h].load(); })) << h;
    threads.stop();
    for (unsigned h = 0; h < 3; ++h) EXPECT_EQ(loop.seen[h], affinity[h]) << "hart " << h;
}

TEST(HartAffinity, AThreadThatCannotBePinnedEndsTheStart) {
    AffinityLoop loop(2);
    // A CPU no host has: the kernel refuses it (EINVAL), and start() says which hart.
    HartThreads threads(2, loop, nullptr, HartAffinity{{allowed_cpus().front()}, {CPU_SETSIZE - 1}});
    auto started = threads.start();
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("hart 1: cannot pin the thread to CPU(s)"), std::string::npos)
        << started.error().message;
}

}  // namespace
}  // namespace trapeze::runloop
