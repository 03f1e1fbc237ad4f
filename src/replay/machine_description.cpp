#include "replay/machine_description.hpp"

#include <filesystem>
#include <optional>
#include <system_error>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/hex.hpp"
#include "snapshot/crc64.hpp"

namespace trapeze::replay {

namespace {

using nlohmann::json;

constexpr int kDescriptionVersion = 1;

json disk_json(const machine::DiskConfig& d) { return {{"path", d.path}, {"read_only", d.read_only}, {"id", d.id}}; }

json net_json(const virtio::NetConfig& n) {
    return {{"backend", n.backend == virtio::NetConfig::Backend::Tap ? "tap" : "user"}, {"mac", virtio::format_mac(n.mac)}};
}

json config_json(const machine::MachineConfig& c) {
    json disks = json::array();
    for (const auto& d : c.disks) disks.push_back(disk_json(d));
    json nets = json::array();
    for (const auto& n : c.nets) nets.push_back(net_json(n));
    return {{"kernel", c.kernel},
            {"initrd", c.initrd.value_or("")},
            {"bios", c.bios.value_or("")},
            {"append", c.append},
            {"memory_mib", c.memory_mib},
            {"cpus", c.cpus},
            {"hypervisor", c.hypervisor},
            {"rng", c.rng},
            {"console", c.console == machine::ConsoleKind::Virtio ? "virtio" : "serial"},
            {"disks", disks},
            {"nets", nets}};
}

// Every field is required and of its type: a description is written by trapeze only, so
// anything else is damage (the log's checksums make that unlikely).
Result<machine::MachineConfig> config_from(const json& j) {
    machine::MachineConfig c;
    c.kernel = j.at("kernel").get<std::string>();
    if (auto s = j.at("initrd").get<std::string>(); !s.empty()) c.initrd = s;
    if (auto s = j.at("bios").get<std::string>(); !s.empty()) c.bios = s;
    c.append = j.at("append").get<std::string>();
    c.memory_mib = j.at("memory_mib").get<uint64_t>();
    c.cpus = j.at("cpus").get<unsigned>();
    // Recordings made before the hypervisor extension have no such field: their harts lacked it.
    c.hypervisor = j.contains("hypervisor") && j.at("hypervisor").get<bool>();
    c.rng = j.at("rng").get<bool>();
    c.console = j.at("console").get<std::string>() == "virtio" ? machine::ConsoleKind::Virtio : machine::ConsoleKind::Serial;
    for (const auto& d : j.at("disks")) {
        c.disks.push_back(
            machine::DiskConfig{d.at("path").get<std::string>(), d.at("read_only").get<bool>(), d.at("id").get<std::string>(), {}});
    }
    for (const auto& n : j.at("nets")) {
        virtio::NetConfig net;
        net.backend = n.at("backend").get<std::string>() == "tap" ? virtio::NetConfig::Backend::Tap : virtio::NetConfig::Backend::User;
        TRAPEZE_TRY_ASSIGN(mac, virtio::parse_mac(n.at("mac").get<std::string>()));
        net.mac = mac;
        c.nets.push_back(net);
    }
    c.deterministic = true;
    return c;
}

// A seed as bytes_to_hex() wrote it, of at most kMaxBootSeedBytes.
Result<std::vector<uint8_t>> seed_from_hex(const std::string& s) {
    std::optional<std::vector<uint8_t>> seed = hex_to_bytes(s);
    if (!seed || seed->size() > kMaxBootSeedBytes)
        return make_error("its machine description's rng_seed ({} characters) is not {} bytes or fewer in hex", s.size(),
                          kMaxBootSeedBytes);
    return std::move(*seed);
}

Result<uint64_t> optional_crc(const std::optional<std::string>& path) {
    if (!path) return uint64_t{0};
    return file_crc64(*path);
}

Result<void> check_crc(const char* what, const std::string& path, uint64_t want) {
    TRAPEZE_TRY_ASSIGN(crc, file_crc64(path));
    if (crc != want)
        return make_error("{} '{}' is not the file the recording was made with (CRC-64 {:016x}, recorded {:016x})", what,
                          path, crc, want);
    return ok();
}

}  // namespace

Result<uint64_t> file_crc64(const std::string& path) {
    uint64_t size = 0;
    TRAPEZE_TRY_ASSIGN(fd, open_regular(path, &size));
    std::vector<uint8_t> buf(1 << 20);
    uint64_t crc = 0;
    for (;;) {
        TRAPEZE_TRY_ASSIGN(n, read_up_to(fd, path, buf));
        if (n == 0) return crc;
        crc = snapshot::crc64(std::span(buf).first(n), crc);
    }
}

namespace {

// A file the recording names, by its absolute path: a replay is often run from another
// directory (the recording's `--kernel Image` then named nothing there, or another file),
// and its files are checked by checksum anyway, wherever they are found.
Result<std::string> absolute_path(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p = std::filesystem::absolute(path, ec);
    if (ec) return make_error("'{}': {}", path, ec.message());
    return p.lexically_normal().string();
}

Result<void> make_absolute(std::optional<std::string>& path) {
    if (!path) return ok();
    TRAPEZE_TRY_ASSIGN(p, absolute_path(*path));
    path = std::move(p);
    return ok();
}

}  // namespace

Result<MachineDescription> describe(const machine::MachineConfig& cfg, DiskMode mode) {
    MachineDescription d;
    d.config = cfg;
    TRAPEZE_TRY_ASSIGN(kernel_path, absolute_path(cfg.kernel));
    d.config.kernel = std::move(kernel_path);
    TRAPEZE_TRY(make_absolute(d.config.initrd));
    TRAPEZE_TRY(make_absolute(d.config.bios));
    for (auto& disk : d.config.disks) {
        TRAPEZE_TRY_ASSIGN(disk_path, absolute_path(disk.path));
        disk.path = std::move(disk_path);
    }
    d.disk_mode = mode;
    TRAPEZE_TRY_ASSIGN(kernel, file_crc64(cfg.kernel));
    d.kernel_crc = kernel;
    TRAPEZE_TRY_ASSIGN(initrd, optional_crc(cfg.initrd));
    d.initrd_crc = initrd;
    TRAPEZE_TRY_ASSIGN(bios, optional_crc(cfg.bios));
    d.bios_crc = bios;
    for (const auto& disk : cfg.disks) {
        TRAPEZE_TRY_ASSIGN(size, file_size(disk.path));
        d.disk_sizes.push_back(size);
        if (mode == DiskMode::Checksum) {
            TRAPEZE_TRY_ASSIGN(crc, file_crc64(disk.path));
            d.disk_crcs.push_back(crc);
        }
    }
    return d;
}

Result<void> check_files(const MachineDescription& d) {
    TRAPEZE_TRY(check_crc("kernel", d.config.kernel, d.kernel_crc));
    if (d.config.initrd) TRAPEZE_TRY(check_crc("initrd", *d.config.initrd, d.initrd_crc));
    if (d.config.bios) TRAPEZE_TRY(check_crc("firmware", *d.config.bios, d.bios_crc));
    for (size_t i = 0; i < d.config.disks.size(); ++i) {
        const std::string& path = d.config.disks[i].path;
        TRAPEZE_TRY_ASSIGN(size, file_size(path));
        if (size != d.disk_sizes[i])
            return make_error("disk '{}' is {} bytes; the recording's was {}", path, size, d.disk_sizes[i]);
        if (d.disk_mode == DiskMode::Checksum) TRAPEZE_TRY(check_crc("disk", path, d.disk_crcs[i]));
    }
    return ok();
}

std::vector<uint8_t> MachineDescription::encode() const {
    const json j = {{"version", kDescriptionVersion},
                    {"config", config_json(config)},
                    {"kernel_crc", kernel_crc},
                    {"initrd_crc", initrd_crc},
                    {"bios_crc", bios_crc},
                    {"disk_sizes", disk_sizes},
                    {"disk_crcs", disk_crcs},
                    {"disk_mode", disk_mode == DiskMode::Checksum ? "checksum" : "log"},
                    {"wall_clock_start_ns", wall_clock_start_ns},
                    {"tick_base", tick_base},
                    {"instructions_per_tick", instructions_per_tick},
                    {"rng_seed", bytes_to_hex(rng_seed)}};
    const std::string s = j.dump();
    return {s.begin(), s.end()};
}

Result<MachineDescription> MachineDescription::decode(std::span<const uint8_t> bytes) {
    try {
        const json j = json::parse(bytes.begin(), bytes.end());
        if (j.at("version").get<int>() != kDescriptionVersion)
            return make_error("its machine description is of version {}, not {}", j.at("version").dump(), kDescriptionVersion);
        MachineDescription d;
        TRAPEZE_TRY_ASSIGN(cfg, config_from(j.at("config")));
        d.config = std::move(cfg);
        d.kernel_crc = j.at("kernel_crc").get<uint64_t>();
        d.initrd_crc = j.at("initrd_crc").get<uint64_t>();
        d.bios_crc = j.at("bios_crc").get<uint64_t>();
        d.disk_sizes = j.at("disk_sizes").get<std::vector<uint64_t>>();
        d.disk_crcs = j.at("disk_crcs").get<std::vector<uint64_t>>();
        d.disk_mode = j.at("disk_mode").get<std::string>() == "checksum" ? DiskMode::Checksum : DiskMode::Log;
        d.wall_clock_start_ns = j.at("wall_clock_start_ns").get<uint64_t>();
        d.tick_base = j.at("tick_base").get<uint64_t>();
        d.instructions_per_tick = j.at("instructions_per_tick").get<uint64_t>();
        if (d.instructions_per_tick == 0) return make_error("its machine description has a guest time rate of 0");
        // Recordings made before the board's boot seed have none: their guests booted without.
        if (j.contains("rng_seed")) {
            TRAPEZE_TRY_ASSIGN(seed, seed_from_hex(j.at("rng_seed").get<std::string>()));
            d.rng_seed = std::move(seed);
        }
        if (d.disk_sizes.size() != d.config.disks.size() ||
            (d.disk_mode == DiskMode::Checksum && d.disk_crcs.size() != d.config.disks.size()))
            return make_error("its machine description lists {} disks but {} sizes", d.config.disks.size(), d.disk_sizes.size());
        return d;
    } catch (const nlohmann::json::exception& e) {
        return make_error("its machine description is not one trapeze wrote ({})", e.what());
    }
}

}  // namespace trapeze::replay
