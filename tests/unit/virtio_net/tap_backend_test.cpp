// TapBackend against a real TAP interface, inside a network namespace of the test's own (so the
// host's networking is never touched). Skipped where namespaces or /dev/net/tun are unavailable.
#include "virtio/net/tap_backend.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/unique_fd.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint16_t kEtherType = 0x88b5;  // IEEE 802 local experimental: nothing else sends it
constexpr const char* kTapName = "trapeze-t0";

enum ChildResult : int { kPass = 0, kSkip = 77, kOpenFailed = 1, kUpFailed, kPacketFailed, kTxLost, kRxLost };

std::vector<uint8_t> test_frame(uint8_t tag) {
    std::vector<uint8_t> f(60, tag);
    std::fill_n(f.begin(), 6, 0xff);  // broadcast, so no MAC filtering applies
    const uint8_t src[6] = {0x02, 0, 0, 0, 0, tag};
    std::copy(src, src + 6, f.begin() + 6);
    f[12] = kEtherType >> 8;
    f[13] = kEtherType & 0xff;
    return f;
}

// Runs in a child that owns a fresh network namespace; returns a ChildResult.
int tap_round_trip() {
    if (::unshare(CLONE_NEWNET) != 0) return kSkip;
    auto tap = TapBackend::open(kTapName);
    if (!tap) return std::strstr(tap.error().message.c_str(), "permission") ? kSkip : kOpenFailed;
    UniqueFd ctl(::socket(AF_INET, SOCK_DGRAM, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, kTapName, IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_UP;
    if (::ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0) return kUpFailed;
    UniqueFd pkt(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(kEtherType)));
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(kEtherType);
    ll.sll_ifindex = static_cast<int>(::if_nametoindex(kTapName));
    if (!pkt.valid() || ::bind(pkt.get(), reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) return kPacketFailed;

    // Guest -> host: what the backend sends arrives on the interface.
    const auto out = test_frame(1);
    (*tap)->send(out);
    std::vector<uint8_t> buf(2048);
    ssize_t n = -1;
    for (int i = 0; i < 200 && n < 0; ++i) {
        n = ::recv(pkt.get(), buf.data(), buf.size(), 0);
        if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (n != static_cast<ssize_t>(out.size()) || !std::equal(out.begin(), out.end(), buf.begin())) return kTxLost;

    // Host -> guest: what the interface transmits comes out of poll().
    std::vector<std::vector<uint8_t>> received;
    (*tap)->set_receiver([&](std::span<const uint8_t> f) {
        if (f.size() >= 14 && f[12] == (kEtherType >> 8) && f[13] == (kEtherType & 0xff)) received.emplace_back(f.begin(), f.end());
    });
    const auto in = test_frame(2);
    if (::sendto(pkt.get(), in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&ll), sizeof ll) < 0) return kPacketFailed;
    for (int i = 0; i < 200 && received.empty(); ++i) {
        (*tap)->poll();
        if (received.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return !received.empty() && received[0] == in ? kPass : kRxLost;
}

TEST(TapBackend, FramesCrossATapInterfaceInBothDirections) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(tap_round_trip());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == kSkip) GTEST_SKIP() << "no network namespace or no permission for TAP here";
    EXPECT_EQ(WEXITSTATUS(status), kPass) << "1 open, 2 up, 3 packet socket, 4 tx lost, 5 rx lost";
}

TEST(TapBackend, TooLongInterfaceNameIsAClearError) {
    auto tap = TapBackend::open("a-name-longer-than-ifnamsiz");
    ASSERT_FALSE(tap.ok());
    EXPECT_NE(tap.error().message.find("invalid interface name"), std::string::npos) << tap.error().message;
}

}  // namespace
}  // namespace trapeze::virtio::test
