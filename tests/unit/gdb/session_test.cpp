// Session (issue 27) against a fake target: every packet gdb-multiarch sends to debug a kernel
// gets the reply the GDB manual's "Remote Protocol" chapter asks for, execution control steps
// and resumes the right thread, and malformed packets are refused without touching the target.
#include "gdb/session.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.hpp"
#include "fake_target.hpp"

namespace trapeze::gdb {
namespace {

using fake::FakeTarget;

class SessionTest : public ::testing::Test {
protected:
    // The one reply to `payload`.
    std::string one(std::string_view payload) {
        const auto replies = session.handle(payload);
        EXPECT_EQ(replies.size(), 1u) << payload;
        return replies.empty() ? "<none>" : replies.back();
    }
    // The text of a qRcmd's O packets; the final reply must be OK.
    std::string monitor(std::string_view command) {
        const auto replies = session.handle("qRcmd," + text_to_hex(command));
        EXPECT_FALSE(replies.empty());
        EXPECT_EQ(replies.back(), "OK");
        std::string text;
        for (size_t i = 0; i + 1 < replies.size(); ++i) {
            EXPECT_EQ(replies[i][0], 'O');
            EXPECT_LE(replies[i].size(), kMaxPacket);
            const auto bytes = hex_to_bytes(std::string_view(replies[i]).substr(1));
            EXPECT_TRUE(bytes);
            if (bytes) text.append(bytes->begin(), bytes->end());
        }
        return text;
    }
    void expect_untouched() {
        EXPECT_TRUE(target.steps.empty());
        EXPECT_EQ(target.resumes, 0);
        EXPECT_FALSE(target.bad_call);
    }

    FakeTarget target;
    Session session{target};
};

// --- connection, queries --------------------------------------------------------------------

TEST_F(SessionTest, AttachesWhenCreatedAndReportsWhereItStopped) {
    EXPECT_EQ(target.attaches, 1);
    EXPECT_FALSE(session.running());
    EXPECT_EQ(one("?"), "T05thread:1;");
}

TEST_F(SessionTest, AdvertisesOnlyWhatItImplements) {
    EXPECT_EQ(one("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vContSupported+;"
                  "QThreadEvents+;no-resumed+;xmlRegisters=i386"),
              "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+");
    EXPECT_EQ(one("qSupported"),
              "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+");
}

TEST_F(SessionTest, StopsAcknowledgingAfterQStartNoAckMode) {
    EXPECT_FALSE(session.no_ack());
    EXPECT_EQ(one("QStartNoAckMode"), "OK");
    EXPECT_TRUE(session.no_ack());
}

TEST_F(SessionTest, PagesTheTargetDescription) {
    std::string doc;
    int packets = 0;
    for (bool more = true; more; ++packets) {
        const std::string r = one(fmt::format("qXfer:features:read:target.xml:{:x},40", doc.size()));
        ASSERT_FALSE(r.empty());
        ASSERT_TRUE(r[0] == 'm' || r[0] == 'l') << r;
        ASSERT_LE(r.size(), 0x41u);
        more = r[0] == 'm';
        doc += r.substr(1);
    }
    EXPECT_EQ(doc, fake::target_xml());
    EXPECT_EQ(packets, static_cast<int>((doc.size() + 0x3f) / 0x40));
    EXPECT_EQ(one("qXfer:features:read:extra.xml:0,ffb"), "l<feature name=\"extra\"/>");
    EXPECT_EQ(one("qXfer:features:read:extra.xml:1000,ffb"), "l");
}

TEST_F(SessionTest, CapsATargetDescriptionChunk) {
    const std::string r = one("qXfer:features:read:target.xml:0,ffffffffffffffff");
    EXPECT_EQ(r, "l" + fake::target_xml());
}

TEST_F(SessionTest, RefusesUnknownAnnexesAndMalformedReads) {
    EXPECT_EQ(one("qXfer:features:read:nope.xml:0,100"), "E00");
    EXPECT_EQ(one("qXfer:features:read:target.xml:0"), "E01");
    EXPECT_EQ(one("qXfer:features:read:target.xml"), "E01");
    EXPECT_EQ(one("qXfer:features:read:target.xml:x,1"), "E01");
    EXPECT_EQ(one("qXfer:libraries:read::0,100"), "");  // an object we do not serve
}

TEST_F(SessionTest, AnswersThreadQueries) {
    EXPECT_EQ(one("qAttached"), "1");
    EXPECT_EQ(one("qAttached:1"), "1");
    EXPECT_EQ(one("qC"), "QC1");
    EXPECT_EQ(one("qfThreadInfo"), "m1,2");
    EXPECT_EQ(one("qsThreadInfo"), "l");
    EXPECT_EQ(one("qThreadExtraInfo,2"), text_to_hex("hart 1, S-mode"));
    EXPECT_EQ(one("qThreadExtraInfo,3"), "E01");
    EXPECT_EQ(one("qThreadExtraInfo,0"), "E01");
    EXPECT_EQ(one("T1"), "OK");
    EXPECT_EQ(one("T2"), "OK");
    EXPECT_EQ(one("T3"), "E01");
    EXPECT_EQ(one("T0"), "E01");
    EXPECT_EQ(one("Tx"), "E01");
}

TEST(Session, PagesALongThreadList) {
    FakeTarget target(1000);
    Session session(target);
    std::vector<std::string> ids;
    std::string r = session.handle("qfThreadInfo").at(0);
    for (int guard = 0; r != "l" && guard < 100; ++guard) {
        ASSERT_EQ(r[0], 'm');
        ASSERT_LE(r.size(), kMaxPacket);
        for (std::string_view rest = std::string_view(r).substr(1); !rest.empty();) {
            const size_t comma = rest.find(',');
            ids.emplace_back(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        r = session.handle("qsThreadInfo").at(0);
    }
    ASSERT_EQ(ids.size(), 1000u);
    EXPECT_EQ(ids.front(), "1");
    EXPECT_EQ(ids.back(), "3e8");
}

TEST_F(SessionTest, ChoosesTheThreadForRegistersWithHg) {
    EXPECT_EQ(one("Hg2"), "OK");
    EXPECT_EQ(one("qC"), "QC2");
    EXPECT_EQ(one("p0"), "1211111111111111");  // thread 2's register 0
    EXPECT_EQ(one("Hg0"), "OK");               // any thread: stays
    EXPECT_EQ(one("Hg-1"), "OK");
    EXPECT_EQ(one("qC"), "QC2");
    EXPECT_EQ(one("Hg3"), "E01");
    EXPECT_EQ(one("Hx1"), "E01");
    EXPECT_EQ(one("H"), "E01");
    EXPECT_EQ(one("Hgp1.1"), "E01");  // multiprocess ids were not negotiated
}

TEST_F(SessionTest, AnswersEmptyToWhatItDoesNotKnow) {
    EXPECT_EQ(one("vMustReplyEmpty"), "");
    EXPECT_EQ(one("qSymbol::"), "OK");
    EXPECT_EQ(one("qTStatus"), "");
    EXPECT_EQ(one("!"), "");
    EXPECT_EQ(one(""), "");
    EXPECT_EQ(one("vRun;"), "");
    EXPECT_EQ(one("QNonStop:1"), "");
    expect_untouched();
}

// --- registers ------------------------------------------------------------------------------

TEST_F(SessionTest, ReadsAndWritesTheGRegisters) {
    const std::string g = one("g");
    EXPECT_EQ(g, "1111111111111111222222222222222233333333333333334444444444444444");
    std::string changed = g;
    changed.replace(0, 16, "0102030405060708");
    EXPECT_EQ(one("G" + changed), "OK");
    EXPECT_EQ(target.regs[0].wide[0], 0x0807060504030201u);
    EXPECT_EQ(one("g"), changed);
}

TEST_F(SessionTest, WritesNoRegisterFromAMalformedG) {
    EXPECT_EQ(one("G" + std::string(62, '0')), "E01");  // one byte short
    EXPECT_EQ(one("G" + std::string(66, '0')), "E01");
    EXPECT_EQ(one("G" + std::string(63, '0')), "E01");
    EXPECT_EQ(one("G" + std::string(62, '0') + "zz"), "E01");
    EXPECT_EQ(one("gx"), "E01");
    EXPECT_EQ(target.regs[0].wide[0], 0x1111111111111111u);
}

TEST_F(SessionTest, ReadsAndWritesOneRegister) {
    EXPECT_EQ(one("p4"), "eeffc000");
    EXPECT_EQ(one("P4=01020304"), "OK");
    EXPECT_EQ(target.regs[0].csr, 0x04030201u);
    EXPECT_EQ(one("p3"), "4444444444444444");
}

TEST_F(SessionTest, RefusesMissingAndMalformedRegisters) {
    EXPECT_EQ(one("p5"), "E01");
    EXPECT_EQ(one("p100000000"), "E01");  // above any unsigned regnum
    EXPECT_EQ(one("p"), "E01");
    EXPECT_EQ(one("P4=01"), "E01");  // the target's size check
    EXPECT_EQ(one("P4"), "E01");
    EXPECT_EQ(one("P4="), "E01");
    EXPECT_EQ(one("P0=zz"), "E01");
    EXPECT_EQ(one("P=00"), "E01");
    EXPECT_EQ(target.regs[0].csr, 0xc0ffeeu);
}

// --- memory ---------------------------------------------------------------------------------

TEST_F(SessionTest, ReadsMemoryAndShortensReadsAtTheEnd) {
    EXPECT_EQ(one("m1000,4"), "00010203");
    EXPECT_EQ(one("m10fe,8"), "feff");  // the rest is unmapped: a short reply
    EXPECT_EQ(one("m0,4"), "E14");      // nothing readable
    EXPECT_EQ(one("mffffffffffffffff,10"), "E14");
    const std::string all = one("m1000,ffffffffffffffff");  // capped, then short
    EXPECT_EQ(all.size(), 2 * fake::kMemSize);
}

TEST_F(SessionTest, RefusesMalformedMemoryReads) {
    for (const char* p : {"m", "m1000", "m1000,", "m,4", "m1000,zz", "m10000000000000000,1", "m1000;4"})
        EXPECT_EQ(one(p), "E01") << p;
}

TEST_F(SessionTest, WritesMemoryFromHex) {
    EXPECT_EQ(one("M1001,2:abcd"), "OK");
    EXPECT_EQ(target.memory[1], 0xab);
    EXPECT_EQ(target.memory[2], 0xcd);
    EXPECT_EQ(one("M0,1:00"), "E14");
    EXPECT_EQ(one("M10ff,2:5a5a"), "E14");  // only partly writable
}

TEST_F(SessionTest, RefusesMalformedMemoryWrites) {
    for (const char* p :
         {"M1000,2:abc", "M1000,3:abcd", "M1000,2", "M1000:abcd", "M1000,2:zzzz", "Mffffffffffffffff,2:0000"})
        EXPECT_EQ(one(p), "E01") << p;
    EXPECT_EQ(target.memory[0], 0);
}

TEST_F(SessionTest, WritesBinaryMemory) {
    EXPECT_EQ(one("X1000,0:"), "OK");  // gdb's probe for X
    EXPECT_EQ(one(std::string("X1004,4:$#}\0", 12)), "OK");
    EXPECT_EQ(target.memory[4], '$');
    EXPECT_EQ(target.memory[5], '#');
    EXPECT_EQ(target.memory[6], '}');
    EXPECT_EQ(target.memory[7], 0);
    EXPECT_EQ(one("X1000,2:abc"), "E01");
    EXPECT_EQ(one("X1000,2"), "E01");
}

TEST_F(SessionTest, UsesPhysicalAddressesWhenAsked) {
    EXPECT_EQ(one("m80000000,2"), "E14");
    EXPECT_NE(monitor("phys on").find("physical"), std::string::npos);
    EXPECT_TRUE(session.physical());
    EXPECT_EQ(one("m80000000,2"), "0001");
    EXPECT_EQ(one("M80000000,1:ff"), "OK");
    EXPECT_EQ(target.memory[0], 0xff);
    EXPECT_EQ(one("m1000,2"), "E14");
    EXPECT_EQ(one("qqemu.PhyMemMode"), "1");
    EXPECT_EQ(one("Qqemu.PhyMemMode:0"), "OK");
    EXPECT_FALSE(session.physical());
    EXPECT_EQ(one("Qqemu.PhyMemMode:1"), "OK");
    EXPECT_TRUE(session.physical());
    EXPECT_EQ(one("Qqemu.PhyMemMode:2"), "E22");
    EXPECT_NE(monitor("phys off").find("virtual"), std::string::npos);
    EXPECT_EQ(one("qqemu.PhyMemMode"), "0");
    EXPECT_NE(monitor("phys maybe").find("usage"), std::string::npos);
}

// --- breakpoints and watchpoints ------------------------------------------------------------

TEST_F(SessionTest, InsertsAndRemovesPoints) {
    EXPECT_EQ(one("Z0,1000,4"), "OK");
    EXPECT_EQ(one("Z1,1004,2"), "OK");
    EXPECT_EQ(one("Z2,1100,8"), "OK");
    ASSERT_EQ(target.points.size(), 3u);
    EXPECT_EQ(target.points[2], std::tuple(PointType::Write, uint64_t{0x1100}, uint64_t{8}));
    EXPECT_EQ(one("z0,1000,4"), "OK");
    EXPECT_EQ(one("z0,1000,4"), "E22");  // no longer there: QEMU's EINVAL
    EXPECT_EQ(one("Z2,1100,0"), "E01");  // the target refuses
    EXPECT_EQ(target.points.size(), 2u);
}

TEST_F(SessionTest, AnswersEmptyForPointTypesTheTargetLacks) {
    EXPECT_EQ(one("Z3,1000,4"), "");
    EXPECT_EQ(one("z4,1000,4"), "");
    EXPECT_EQ(one("Z5,1000,4"), "");
    EXPECT_TRUE(target.points.empty());
    EXPECT_FALSE(target.bad_call);
}

TEST_F(SessionTest, RefusesMalformedPoints) {
    for (const char* p : {"Z0", "Z0,1000", "Z0,1000,", "Z0,zz,4", "Z,1000,4", "Z0,1000,4;X1,0", "Z0,1000,4,5",
                          "Z10000000000000000,1000,4"})
        EXPECT_EQ(one(p), "E01") << p;
    EXPECT_TRUE(target.points.empty());
}

// --- execution ------------------------------------------------------------------------------

// --- reverse execution (bs, bc) ----------------------------------------------------------------

TEST_F(SessionTest, AnswersEmptyToReversePacketsWhereTheTargetCannotReverse) {
    EXPECT_EQ(one("bs"), "");
    EXPECT_EQ(one("bc"), "");
    EXPECT_TRUE(target.reverse_calls.empty());
    expect_untouched();
}

TEST_F(SessionTest, ReversesTheContinueThreadAndSaysWhereTheHistoryEnds) {
    target.reversible = true;
    EXPECT_EQ(one("qSupported"), "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"
                                 "QStartNoAckMode+;ReverseStep+;ReverseContinue+");
    EXPECT_EQ(one("Hc2"), "OK");
    EXPECT_EQ(one("bs"), "T05thread:2;");
    target.next_reverse.history = StopReason::History::Begin;
    EXPECT_EQ(one("bs"), "T05thread:2;replaylog:begin;");
    target.next_reverse = StopReason{StopReason::Kind::Watch, 0, 5};
    target.next_reverse.point = PointType::Write;
    target.next_reverse.data_address = 0x80003000;
    EXPECT_EQ(one("bc"), "T05thread:1;watch:80003000;");
    EXPECT_EQ(one("bx"), "");  // no such packet
    EXPECT_EQ(target.reverse_calls, (std::vector<std::string>{"step 1", "step 1", "continue"}));
    EXPECT_EQ(one("?"), "T05thread:1;watch:80003000;");  // the last stop, as after any other
    expect_untouched();
}

TEST_F(SessionTest, ListsItsVContActions) {
    EXPECT_EQ(one("vCont?"), "vCont;c;C;s;S");
}

TEST_F(SessionTest, StepsOnlyTheThreadVContSteps) {
    // gdb's `stepi` on thread 2 with scheduler-locking off: the others are told to continue.
    EXPECT_EQ(one("vCont;s:2;c"), "T05thread:2;");
    ASSERT_EQ(target.steps.size(), 1u);
    EXPECT_EQ(target.steps[0].first, 1u);
    EXPECT_EQ(target.resumes, 0);
    EXPECT_FALSE(session.running());
    // The stepped thread is now current.
    EXPECT_EQ(one("qC"), "QC2");
    EXPECT_EQ(one("?"), "T05thread:2;");
    EXPECT_EQ(one("p3"), "4944444444444444");  // thread 2's pc, advanced by the step
}

TEST_F(SessionTest, StepsTheThreadOfTheFirstStepAction) {
    EXPECT_EQ(one("vCont;c:1;s:2"), "T05thread:2;");
    EXPECT_EQ(one("vCont;S05:1;s:2"), "T05thread:1;");  // the signal is not delivered
    ASSERT_EQ(target.steps.size(), 2u);
    EXPECT_EQ(target.steps[0].first, 1u);
    EXPECT_EQ(target.steps[1].first, 0u);
}

TEST_F(SessionTest, StepsTheCurrentThreadForAStepWithoutThread) {
    EXPECT_EQ(one("Hc2"), "OK");
    EXPECT_EQ(one("vCont;s"), "T05thread:2;");
    EXPECT_EQ(one("vCont;s:-1"), "T05thread:2;");
    EXPECT_EQ(one("vCont;s:0"), "T05thread:2;");
    EXPECT_EQ(target.steps.size(), 3u);
}

TEST_F(SessionTest, ResumesEveryThreadWhenNoneSteps) {
    EXPECT_TRUE(session.handle("vCont;c").empty());
    EXPECT_TRUE(session.running());
    EXPECT_EQ(target.resumes, 1);
    EXPECT_EQ(target.resumed, (ThreadSet{true, true}));
    EXPECT_TRUE(target.steps.empty());
    EXPECT_FALSE(target.bad_call);
}

TEST_F(SessionTest, ResumesEveryThreadForC) {
    EXPECT_TRUE(session.handle("c").empty());
    EXPECT_EQ(target.resumed, (ThreadSet{true, true}));
}

TEST_F(SessionTest, ResumesForVContWithSignalsAndThreads) {
    EXPECT_TRUE(session.handle("vCont;C02:1;c").empty());
    EXPECT_EQ(target.resumes, 1);
    EXPECT_EQ(target.resumed, (ThreadSet{true, true}));
    EXPECT_EQ(session.on_stop(StopReason{}), "T05thread:1;");
}

// gdb's software single-step of thread 2 (RISC-V): a breakpoint after the instruction, then
// `vCont;c:2`. Thread 1 must not run, or it could reach that breakpoint first.
TEST_F(SessionTest, ResumesOnlyTheThreadsVContNames) {
    EXPECT_TRUE(session.handle("vCont;c:2").empty());
    EXPECT_TRUE(session.running());
    EXPECT_EQ(target.resumed, (ThreadSet{false, true}));
    target.next_stop = StopReason{StopReason::Kind::Breakpoint, 1};
    EXPECT_EQ(session.on_stop(*target.take_stop()), "T05thread:2;");
    EXPECT_EQ(one("qC"), "QC2");
    EXPECT_TRUE(session.handle("vCont;C05:1").empty());  // the signal is not delivered
    EXPECT_EQ(target.resumed, (ThreadSet{true, false}));
    EXPECT_FALSE(target.bad_call);
}

TEST_F(SessionTest, GivesEachThreadItsLeftmostVContAction) {
    FakeTarget four(4);
    Session s(four);
    EXPECT_TRUE(s.handle("vCont;c:3;c:1").empty());
    EXPECT_EQ(four.resumed, (ThreadSet{true, false, true, false}));
    four.next_stop = StopReason{StopReason::Kind::Signal, 2};
    (void)s.on_stop(*four.take_stop());
    // A default action (no thread id) covers the threads no earlier action named.
    EXPECT_TRUE(s.handle("vCont;c:2;c").empty());
    EXPECT_EQ(four.resumed, (ThreadSet{true, true, true, true}));
    four.next_stop = StopReason{StopReason::Kind::Signal, 2};
    (void)s.on_stop(*four.take_stop());
    // Thread id 0, "any thread": the current one (thread 3 since the stop).
    EXPECT_TRUE(s.handle("vCont;c:0").empty());
    EXPECT_EQ(four.resumed, (ThreadSet{false, false, true, false}));
    four.next_stop = StopReason{};
    (void)s.on_stop(*four.take_stop());
    // c:2 wins over the later s:2: nothing steps.
    EXPECT_TRUE(s.handle("vCont;c:2;s:2").empty());
    EXPECT_EQ(four.resumed, (ThreadSet{false, true, false, false}));
    EXPECT_TRUE(four.steps.empty());
    EXPECT_FALSE(four.bad_call);
}

TEST_F(SessionTest, RefusesMalformedVCont) {
    for (const char* p : {"vCont", "vCont;", "vCont;x", "vCont;s:3", "vCont;Szz", "vCont;S5", "vCont;c:", "vCont;s;",
                          "vCont;t", "vCont;r1000,2000", "vCont;s:p1.1"})
        EXPECT_EQ(one(p), "E01") << p;
    expect_untouched();
}

TEST_F(SessionTest, StepsAndContinuesWithTheOldPackets) {
    EXPECT_EQ(one("s"), "T05thread:1;");
    EXPECT_EQ(one("Hc2"), "OK");
    EXPECT_EQ(one("S05"), "T05thread:2;");
    ASSERT_EQ(target.steps.size(), 2u);
    EXPECT_EQ(target.steps[1].first, 1u);
    EXPECT_TRUE(session.handle("C05").empty());
    EXPECT_EQ(target.resumes, 1);
}

TEST_F(SessionTest, RefusesToResumeAtAnotherAddress) {
    for (const char* p : {"c1000", "s1000", "C05;1000", "Szz", "C", "C100"}) EXPECT_EQ(one(p), "E01") << p;
    expect_untouched();
}

TEST_F(SessionTest, DropsPacketsWhileRunning) {
    ASSERT_TRUE(session.handle("c").empty());
    EXPECT_TRUE(session.handle("g").empty());
    EXPECT_TRUE(session.handle("s").empty());
    EXPECT_TRUE(target.steps.empty());
    EXPECT_FALSE(target.bad_call);
}

TEST_F(SessionTest, InterruptsARunningTarget) {
    EXPECT_EQ(session.on_interrupt(), "");  // stopped already: nothing to do
    EXPECT_EQ(target.interrupts, 0);
    ASSERT_TRUE(session.handle("c").empty());
    target.interrupt_thread = 1;
    EXPECT_EQ(session.on_interrupt(), "T02thread:2;");
    EXPECT_EQ(target.interrupts, 1);
    EXPECT_FALSE(session.running());
    EXPECT_EQ(one("qC"), "QC2");
    EXPECT_FALSE(target.bad_call);
}

TEST_F(SessionTest, TakesInterruptsOnAStepWhenNoIrqIsClear) {
    EXPECT_EQ(one("qqemu.sstepbits"), "ENABLE=1,NOIRQ=2,NOTIMER=4");
    EXPECT_EQ(one("qqemu.sstep"), "0x7");
    one("s");
    EXPECT_EQ(one("Qqemu.sstep=0x5"), "OK");
    EXPECT_EQ(one("qqemu.sstep"), "0x5");
    one("s");
    ASSERT_EQ(target.steps.size(), 2u);
    EXPECT_FALSE(target.steps[0].second);
    EXPECT_TRUE(target.steps[1].second);
    for (const char* bad : {"Qqemu.sstep=8", "Qqemu.sstep=0", "Qqemu.sstep=2", "Qqemu.sstep=", "Qqemu.sstep=0x"})
        EXPECT_EQ(one(bad), "E22") << bad;
    EXPECT_EQ(session.sstep_flags(), 5u);
}

// --- stop replies ---------------------------------------------------------------------------

TEST_F(SessionTest, ReportsBreakpointKindsOnlyToAGdbThatAskedForThem) {
    ASSERT_TRUE(session.handle("c").empty());
    const StopReason sw{StopReason::Kind::Breakpoint, 1, 5, PointType::Software};
    EXPECT_EQ(session.on_stop(sw), "T05thread:2;");
    one("qSupported:swbreak+;hwbreak+");
    ASSERT_TRUE(session.handle("c").empty());
    EXPECT_EQ(session.on_stop(sw), "T05thread:2;swbreak:;");
    ASSERT_TRUE(session.handle("c").empty());
    EXPECT_EQ(session.on_stop(StopReason{StopReason::Kind::Breakpoint, 0, 5, PointType::Hardware}),
              "T05thread:1;hwbreak:;");
}

TEST_F(SessionTest, ReportsWatchpointsWithTheirAddress) {
    const struct {
        PointType type;
        const char* reply;
    } cases[] = {{PointType::Write, "T05thread:2;watch:1234;"},
                 {PointType::Read, "T05thread:2;rwatch:1234;"},
                 {PointType::Access, "T05thread:2;awatch:1234;"}};
    for (const auto& c : cases) {
        ASSERT_TRUE(session.handle("c").empty());
        EXPECT_EQ(session.on_stop(StopReason{StopReason::Kind::Watch, 1, 5, c.type, 0x1234}), c.reply);
    }
}

TEST_F(SessionTest, ReportsAWatchpointHitByAStep) {
    target.next_step = StopReason{StopReason::Kind::Watch, 0, 5, PointType::Write, 0x1008};
    EXPECT_EQ(one("vCont;s:2"), "T05thread:2;watch:1008;");
}

TEST_F(SessionTest, ReportsTheGuestsEndAndFinishes) {
    ASSERT_TRUE(session.handle("c").empty());
    StopReason end{StopReason::Kind::Exited};
    end.exit_code = 0x103;
    EXPECT_EQ(session.on_stop(end), "W03");
    EXPECT_TRUE(session.finished());
    EXPECT_TRUE(session.handle("g").empty());
    session.on_disconnect();
    EXPECT_EQ(target.detaches, 0);
}

// --- detach, kill ---------------------------------------------------------------------------

TEST_F(SessionTest, DetachesOnD) {
    EXPECT_EQ(one("D"), "OK");
    EXPECT_EQ(target.detaches, 1);
    EXPECT_TRUE(session.finished());
    EXPECT_TRUE(session.handle("g").empty());
    session.on_disconnect();
    EXPECT_EQ(target.detaches, 1);
}

TEST_F(SessionTest, KillsOnKWithoutAReply) {
    EXPECT_TRUE(session.handle("k").empty());
    EXPECT_EQ(target.kills, 1);
    EXPECT_TRUE(session.finished());
}

TEST_F(SessionTest, DetachesWhenGdbGoesAway) {
    ASSERT_TRUE(session.handle("c").empty());
    session.on_disconnect();
    EXPECT_EQ(target.detaches, 1);
    EXPECT_TRUE(session.finished());
}

// --- monitor commands -----------------------------------------------------------------------

TEST_F(SessionTest, ListsSessionAndTargetCommandsInHelp) {
    const std::string help = monitor("help");
    EXPECT_NE(help.find("phys [on|off]"), std::string::npos);
    EXPECT_NE(help.find("sstep"), std::string::npos);
    EXPECT_NE(help.find("the fake board"), std::string::npos);
}

TEST_F(SessionTest, PassesOtherMonitorCommandsToTheTarget) {
    EXPECT_EQ(monitor("  info  "), "fake board, 2 harts\n");
    EXPECT_EQ(target.monitor_commands.back(), "info");
}

TEST_F(SessionTest, SendsLongMonitorOutputInSeveralPackets) {
    const auto replies = session.handle("qRcmd," + text_to_hex("big"));
    EXPECT_EQ(replies.size(), 3u);  // two O packets and OK
    EXPECT_EQ(monitor("big"), std::string(9000, 'b'));
}

TEST_F(SessionTest, AnswersAnUnknownMonitorCommandWithAHint) {
    EXPECT_EQ(monitor("frob 1"), "unknown monitor command 'frob 1': 'monitor help' lists them\n");
    EXPECT_EQ(one("qRcmd,zz"), "E01");
    EXPECT_EQ(one("qRcmd,abc"), "E01");
}

TEST_F(SessionTest, SetsStepFlagsFromAMonitorCommand) {
    EXPECT_NE(monitor("sstep").find("left pending"), std::string::npos);
    EXPECT_NE(monitor("sstep 1").find("taken"), std::string::npos);
    EXPECT_EQ(session.sstep_flags(), 1u);
    EXPECT_NE(monitor("sstep 9").find("not a hex value"), std::string::npos);
    EXPECT_EQ(session.sstep_flags(), 1u);
}

// --- robustness -----------------------------------------------------------------------------

TEST_F(SessionTest, EveryReplyFitsAPacket) {
    // Requests gdb would never size this way still get replies within the advertised size.
    for (const char* p : {"m1000,ffffffff", "qXfer:features:read:target.xml:0,ffffffff", "g", "qfThreadInfo"})
        for (const auto& r : session.handle(p)) EXPECT_LE(r.size(), kMaxPacket) << p;
}

}  // namespace
}  // namespace trapeze::gdb
