// NetConfig: what `--net` asks for, parsed and validated before any device or socket exists.
//
//   user[,hostfwd=RULE]...[,mac=MAC]   user-mode networking (libslirp), QEMU's addresses:
//                                      network 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3,
//                                      the guest gets 10.0.2.15 by DHCP
//   tap=NAME[,mac=MAC]                 an existing or new host TAP interface
//
// RULE is QEMU's `[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT`. Unlike QEMU, an empty
// HOSTADDR means 127.0.0.1, not every interface: a forward reaches the guest from other
// machines only when asked for explicitly (`0.0.0.0`). An empty GUESTADDR is 10.0.2.15.
// MAC defaults to 52:54:00:12:34:56, QEMU's first NIC.
//
// Thread: any (plain values).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "ratelimit/rate_limiter_config.hpp"

namespace trapeze::virtio {

using MacAddress = std::array<uint8_t, 6>;

inline constexpr MacAddress kDefaultMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// IPv4 addresses in host byte order (10.0.2.15 is 0x0a00020f).
inline constexpr uint32_t kSlirpNetwork = 0x0a000200;   // 10.0.2.0
inline constexpr uint32_t kSlirpNetmask = 0xffffff00;   // /24
inline constexpr uint32_t kSlirpHost = 0x0a000202;      // 10.0.2.2, the gateway (and the host)
inline constexpr uint32_t kSlirpDns = 0x0a000203;       // 10.0.2.3
inline constexpr uint32_t kSlirpDhcpStart = 0x0a00020f; // 10.0.2.15, the guest's address

struct HostForward {
    bool udp = false;
    uint32_t host_addr = 0x7f000001;  // 127.0.0.1
    uint16_t host_port = 0;
    uint32_t guest_addr = kSlirpDhcpStart;
    uint16_t guest_port = 0;

    bool operator==(const HostForward&) const = default;
};

struct NetConfig {
    enum class Backend : uint8_t { User, Tap };

    Backend backend = Backend::User;
    std::string tap_name;                    // Backend::Tap
    std::vector<HostForward> host_forwards;  // Backend::User
    MacAddress mac = kDefaultMac;
    std::optional<ratelimit::RateLimiterConfig> rx_rate_limiter;  // frames to the guest
    std::optional<ratelimit::RateLimiterConfig> tx_rate_limiter;  // frames from the guest
};

// Parses the `--net` value described above. Errors begin "--net 'VALUE': " (once) and name the
// offending part.
Result<NetConfig> parse_net_option(std::string_view text);

// Parses one hostfwd RULE (without the `hostfwd=`).
Result<HostForward> parse_host_forward(std::string_view rule);

// "52:54:00:12:34:56"; unicast only (a multicast or all-zero MAC cannot be a NIC's address).
Result<MacAddress> parse_mac(std::string_view text);

std::string format_mac(const MacAddress& mac);
std::string format_ipv4(uint32_t addr);
std::string format_host_forward(const HostForward& fwd);

}  // namespace trapeze::virtio
