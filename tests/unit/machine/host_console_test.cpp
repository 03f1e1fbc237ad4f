#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <future>
#include <string>
#include <thread>

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
    ::testing::internal::CaptureStderr();
    console.write('x');
    console.flush();
    for (int i = 0; i < 5000; ++i) console.write('y');  // past a full buffer, too
    console.flush();
    EXPECT_EQ(::testing::internal::GetCapturedStderr(),
              "trapeze: console output: Broken pipe: the guest's output is dropped from now on\n");
}

std::span<const uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A terminal left O_NONBLOCK (by another program) that is full for a moment: EAGAIN waits for
// it instead of dropping the output.
TEST_F(ConsoleOutput, AFullNonBlockingTerminalLosesNothing) {
    HostConsole console(m_fds[1]);
    std::string sent;
    for (int i = 0; i < 300000; ++i) sent.push_back(static_cast<char>('a' + i % 26));
    auto writer = std::async(std::launch::async, [&] {
        console.write(bytes_of(sent));
        console.flush();
    });
    std::string got;
    while (writer.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) got += read_all();
    got += read_all();
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent);
}

// A terminal that takes no output (`trapeze run | less`, not scrolled) holds the guest's output,
// but once quit is requested (a signal, Ctrl-A x) the machine's thread must not stay in write(2):
// what the terminal does not take is dropped and the machine stops, as QEMU does on a signal.
TEST_F(ConsoleOutput, ATerminalThatTakesNothingDoesNotHoldAQuit) {
    ASSERT_EQ(::fcntl(m_fds[1], F_SETFL, 0), 0);  // a blocking pipe, as stdout is
    HostConsole console(m_fds[1]);
    const std::string big(300000, 'z');  // far more than the pipe holds
    auto writer = std::async(std::launch::async, [&] {
        console.write(bytes_of(big));
        console.flush();
    });
    EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
        << "the output waits for its terminal until a quit";
    console.request_quit();
    const bool stopped = writer.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    EXPECT_TRUE(stopped) << "still writing 5 s after the quit";
    while (writer.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) read_all();  // never hang
    console.write('y');
    console.flush();  // returns at once: quitting, and the pipe is still full
}

}  // namespace
}  // namespace trapeze::machine
