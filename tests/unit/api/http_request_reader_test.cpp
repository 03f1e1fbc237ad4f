// HttpRequestReader (issue 22): requests come whole however the bytes are split, several may
// share a connection, and what breaks the protocol or the limits is refused with a reason.
#include <gtest/gtest.h>

#include <string>

#include "api/http_request_reader.hpp"

namespace trapeze::api {
namespace {

TEST(HttpRequestReader, ReadsARequestFedOneByteAtATime) {
    HttpRequestReader r;
    std::string req = "PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"a\": true}";
    for (size_t i = 0; i + 1 < req.size(); ++i) {
        r.feed(req.substr(i, 1));
        ASSERT_EQ(r.next(), HttpRequestReader::Status::NeedMore) << i;
    }
    r.feed(req.substr(req.size() - 1));
    ASSERT_EQ(r.next(), HttpRequestReader::Status::Ready);
    const HttpRequest got = r.take();
    EXPECT_EQ(got.method, "PUT");
    EXPECT_EQ(got.path, "/machine-config");
    EXPECT_EQ(got.body, "{\"a\": true}");
    EXPECT_TRUE(got.keep_alive);
}

TEST(HttpRequestReader, ServesPipelinedRequestsInOrder) {
    HttpRequestReader r;
    r.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /version?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_EQ(r.next(), HttpRequestReader::Status::Ready);
    EXPECT_EQ(r.take().path, "/");
    ASSERT_EQ(r.next(), HttpRequestReader::Status::Ready);
    const HttpRequest second = r.take();
    EXPECT_EQ(second.path, "/version");
    EXPECT_FALSE(second.keep_alive);
    EXPECT_EQ(r.next(), HttpRequestReader::Status::NeedMore);
}

TEST(HttpRequestReader, RefusesABodyOverTheLimit) {
    HttpRequestReader r(100);
    r.feed("PUT /drives/x HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
    EXPECT_EQ(r.next(), HttpRequestReader::Status::Bad);
    EXPECT_NE(r.error().find("larger than the limit of 100"), std::string::npos) << r.error();
}

TEST(HttpRequestReader, RefusesHeadersOverTheLimitWithoutKeepingThem) {
    HttpRequestReader r;
    r.feed("GET / HTTP/1.1\r\nX-Long: ");
    EXPECT_EQ(r.next(), HttpRequestReader::Status::NeedMore);
    r.feed(std::string(HttpRequestReader::kMaxHeader + 10, 'a'));
    EXPECT_EQ(r.next(), HttpRequestReader::Status::Bad);
    EXPECT_NE(r.error().find("headers"), std::string::npos) << r.error();
}

TEST(HttpRequestReader, RefusesGarbage) {
    HttpRequestReader r;
    r.feed("\x01\x02 not http\r\n\r\n");
    EXPECT_EQ(r.next(), HttpRequestReader::Status::Bad);
    EXPECT_FALSE(r.error().empty());
}

}  // namespace
}  // namespace trapeze::api
