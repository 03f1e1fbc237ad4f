#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "machine/host_console.hpp"

namespace trapeze::machine {
namespace {

// A non-blocking pipe standing in for the terminal: what read_all() returns is what the
// console has written so far.
class ConsoleOutput : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(::pipe2(m_fds, O_NONBLOCK | O_CLOEXEC), 0);
        ASSERT_GE(::fcntl(m_fds[1], F_SETPIPE_SZ, 1 << 16), 0);
    }
    void TearDown() override {
        ::close(m_fds[0]);
        if (m_fds[1] >= 0) ::close(m_fds[1]);
    }
    std::string read_all() {
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(m_fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
        return out;
    }
    int m_fds[2] = {-1, -1};
};

TEST_F(ConsoleOutput, BytesReachTheTerminalWhenFlushed) {
    HostConsole console(m_fds[1]);
    for (char c : std::string("login: ")) console.write(static_cast<uint8_t>(c));
    EXPECT_EQ(read_all(), "");
    console.flush();
    EXPECT_EQ(read_all(), "login: ");
    console.flush();
    EXPECT_EQ(read_all(), "");
}

TEST_F(ConsoleOutput, AFullBufferIsWrittenWithoutAFlushAndNothingIsLost) {
    HostConsole console(m_fds[1]);
    std::string sent;
    for (int i = 0; i < 10000; ++i) {
        sent.push_back(static_cast<char>('a' + i % 26));
        console.write(static_cast<uint8_t>(sent.back()));
    }
    const std::string early = read_all();
    EXPECT_GE(early.size(), 8192u);
    console.flush();
    EXPECT_EQ(early + read_all(), sent);
}

TEST_F(ConsoleOutput, SpansSmallAndLargeKeepTheirOrder) {
    HostConsole console(m_fds[1]);
    const std::string head = "head:";
    const std::string big(20000, 'b');  // longer than the buffer: written straight through
    const std::string tail = ":tail";
    auto bytes = [](const std::string& s) { return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
    console.write(bytes(head));
    console.write(bytes(big));
    console.write(bytes(tail));
    const std::string early = read_all();
    EXPECT_EQ(early, head + big) << "the large span went out at once, after what was queued before it";
    console.flush();
    EXPECT_EQ(early + read_all(), head + big + tail);
}

TEST_F(ConsoleOutput, StopFlushes) {
    HostConsole console(m_fds[1]);
    console.write('x');
    console.stop();
    EXPECT_EQ(read_all(), "x");
}

// trapeze ignores SIGPIPE (main), so a write to a reader that went away fails with EPIPE.
TEST_F(ConsoleOutput, AClosedTerminalLosesTheOutputNotTheMachine) {
    std::signal(SIGPIPE, SIG_IGN);
    ::close(m_fds[0]);
    m_fds[0] = ::open("/dev/null", O_RDONLY | O_NONBLOCK);  // for TearDown
    HostConsole console(m_fds[1]);
    console.write('x');
    console.flush();
    for (int i = 0; i < 5000; ++i) console.write('y');  // past a full buffer, too
    console.flush();
    SUCCEED();
}

}  // namespace
}  // namespace trapeze::machine
