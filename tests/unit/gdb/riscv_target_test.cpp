// RiscvTarget and its monitor on a real (tiny) RISC-V machine: a vCont that names one thread
// runs that hart alone, in turn and in parallel, and the stop names it.
#include "gdb/riscv_target.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "../snapshot/machine_fixture.hpp"
#include "gdb/session.hpp"

namespace trapeze::gdb {
namespace {

using snapshot::test::kCounters;
using snapshot::test::kEntry;
using snapshot::test::NullConsole;
using snapshot::test::RiscvMachine;
using snapshot::test::Runner;
using snapshot::test::TempDir;

// Two harts of counting_program() (hart i counts in the u64 at kCounters + 8 * i), stopped
// for gdb before their first instruction (--gdb-wait), with a session attached.
class RiscvTargetTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        const std::string kernel = dir.path("count.elf");
        snapshot::test::write_bytes(kernel, snapshot::test::elf_of(snapshot::test::counting_program()));
        auto cfg = snapshot::test::tiny_config(kernel, machine::Engine::Interp, 2);
        cfg.deterministic = GetParam();  // harts in turn, or each on a thread of its own
        auto m = RiscvMachine::create(cfg, null.console);
        ASSERT_TRUE(m.ok()) << m.error().message;
        machine = std::move(*m);
        machine->pause_before_run();
        auto t = RiscvTarget::create(*machine, true);
        ASSERT_TRUE(t.ok()) << t.error().message;
        target = std::move(*t);
        session.emplace(*target);
        runner.emplace(*machine, null.console);
    }
    void TearDown() override {
        if (session && !session->finished()) session->handle("D");
        if (runner) runner->stop();
    }

    uint64_t counter(unsigned hart) {
        uint64_t v = 0;
        EXPECT_TRUE(machine->memory().read(Gpa(kCounters + 8 * hart), std::span(reinterpret_cast<uint8_t*>(&v), 8)));
        return v;
    }
    // The running machine's stop (a breakpoint), as the server's poll on stop_fd() takes it.
    std::string wait_for_stop() {
        for (int tries = 0; tries < 100; ++tries) {
            pollfd p{target->stop_fd(), POLLIN, 0};
            if (::poll(&p, 1, 100) == 1) {
                if (auto stop = target->take_stop()) return session->on_stop(*stop);
            }
        }
        return "no stop";
    }

    TempDir dir;
    NullConsole null;
    std::unique_ptr<RiscvMachine> machine;
    std::unique_ptr<RiscvTarget> target;
    std::optional<Session> session;
    std::optional<Runner> runner;
};

// gdb's stepi of thread 2 (software single-step): a breakpoint after the instruction, then
// `vCont;c:2`. Hart 0 sits at the same pc; had it run, it could have hit the breakpoint first.
TEST_P(RiscvTargetTest, RunsOnlyTheHartVContNames) {
    ASSERT_EQ(session->handle("Z0,80000004,4"), std::vector<std::string>{"OK"});
    EXPECT_TRUE(session->handle("vCont;c:2").empty());
    EXPECT_EQ(wait_for_stop(), "T05thread:2;");
    EXPECT_EQ(machine->hart(0).s.pc, kEntry);
    EXPECT_EQ(machine->hart(1).s.pc, kEntry + 4);
}

// Held: hart 0 counts no more while hart 1 does, until a vCont resumes both.
TEST_P(RiscvTargetTest, KeepsAHartNoVContActionNamesStopped) {
    EXPECT_TRUE(session->handle("vCont;c:2").empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(session->on_interrupt(), "T02thread:2;");  // the stop names the hart that ran
    EXPECT_EQ(counter(0), 0u);
    EXPECT_EQ(machine->hart(0).s.pc, kEntry);
    const uint64_t second = counter(1);
    EXPECT_GT(second, 0u);
    EXPECT_TRUE(session->handle("vCont;c").empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(session->on_interrupt().substr(0, 3), "T02");
    EXPECT_GT(counter(0), 0u);
    EXPECT_GT(counter(1), second);
}

// A step of one thread with the others told to continue (`vCont;s:2;c`) runs only that one.
TEST_P(RiscvTargetTest, StepsOneHartForAStepWithDefaultContinue) {
    EXPECT_EQ(session->handle("vCont;s:2;c"), std::vector<std::string>{"T05thread:2;"});
    EXPECT_EQ(machine->hart(0).s.pc, kEntry);
    EXPECT_EQ(machine->hart(1).s.pc, kEntry + 4);
}

// Detached, every hart runs again, held or not before.
TEST_P(RiscvTargetTest, RunsEveryHartAfterDetach) {
    EXPECT_TRUE(session->handle("vCont;c:1").empty());
    EXPECT_EQ(session->on_interrupt(), "T02thread:1;");
    EXPECT_EQ(session->handle("D"), std::vector<std::string>{"OK"});
    for (int tries = 0; tries < 100 && counter(1) == 0; ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GT(counter(1), 0u);
}

// Breakpoints and watchpoints are bounded: a client's Z packets cannot grow the stub without
// limit (past it an error reply), a point removed makes room, and inserting them stays fast.
TEST_P(RiscvTargetTest, BoundsTheNumberOfPoints) {
    for (uint64_t i = 0; i < RiscvTarget::kMaxBreakpoints; ++i)
        ASSERT_TRUE(target->insert_point(PointType::Software, 0x90000000 + 2 * i, 2)) << i;
    EXPECT_TRUE(target->insert_point(PointType::Hardware, 0x90000000, 2)) << "the same address again takes no room";
    EXPECT_FALSE(target->insert_point(PointType::Software, 0x80000000, 4));
    const auto refused = session->handle("Z0,80000000,4");
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0][0], 'E');
    EXPECT_TRUE(target->remove_point(PointType::Software, 0x90000002, 2));
    EXPECT_EQ(session->handle("Z0,80000000,4"), std::vector<std::string>{"OK"});
    for (uint64_t i = 0; i < RiscvTarget::kMaxWatchpoints; ++i)
        ASSERT_TRUE(target->insert_point(PointType::Write, 0xa0000000 + 8 * i, 8)) << i;
    EXPECT_FALSE(target->insert_point(PointType::Write, 0xb0000000, 8));
}

// As QEMU's stub: z of a breakpoint or watchpoint that is not set is an error (E22), one that
// is set is removed once; a Z0 the client repeats is still one breakpoint.
TEST_P(RiscvTargetTest, RemovingAPointThatIsNotSetIsAnError) {
    const std::vector<std::string> ok{"OK"}, invalid{"E22"};
    EXPECT_EQ(session->handle("z0,80000004,4"), invalid);
    EXPECT_EQ(session->handle("Z0,80000004,4"), ok);
    EXPECT_EQ(session->handle("Z0,80000004,4"), ok);
    EXPECT_EQ(session->handle("z1,80000004,4"), invalid) << "set as a software breakpoint, not a hardware one";
    EXPECT_EQ(session->handle("z0,80000004,4"), ok);
    EXPECT_EQ(session->handle("z0,80000004,4"), invalid);
    EXPECT_EQ(session->handle("z2,80001000,8"), invalid);
    EXPECT_EQ(session->handle("Z2,80001000,8"), ok);
    EXPECT_EQ(session->handle("z2,80001000,4"), invalid) << "another length";
    EXPECT_EQ(session->handle("z3,80001000,8"), invalid) << "another kind";
    EXPECT_EQ(session->handle("z2,80001000,8"), ok);
    EXPECT_EQ(session->handle("z2,80001000,8"), invalid);
    EXPECT_FALSE(machine->debug_points().has_breakpoints());
    EXPECT_FALSE(machine->debug_points().has_watchpoints());
}

INSTANTIATE_TEST_SUITE_P(InTurnAndParallel, RiscvTargetTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "InTurn" : "Parallel"; });

}  // namespace
}  // namespace trapeze::gdb
