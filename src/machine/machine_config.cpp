#include "machine/machine_config.hpp"

namespace trapeze::machine {

namespace {

constexpr size_t kMaxDiskId = 20;  // VIRTIO_BLK_ID_BYTES (virtio 1.2 §5.2.6)

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
        } else {
            return make_error("--disk '{}': unknown option '{}' (expected ro or id=NAME)", spec, p);
        }
    }
    return disk;
}

}  // namespace trapeze::machine
