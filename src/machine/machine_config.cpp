#include "machine/machine_config.hpp"

#include <cctype>
#include <charconv>
#include <optional>

namespace trapeze::machine {

namespace {

constexpr size_t kMaxDiskId = 20;  // VIRTIO_BLK_ID_BYTES (virtio 1.2 §5.2.6)
constexpr uint64_t kRateRefillMs = 1000;  // bw= and iops= are per second

// A positive count with an optional binary suffix K, M or G (1024, 1024^2, 1024^3); nullopt if
// it is malformed, zero or does not fit in 64 bits.
std::optional<uint64_t> parse_rate(std::string_view text) {
    uint64_t scale = 1;
    const std::string_view suffixes = "KMG";
    if (const size_t i = text.empty() ? suffixes.npos : suffixes.find(static_cast<char>(std::toupper(text.back())));
        i != suffixes.npos) {
        scale = uint64_t{1} << (10 * (i + 1));
        text.remove_suffix(1);
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v == 0 || v > UINT64_MAX / scale) return std::nullopt;
    return v * scale;
}

// `bw=`/`iops=`: a bucket of one second's worth of tokens, refilled over a second.
Result<void> set_rate(DiskConfig& disk, std::string_view spec, std::string_view key, std::string_view value) {
    const auto rate = parse_rate(value);
    if (!rate)
        return make_error("--disk '{}': {} '{}' is not a positive number (with an optional K, M or G)", spec, key,
                          value);
    auto& limiter = disk.rate_limiter ? *disk.rate_limiter : disk.rate_limiter.emplace();
    (key == "bw" ? limiter.bandwidth : limiter.ops) = ratelimit::BucketConfig{*rate, 0, kRateRefillMs};
    return ok();
}

std::vector<std::string_view> split_commas(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == ',') {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

}  // namespace

Result<DiskConfig> parse_disk_option(std::string_view spec) {
    const auto parts = split_commas(spec);
    DiskConfig disk;
    disk.path = std::string(parts[0]);
    if (disk.path.empty()) return make_error("--disk '{}': the path is empty", spec);
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string_view p = parts[i];
        if (p == "ro") {
            disk.read_only = true;
        } else if (p.substr(0, 3) == "id=") {
            disk.id = std::string(p.substr(3));
            if (disk.id.size() > kMaxDiskId)
                return make_error("--disk '{}': id '{}' is longer than {} bytes", spec, disk.id, kMaxDiskId);
        } else if (p.substr(0, 3) == "bw=") {
            TRAPEZE_TRY(set_rate(disk, spec, "bw", p.substr(3)));
        } else if (p.substr(0, 5) == "iops=") {
            TRAPEZE_TRY(set_rate(disk, spec, "iops", p.substr(5)));
        } else {
            return make_error("--disk '{}': unknown option '{}' (expected ro, id=NAME, bw=BYTES or iops=N)", spec, p);
        }
    }
    return disk;
}

Result<std::vector<DiskConfig>> parse_disk_options(const std::vector<std::string>& specs) {
    std::vector<DiskConfig> disks;
    for (size_t i = 0; i < specs.size(); ++i) {
        TRAPEZE_TRY_ASSIGN(disk, parse_disk_option(specs[i]));
        for (size_t j = 0; j < i && !disk.id.empty(); ++j) {
            if (disks[j].id == disk.id)
                return make_error("--disk '{}': id '{}' is already that of --disk '{}'", specs[i], disk.id, specs[j]);
        }
        disks.push_back(std::move(disk));
    }
    return disks;
}

}  // namespace trapeze::machine
