// Listener (issue 27): QEMU's -gdb addresses parse or are refused with a reason, tcp::PORT
// listens on localhost only, connections are accepted from TCP and unix sockets, a port or
// socket in use is reported, a stale socket file is replaced and any other file left alone.
#include "gdb/listener.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

namespace trapeze::gdb {
namespace {

UniqueFd connect_tcp(uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
    return fd;
}

UniqueFd connect_unix(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
    return fd;
}

// Waits (up to 5 s) for a connection and accepts it.
UniqueFd accept_one(Listener& l) {
    pollfd p{l.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return UniqueFd();
    auto conn = l.accept();
    return conn ? std::move(*conn) : UniqueFd();
}

TEST(ListenAddress, ParsesQemuSyntax) {
    auto a = parse_listen_address("tcp::1234");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->kind, ListenAddress::Kind::Tcp);
    EXPECT_EQ(a->host, "127.0.0.1");  // not every interface, as QEMU would
    EXPECT_EQ(a->port, 1234);
    a = parse_listen_address("tcp:0.0.0.0:65535");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "0.0.0.0");
    EXPECT_EQ(a->port, 65535);
    a = parse_listen_address("tcp:[::1]:80");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    a = parse_listen_address("1234");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->kind, ListenAddress::Kind::Tcp);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 1234);
    a = parse_listen_address("unix:/tmp/gdb.sock");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->kind, ListenAddress::Kind::Unix);
    EXPECT_EQ(a->path, "/tmp/gdb.sock");
}

TEST(ListenAddress, RefusesBadAddressesWithAReason) {
    const struct {
        const char* spec;
        const char* says;
    } cases[] = {{"", "not a gdb address"},
                 {"udp::1234", "not a gdb address"},
                 {"tcp:1234", "no port"},
                 {"tcp::", "not a port number"},
                 {"tcp::12a", "not a port number"},
                 {"tcp::99999", "above 65535"},
                 {"tcp::-1", "not a port number"},
                 {"99999", "above 65535"},
                 {"unix:", "empty"},
                 {"tcp::1234,server,nowait", "options"}};
    for (const auto& c : cases) {
        const auto a = parse_listen_address(c.spec);
        ASSERT_FALSE(a) << c.spec;
        EXPECT_NE(a.error().message.find(c.says), std::string::npos) << c.spec << ": " << a.error().message;
    }
    EXPECT_FALSE(parse_listen_address("unix:" + std::string(200, 'x')));
}

TEST(Listener, AcceptsATcpConnectionOnLocalhost) {
    auto l = Listener::open("tcp::0");
    ASSERT_TRUE(l) << l.error().message;
    ASSERT_NE(l->port(), 0);
    EXPECT_EQ(l->description(), "127.0.0.1:" + std::to_string(l->port()));
    auto none = l->accept();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->valid());  // nobody waiting yet: not an error
    const UniqueFd client = connect_tcp(l->port());
    ASSERT_TRUE(client.valid());
    const UniqueFd conn = accept_one(*l);
    ASSERT_TRUE(conn.valid());
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    ASSERT_EQ(::getsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    EXPECT_NE(nodelay, 0);
    ASSERT_EQ(::write(client.get(), "+", 1), 1);
    char c = 0;
    EXPECT_EQ(::read(conn.get(), &c, 1), 1);
    EXPECT_EQ(c, '+');
}

TEST(Listener, ReportsAPortInUse) {
    auto first = Listener::open("tcp::0");
    ASSERT_TRUE(first);
    const auto second = Listener::open("tcp:127.0.0.1:" + std::to_string(first->port()));
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find(std::strerror(EADDRINUSE)), std::string::npos) << second.error().message;
}

class UnixListenerTest : public ::testing::Test {
protected:
    void SetUp() override { ::unlink(path.c_str()); }
    void TearDown() override { ::unlink(path.c_str()); }
    std::string path = ::testing::TempDir() + "gdb_listener_test." + std::to_string(::getpid());
};

TEST_F(UnixListenerTest, AcceptsAConnection) {
    auto l = Listener::open("unix:" + path);
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->description(), "unix:" + path);
    EXPECT_EQ(l->port(), 0);
    const UniqueFd client = connect_unix(path);
    ASSERT_TRUE(client.valid());
    EXPECT_TRUE(accept_one(*l).valid());
}

TEST_F(UnixListenerTest, RefusesASocketInUseAndReplacesAStaleOne) {
    {
        auto first = Listener::open("unix:" + path);
        ASSERT_TRUE(first);
        const auto second = Listener::open("unix:" + path);
        ASSERT_FALSE(second);
        EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
    }
    // The first listener closed; its file stayed behind and is taken over.
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    auto again = Listener::open("unix:" + path);
    ASSERT_TRUE(again) << again.error().message;
    const UniqueFd client = connect_unix(path);
    EXPECT_TRUE(accept_one(*again).valid());
}

TEST_F(UnixListenerTest, LeavesAFileThatIsNotASocketAlone) {
    std::ofstream(path) << "precious";
    const auto l = Listener::open("unix:" + path);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("not a socket"), std::string::npos) << l.error().message;
    std::string kept;
    std::ifstream(path) >> kept;
    EXPECT_EQ(kept, "precious");
}

}  // namespace
}  // namespace trapeze::gdb
