#include "virtio/net/net_config.hpp"

#include <gtest/gtest.h>

namespace trapeze::virtio::test {
namespace {

TEST(NetOption, UserAloneIsSlirpWithTheDefaultMac) {
    auto cfg = parse_net_option("user");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg.value().backend, NetConfig::Backend::User);
    EXPECT_TRUE(cfg.value().host_forwards.empty());
    EXPECT_EQ(cfg.value().mac, kDefaultMac);
}

TEST(NetOption, HostForwardsAreRepeatableAndKeepTheirOrder) {
    auto cfg = parse_net_option("user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-10.0.2.15:53");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_EQ(cfg.value().host_forwards.size(), 2u);
    EXPECT_EQ(cfg.value().host_forwards[0], (HostForward{false, 0x7f000001, 2222, kSlirpDhcpStart, 22}));
    EXPECT_EQ(cfg.value().host_forwards[1], (HostForward{true, 0x7f000001, 5353, kSlirpDhcpStart, 53}));
}

TEST(NetOption, HostForwardDefaultsToTcpAndLoopback) {
    auto fwd = parse_host_forward("::8080-:80");
    ASSERT_TRUE(fwd.ok()) << fwd.error().message;
    EXPECT_FALSE(fwd.value().udp);
    EXPECT_EQ(format_host_forward(fwd.value()), "tcp:127.0.0.1:8080-10.0.2.15:80");
}

TEST(NetOption, HostForwardMayListenOnEveryInterfaceWhenAskedTo) {
    auto fwd = parse_host_forward("tcp:0.0.0.0:8080-10.0.2.20:80");
    ASSERT_TRUE(fwd.ok()) << fwd.error().message;
    EXPECT_EQ(fwd.value().host_addr, 0u);
    EXPECT_EQ(fwd.value().guest_addr, 0x0a000214u);
}

TEST(NetOption, MacIsConfigurable) {
    auto cfg = parse_net_option("user,mac=02:aa:BB:0c:0d:0e");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg.value().mac, (MacAddress{0x02, 0xaa, 0xbb, 0x0c, 0x0d, 0x0e}));
    EXPECT_EQ(format_mac(cfg.value().mac), "02:aa:bb:0c:0d:0e");
}

TEST(NetOption, TapTakesAnInterfaceNameAndAMac) {
    auto cfg = parse_net_option("tap=tap0,mac=52:54:00:00:00:01");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg.value().backend, NetConfig::Backend::Tap);
    EXPECT_EQ(cfg.value().tap_name, "tap0");
    EXPECT_EQ(cfg.value().mac[5], 1);
}

// Each bad input and a piece of the message that must explain it.
struct BadInput {
    const char* text;
    const char* says;
};

class NetOptionRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(NetOptionRejects, WithAMessageNamingTheProblem) {
    auto cfg = parse_net_option(GetParam().text);
    ASSERT_FALSE(cfg.ok()) << GetParam().text;
    const std::string& message = cfg.error().message;
    EXPECT_NE(message.find(GetParam().says), std::string::npos) << message;
    // The option and its value once, first: trapeze prints the message as it is.
    EXPECT_EQ(message.rfind("--net '" + std::string(GetParam().text) + "': ", 0), 0u) << message;
    EXPECT_EQ(message.find("--net", 1), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    BadInputs, NetOptionRejects,
    ::testing::Values(BadInput{"", "expected user"}, BadInput{"slirp", "expected user"},
                      BadInput{"user=1", "expected user"}, BadInput{"tap", "expected user"},
                      BadInput{"tap=", "needs an interface name"},
                      BadInput{"tap=a-very-long-interface-name", "longer than 15"},
                      BadInput{"tap=a/b", "contains '/'"},
                      BadInput{"user,foo=1", "unknown option 'foo=1'"},
                      BadInput{"user,", "unknown option ''"},
                      BadInput{"tap=tap0,hostfwd=tcp::1-:2", "needs the user backend"},
                      BadInput{"user,hostfwd=tcp:127.0.0.1:2222", "missing '-'"},
                      BadInput{"user,hostfwd=sctp::1-:2", "neither tcp nor udp"},
                      BadInput{"user,hostfwd=2222-22", "expected [tcp|udp]"},
                      BadInput{"user,hostfwd=tcp::0-:22", "host port '0'"},
                      BadInput{"user,hostfwd=tcp::65536-:22", "host port '65536'"},
                      BadInput{"user,hostfwd=tcp::22x-:22", "host port '22x'"},
                      BadInput{"user,hostfwd=tcp::2222-:", "guest port ''"},
                      BadInput{"user,hostfwd=tcp:1.2.3:2222-:22", "host address '1.2.3'"},
                      BadInput{"user,hostfwd=tcp:1.2.3.256:2222-:22", "host address"},
                      BadInput{"user,hostfwd=tcp::2222-192.168.1.5:22", "not a guest's address"},
                      BadInput{"user,hostfwd=tcp::2222-10.0.2.2:22", "not a guest's address"},
                      BadInput{"user,hostfwd=tcp::2222-22", "guest side '22'"},
                      BadInput{"user,mac=52:54:00:12:34", "six hex bytes"},
                      BadInput{"user,mac=52:54:00:12:34:5g", "six hex bytes"},
                      BadInput{"user,mac=52:54:00:12:34:56:78", "six hex bytes"},
                      BadInput{"user,mac=01:00:5e:00:00:01", "multicast"},
                      BadInput{"user,mac=00:00:00:00:00:00", "not a valid address"},
                      BadInput{"user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac given twice"}));

}  // namespace
}  // namespace trapeze::virtio::test
