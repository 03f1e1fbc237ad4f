// libFuzzer target: the command-line option parsers, `--disk` (machine::parse_disk_option)
// and `--net` (virtio::parse_net_option, with its hostfwd rules and MAC addresses).
//
// Input: byte 0 % 4 picks the parser (0 --disk, 1 --net, 2 one hostfwd rule, 3 a MAC); the
// rest is the option text.
//
// Checked: a failure says why; what a parser accepts is what the option's documentation
// allows (a disk id of at most 20 bytes, a TAP name Linux would take, hostfwd only with the
// user backend, forwards to a guest address of 10.0.2.0/24 with non-zero ports, a unicast
// non-zero MAC), and writing an accepted value back as option text parses to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "machine/machine_config.hpp"
#include "virtio/net/net_config.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

namespace {

void require(bool ok) {
    if (!ok) __builtin_trap();
}

template <typename T>
bool failed_with_reason(const Result<T>& r) {
    if (r) return false;
    require(!r.error().message.empty());
    return true;
}

bool same(const machine::DiskConfig& a, const machine::DiskConfig& b) {
    return a.path == b.path && a.read_only == b.read_only && a.id == b.id;
}

bool same(const NetConfig& a, const NetConfig& b) {
    return a.backend == b.backend && a.tap_name == b.tap_name && a.host_forwards == b.host_forwards && a.mac == b.mac;
}

void check_disk(std::string_view text) {
    auto disk = machine::parse_disk_option(text);
    if (failed_with_reason(disk)) return;
    require(!disk->path.empty() && disk->path.find(',') == std::string::npos);
    require(disk->id.size() <= 20 && disk->id.find(',') == std::string::npos);
    std::string again = disk->path;
    if (disk->read_only) again += ",ro";
    if (!disk->id.empty()) again += ",id=" + disk->id;
    auto reparsed = machine::parse_disk_option(again);
    require(reparsed.ok() && same(*reparsed, *disk));
}

void check_mac(const MacAddress& mac) {
    require((mac[0] & 1) == 0 && mac != MacAddress{});
    auto again = parse_mac(format_mac(mac));
    require(again.ok() && *again == mac);
}

void check_forward(const HostForward& f) {
    require(f.host_port != 0 && f.guest_port != 0);
    require((f.guest_addr & kSlirpNetmask) == kSlirpNetwork);
    require(f.guest_addr != kSlirpHost && f.guest_addr != kSlirpDns);
    auto again = parse_host_forward(format_host_forward(f));
    require(again.ok() && *again == f);
}

void check_tap_name(const std::string& name) {
    require(!name.empty() && name.size() < 16);  // IFNAMSIZ
    for (const char c : name) require(c > ' ' && c <= '~' && c != '/' && c != ':');
}

void check_net(std::string_view text) {
    auto cfg = parse_net_option(text);
    if (failed_with_reason(cfg)) return;
    std::string again = cfg->backend == NetConfig::Backend::User ? "user" : "tap=" + cfg->tap_name;
    if (cfg->backend == NetConfig::Backend::Tap) {
        check_tap_name(cfg->tap_name);
        require(cfg->host_forwards.empty());
    }
    for (const HostForward& f : cfg->host_forwards) {
        check_forward(f);
        again += ",hostfwd=" + format_host_forward(f);
    }
    check_mac(cfg->mac);
    again += ",mac=" + format_mac(cfg->mac);
    auto reparsed = parse_net_option(again);
    require(reparsed.ok() && same(*reparsed, *cfg));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 4) {
        case 0: check_disk(text); break;
        case 1: check_net(text); break;
        case 2: {
            auto f = parse_host_forward(text);
            if (!failed_with_reason(f)) check_forward(*f);
            break;
        }
        default: {
            auto mac = parse_mac(text);
            if (!failed_with_reason(mac)) check_mac(*mac);
            break;
        }
    }
    return 0;
}
