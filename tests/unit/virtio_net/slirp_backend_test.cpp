// SlirpBackend against the real libslirp, without any external network: DHCP is answered by
// slirp itself, and the host forward is exercised over host loopback.
#include "virtio/net/slirp_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/unique_fd.hpp"
#include "ring_guest.hpp"
#include "virtio/net/virtio_net.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr MacAddress kGuestMac = kDefaultMac;
constexpr uint32_t kXid = 0x12345678;

void put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
    v[at] = static_cast<uint8_t>(x >> 8);
    v[at + 1] = static_cast<uint8_t>(x);
}
void put32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
    for (size_t i = 0; i < 4; ++i) v[at + i] = static_cast<uint8_t>(x >> (24 - 8 * i));
}
uint16_t get16(const std::vector<uint8_t>& v, size_t at) { return static_cast<uint16_t>(v[at] << 8 | v[at + 1]); }
uint32_t get32(const std::vector<uint8_t>& v, size_t at) {
    return uint32_t{v[at]} << 24 | uint32_t{v[at + 1]} << 16 | uint32_t{v[at + 2]} << 8 | v[at + 3];
}

// RFC 791 header checksum over the 20-byte header at `at`.
uint16_t ip_checksum(const std::vector<uint8_t>& v, size_t at) {
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += get16(v, at + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// A DHCPDISCOVER (RFC 2131) as a fresh client broadcasts it: Ethernet + IPv4 + UDP 68->67 +
// BOOTP with the DHCP magic cookie and option 53 = DISCOVER, padded to the classic 576 bytes.
std::vector<uint8_t> dhcp_discover() {
    constexpr size_t kEth = 14, kIp = 20, kUdp = 8, kBootp = 236, kOptions = 312;
    std::vector<uint8_t> f(kEth + kIp + kUdp + kBootp + kOptions, 0);
    std::fill_n(f.begin(), 6, 0xff);                    // broadcast destination
    std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 6);
    put16(f, 12, 0x0800);                               // IPv4
    const size_t ip = kEth;
    f[ip] = 0x45;                                       // version 4, 5 words
    put16(f, ip + 2, static_cast<uint16_t>(f.size() - kEth));
    f[ip + 8] = 64;                                     // TTL
    f[ip + 9] = 17;                                     // UDP
    put32(f, ip + 12, 0);                               // from 0.0.0.0
    put32(f, ip + 16, 0xffffffff);                      // to 255.255.255.255
    put16(f, ip + 10, ip_checksum(f, ip));
    const size_t udp = ip + kIp;
    put16(f, udp, 68);
    put16(f, udp + 2, 67);
    put16(f, udp + 4, static_cast<uint16_t>(f.size() - udp));  // checksum 0: none
    const size_t bootp = udp + kUdp;
    f[bootp] = 1;                                       // BOOTREQUEST
    f[bootp + 1] = 1;                                   // Ethernet
    f[bootp + 2] = 6;                                   // hardware address length
    put32(f, bootp + 4, kXid);
    std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + static_cast<ptrdiff_t>(bootp + 28));  // chaddr
    const size_t opt = bootp + kBootp;
    put32(f, opt, 0x63825363);                          // magic cookie
    f[opt + 4] = 53;                                    // DHCP message type
    f[opt + 5] = 1;
    f[opt + 6] = 1;                                     // DISCOVER
    f[opt + 7] = 255;                                   // end
    return f;
}

// Whether `f` is a DHCPOFFER of 10.0.2.15 answering kXid; fills `why` otherwise.
bool is_dhcp_offer(const std::vector<uint8_t>& f, std::string& why) {
    if (f.size() < 14 + 20 + 8 + 236 + 7) return why = "frame too short", false;
    if (get16(f, 12) != 0x0800 || f[14 + 9] != 17) return why = "not UDP over IPv4", false;
    const size_t udp = 14 + size_t{f[14] & 0xfu} * 4;
    if (get16(f, udp) != 67 || get16(f, udp + 2) != 68) return why = "not from port 67 to 68", false;
    const size_t bootp = udp + 8;
    if (f[bootp] != 2 || get32(f, bootp + 4) != kXid) return why = "not a BOOTREPLY to our xid", false;
    if (get32(f, bootp + 16) != kSlirpDhcpStart) return why = "yiaddr is not 10.0.2.15", false;
    for (size_t o = bootp + 240; o + 2 < f.size() && f[o] != 255; o += 2u + f[o + 1]) {
        if (f[o] == 0) {
            --o;  // pad: one byte
            continue;
        }
        if (f[o] == 53) return f[o + 2] == 2 ? true : (why = "message type is not OFFER", false);
    }
    return why = "no DHCP message type option", false;
}

uint16_t free_loopback_port() {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

TEST(SlirpBackend, AnswersADhcpDiscoverWithAnOfferOf10_0_2_15) {
    auto backend = SlirpBackend::create({});
    ASSERT_TRUE(backend.ok()) << backend.error().message;
    std::vector<std::vector<uint8_t>> received;
    (*backend)->set_receiver([&](std::span<const uint8_t> f) { received.emplace_back(f.begin(), f.end()); });
    (*backend)->send(dhcp_discover());
    for (int i = 0; i < 100 && received.empty(); ++i) {
        (*backend)->poll();
        if (received.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(received.empty());
    std::string why;
    EXPECT_TRUE(is_dhcp_offer(received[0], why)) << why;
    // Addressed to the client's MAC (or broadcast), from slirp's own MAC.
    EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), received[0].begin()) ||
                std::all_of(received[0].begin(), received[0].begin() + 6, [](uint8_t b) { return b == 0xff; }));
}

TEST(SlirpBackend, DhcpOfferReachesTheGuestsReceiveRingThroughVirtioNet) {
    auto net = make_virtio_net(NetConfig{});
    ASSERT_TRUE(net.ok()) << net.error().message;
    RingGuest guest(2);
    guest.activate(**net);
    const Buf rx = guest.writable(1518 + VirtioNet::kHeaderSize);
    guest.post(VirtioNet::kRxQueue, {rx});
    std::vector<uint8_t> tx(VirtioNet::kHeaderSize, 0);
    const auto discover = dhcp_discover();
    tx.insert(tx.end(), discover.begin(), discover.end());
    guest.post(VirtioNet::kTxQueue, {guest.readable(tx)});
    (*net)->process_queue(VirtioNet::kTxQueue);
    for (int i = 0; i < 100 && guest.used_idx(VirtioNet::kRxQueue) == 0; ++i) {
        (*net)->poll();
        if (guest.used_idx(VirtioNet::kRxQueue) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(guest.used_idx(VirtioNet::kRxQueue), 1);
    const uint32_t len = guest.used(VirtioNet::kRxQueue, 0).len;
    ASSERT_GT(len, VirtioNet::kHeaderSize);
    const auto frame = guest.read(rx.gpa + VirtioNet::kHeaderSize, len - VirtioNet::kHeaderSize);
    std::string why;
    EXPECT_TRUE(is_dhcp_offer(frame, why)) << why;
}

TEST(SlirpBackend, HostForwardAcceptsAHostConnectionAndReachesForTheGuest) {
    const uint16_t port = free_loopback_port();
    ASSERT_NE(port, 0);
    auto fwd = parse_host_forward(fmt::format("tcp:127.0.0.1:{}-:22", port));
    ASSERT_TRUE(fwd.ok()) << fwd.error().message;
    auto backend = SlirpBackend::create({*fwd});
    ASSERT_TRUE(backend.ok()) << backend.error().message;
    std::vector<std::vector<uint8_t>> received;
    (*backend)->set_receiver([&](std::span<const uint8_t> f) { received.emplace_back(f.begin(), f.end()); });

    UniqueFd client(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);

    // slirp accepts, then tries to open the connection to 10.0.2.15:22: it asks who has
    // 10.0.2.15 (ARP) since it has never seen the guest, or sends the SYN directly.
    auto reaches_guest = [](const std::vector<uint8_t>& f) {
        if (f.size() >= 42 && get16(f, 12) == 0x0806) return get16(f, 20) == 1 && get32(f, 38) == kSlirpDhcpStart;
        if (f.size() >= 54 && get16(f, 12) == 0x0800 && f[23] == 6)
            return get32(f, 30) == kSlirpDhcpStart && get16(f, 36) == 22;
        return false;
    };
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {
        (*backend)->poll();
        seen = std::any_of(received.begin(), received.end(), reaches_guest);
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(seen) << received.size() << " frames from slirp, none towards 10.0.2.15:22";
}

TEST(SlirpBackend, HostForwardOnAPortInUseIsAnErrorNamingTheForward) {
    UniqueFd taken(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(taken.get(), 1), 0);
    ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    const uint16_t port = ntohs(a.sin_port);
    auto fwd = parse_host_forward(fmt::format("tcp:127.0.0.1:{}-:80", port));
    ASSERT_TRUE(fwd.ok());
    auto backend = SlirpBackend::create({*fwd});
    ASSERT_FALSE(backend.ok());
    EXPECT_NE(backend.error().message.find(fmt::format("127.0.0.1:{}", port)), std::string::npos)
        << backend.error().message;
}

TEST(SlirpBackend, IdleInstanceOffersItsSocketsAndATimeoutToTheMachinesPoll) {
    const uint16_t port = free_loopback_port();
    auto fwd = parse_host_forward(fmt::format("tcp:127.0.0.1:{}-:22", port));
    ASSERT_TRUE(fwd.ok());
    auto backend = SlirpBackend::create({*fwd});
    ASSERT_TRUE(backend.ok()) << backend.error().message;
    std::vector<pollfd> fds;
    (*backend)->fill_pollfds(fds);
    EXPECT_FALSE(fds.empty());  // at least the forward's listening socket
    (void)(*backend)->next_timeout_ns();
}

}  // namespace
}  // namespace trapeze::virtio::test
