// ApiServer (issue 22) on a real unix socket: keep-alive connections answered in order, a
// malformed or oversized request answered 400 and its connection closed, the server still
// serving others afterwards, a full table of stalled connections giving way to a new client,
// and a stale socket path refused.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "api/api_server.hpp"

namespace trapeze::api {
namespace {

int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads until `count` responses (by their status lines) arrived or the peer closed.
std::string read_responses(int fd, int count) {
    std::string got;
    char buf[4096];
    while (true) {
        int seen = 0;
        for (size_t p = got.find("HTTP/1.1 "); p != std::string::npos; p = got.find("HTTP/1.1 ", p + 1)) ++seen;
        if (seen >= count && got.size() >= 4 && got.compare(got.size() - 4, 4, "\r\n\r\n") == 0) break;
        if (seen >= count && got.find("}") != std::string::npos && got.back() == '}') break;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

class ApiServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        path = ::testing::TempDir() + "api_server_test." + std::to_string(::getpid());
        ::unlink(path.c_str());
        auto s = ApiServer::bind(path, [](const HttpRequest& r) {
            if (r.path == "/") return HttpResponse::json(R"({"ok":true})");
            return HttpResponse::no_content();
        }, 256);
        ASSERT_TRUE(s) << s.error().message;
        server = std::move(*s);
        ASSERT_TRUE(server->start());
    }
    std::string path;
    std::unique_ptr<ApiServer> server;
};

TEST_F(ApiServerTest, AnswersPipelinedRequestsInOrderOnOneConnection) {
    const int fd = connect_to(path);
    ASSERT_GE(fd, 0);
    const std::string two = "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(::write(fd, two.data(), two.size()), static_cast<ssize_t>(two.size()));
    const std::string got = read_responses(fd, 2);
    const auto first = got.find("HTTP/1.1 204");
    const auto second = got.find("HTTP/1.1 200");
    EXPECT_NE(first, std::string::npos) << got;
    EXPECT_NE(second, std::string::npos) << got;
    EXPECT_LT(first, second);
    EXPECT_NE(got.find(R"({"ok":true})"), std::string::npos);
    ::close(fd);
}

TEST_F(ApiServerTest, AnOversizedBodyGets400AndTheServerGoesOn) {
    const int fd = connect_to(path);
    ASSERT_GE(fd, 0);
    const std::string big = "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x');
    (void)!::write(fd, big.data(), big.size());
    const std::string got = read_responses(fd, 1);
    EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
    EXPECT_NE(got.find("fault_message"), std::string::npos) << got;
    // The server reads and drops what else comes on that connection, and answers nothing more.
    const std::string more = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    (void)!::write(fd, more.data(), more.size());
    ::shutdown(fd, SHUT_WR);
    char c;
    EXPECT_EQ(::read(fd, &c, 1), 0);  // closed after our end of input, with nothing more sent
    ::close(fd);
    const int again = connect_to(path);
    ASSERT_GE(again, 0);
    const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    (void)!::write(again, get.data(), get.size());
    EXPECT_NE(read_responses(again, 1).find("HTTP/1.1 200"), std::string::npos);
    ::close(again);
}

// Every place taken by clients that connect and stall (half a request, or nothing): a new
// client is still answered, once the longest-stalled connection has waited kEvictAfter, and that
// one is closed; the others stay open. Connections that finish requests are not the ones to go.
TEST_F(ApiServerTest, StalledConnectionsGiveWayToANewClient) {
    std::vector<int> stalled;
    for (size_t i = 0; i < ApiServer::kMaxConnections; ++i) {
        const int fd = connect_to(path);
        ASSERT_GE(fd, 0);
        // One request answered first: the connection is then the server's, not in its backlog.
        const std::string first = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        ASSERT_EQ(::write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()));
        ASSERT_NE(read_responses(fd, 1).find("HTTP/1.1 200"), std::string::npos);
        const std::string half = i % 2 ? "PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{" : "";
        if (!half.empty()) {
            ASSERT_EQ(::write(fd, half.data(), half.size()), static_cast<ssize_t>(half.size()));
        }
        stalled.push_back(fd);
    }
    const int fresh = connect_to(path);
    ASSERT_GE(fresh, 0);
    const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(::write(fresh, get.data(), get.size()), static_cast<ssize_t>(get.size()));
    timeval five{5, 0};
    ::setsockopt(fresh, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    EXPECT_NE(read_responses(fresh, 1).find("HTTP/1.1 200"), std::string::npos);
    size_t closed = 0;
    for (const int fd : stalled) {
        char c;
        if (::recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
        ::close(fd);
    }
    EXPECT_EQ(closed, 1u) << "one stalled connection gives way per waiting client";
    ::close(fresh);
}

TEST_F(ApiServerTest, RefusesASocketPathThatExists) {
    auto second = ApiServer::bind(path, [](const HttpRequest&) { return HttpResponse::no_content(); });
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace trapeze::api
