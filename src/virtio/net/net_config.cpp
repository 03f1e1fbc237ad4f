#include "virtio/net/net_config.hpp"

#include <net/if.h>

#include <charconv>
#include <optional>

namespace trapeze::virtio {

namespace {

// Splits at the first `sep`: ("a:b", ':') -> ("a", "b"); no separator -> (text, nullopt).
std::pair<std::string_view, std::optional<std::string_view>> split_once(std::string_view text, char sep) {
    const size_t at = text.find(sep);
    if (at == std::string_view::npos) return {text, std::nullopt};
    return {text.substr(0, at), text.substr(at + 1)};
}

std::optional<uint32_t> parse_uint(std::string_view text, int base, uint32_t max) {
    uint32_t v = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v, base);
    if (text.empty() || ec != std::errc() || ptr != end || v > max) return std::nullopt;
    return v;
}

std::optional<uint16_t> parse_port(std::string_view text) {
    const auto v = parse_uint(text, 10, 65535);
    if (!v || *v == 0) return std::nullopt;
    return static_cast<uint16_t>(*v);
}

// Dotted quad, four decimal parts 0..255.
std::optional<uint32_t> parse_ipv4(std::string_view text) {
    uint32_t addr = 0;
    for (int i = 0; i < 4; ++i) {
        const auto [part, rest] = split_once(text, '.');
        if ((i < 3) != rest.has_value()) return std::nullopt;
        const auto v = parse_uint(part, 10, 255);
        if (!v || part.size() > 3) return std::nullopt;
        addr = (addr << 8) | *v;
        text = rest.value_or("");
    }
    return addr;
}

// `[ADDR]:PORT` of a forward rule; an empty ADDR keeps `addr` as it is.
Result<void> parse_endpoint(std::string_view text, const char* side, uint32_t& addr, uint16_t& port) {
    const auto [addr_text, port_text] = split_once(text, ':');
    if (!port_text) return make_error("{} side '{}' is not ADDRESS:PORT", side, text);
    if (!addr_text.empty()) {
        const auto a = parse_ipv4(addr_text);
        if (!a) return make_error("{} address '{}' is not an IPv4 address", side, addr_text);
        addr = *a;
    }
    const auto p = parse_port(*port_text);
    if (!p) return make_error("{} port '{}' is not a number in 1..65535", side, *port_text);
    port = *p;
    return ok();
}

Result<void> check_tap_name(std::string_view name) {
    if (name.empty()) return make_error("tap= needs an interface name");
    if (name.size() >= IFNAMSIZ) return make_error("tap name '{}' is longer than {} characters", name, IFNAMSIZ - 1);
    for (const char c : name) {
        if (c == '/' || c == ':' || c <= ' ' || c > '~')
            return make_error("tap name '{}' contains '{}', which an interface name cannot", name, c);
    }
    return ok();
}

}  // namespace

Result<HostForward> parse_host_forward(std::string_view rule) {
    HostForward fwd;
    const auto [proto, rest] = split_once(rule, ':');
    if (!rest) return make_error("hostfwd '{}': expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", rule);
    if (proto == "udp") {
        fwd.udp = true;
    } else if (proto != "tcp" && !proto.empty()) {
        return make_error("hostfwd '{}': protocol '{}' is neither tcp nor udp", rule, proto);
    }
    const auto [host, guest] = split_once(*rest, '-');
    if (!guest) return make_error("hostfwd '{}': missing '-' between the host and guest sides", rule);
    auto r = parse_endpoint(host, "host", fwd.host_addr, fwd.host_port);
    if (!r) return std::move(r).context(fmt::format("hostfwd '{}'", rule)).error();
    r = parse_endpoint(*guest, "guest", fwd.guest_addr, fwd.guest_port);
    if (!r) return std::move(r).context(fmt::format("hostfwd '{}'", rule)).error();
    // slirp can only forward to an address on its own network, and not to its own services.
    if ((fwd.guest_addr & kSlirpNetmask) != kSlirpNetwork || fwd.guest_addr == kSlirpHost ||
        fwd.guest_addr == kSlirpDns || fwd.guest_addr == kSlirpNetwork || fwd.guest_addr == (kSlirpNetwork | 0xff))
        return make_error("hostfwd '{}': guest address {} is not a guest's address in 10.0.2.0/24", rule,
                          format_ipv4(fwd.guest_addr));
    return fwd;
}

Result<MacAddress> parse_mac(std::string_view text) {
    MacAddress mac{};
    std::string_view left = text;  // the message quotes all of text, not the part left to parse
    for (size_t i = 0; i < mac.size(); ++i) {
        const auto [part, rest] = split_once(left, ':');
        const auto v = parse_uint(part, 16, 0xff);
        if (!v || part.size() != 2 || (i + 1 < mac.size()) != rest.has_value())
            return make_error("MAC address '{}' is not six hex bytes like 52:54:00:12:34:56", text);
        mac[i] = static_cast<uint8_t>(*v);
        left = rest.value_or("");
    }
    if ((mac[0] & 1) != 0) return make_error("MAC address {} is a multicast address", format_mac(mac));
    if (mac == MacAddress{}) return make_error("MAC address 00:00:00:00:00:00 is not a valid address");
    return mac;
}

namespace {

// The messages name what is wrong in `text`; parse_net_option() names the option once, before them.
Result<NetConfig> parse_net(std::string_view text) {
    NetConfig cfg;
    auto [kind, rest] = split_once(text, ',');
    const auto [key, value] = split_once(kind, '=');
    if (key == "user" && !value) {
        cfg.backend = NetConfig::Backend::User;
    } else if (key == "tap" && value) {
        cfg.backend = NetConfig::Backend::Tap;
        TRAPEZE_TRY(check_tap_name(*value));
        cfg.tap_name = std::string(*value);
    } else {
        return make_error("expected user[,hostfwd=...][,mac=...] or tap=NAME[,mac=...]");
    }
    bool mac_seen = false;
    while (rest) {
        const auto [item, next] = split_once(*rest, ',');
        rest = next;
        const auto [k, v] = split_once(item, '=');
        if (k == "hostfwd" && v) {
            if (cfg.backend != NetConfig::Backend::User) return make_error("hostfwd needs the user backend");
            TRAPEZE_TRY_ASSIGN(fwd, parse_host_forward(*v));
            cfg.host_forwards.push_back(fwd);
        } else if (k == "mac" && v) {
            if (mac_seen) return make_error("mac given twice");
            TRAPEZE_TRY_ASSIGN(mac, parse_mac(*v));
            cfg.mac = mac;
            mac_seen = true;
        } else {
            return make_error("unknown option '{}' (expected hostfwd=... or mac=...)", item);
        }
    }
    return cfg;
}

}  // namespace

Result<NetConfig> parse_net_option(std::string_view text) {
    auto cfg = parse_net(text);
    if (!cfg) return std::move(cfg).context(fmt::format("--net '{}'", text));
    return cfg;
}

std::string format_mac(const MacAddress& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string format_ipv4(uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string format_host_forward(const HostForward& f) {
    return fmt::format("{}:{}:{}-{}:{}", f.udp ? "udp" : "tcp", format_ipv4(f.host_addr), f.host_port,
                       format_ipv4(f.guest_addr), f.guest_port);
}

}  // namespace trapeze::virtio
