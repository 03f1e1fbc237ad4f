// VmResources: a VM's configuration in Firecracker's terms, built up by the API's pre-boot
// requests (or read whole from a --config-file), checked field by field as it arrives, and
// turned into the machine's own configuration at InstanceStart.
//
// Each setter takes the request's JSON and either applies all of it or nothing (Firecracker:
// "if any of the parameters has an incorrect value, the whole update fails"). The JSON
// getters give back what GET /machine-config and GET /vm/config show.
//
// trapeze's extensions (documented in docs/api.md): a network interface may use user-mode
// networking instead of a TAP ("backend": "user", "hostfwd": [...]); everything else is
// Firecracker's shape, so Firecracker clients never meet the extensions.
//
// Thread: one at a time (the API serialises requests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "virtio/net/net_config.hpp"
#include "ratelimit/rate_limiter_config.hpp"
#include "api/json_fields.hpp"

namespace trapeze::api {

enum class GuestArch { Riscv64, X86_64 };

struct BootSource {
    std::string kernel_image_path;
    std::string initrd_path;               // empty: none
    std::optional<std::string> boot_args;  // nullopt: the default command line
};

struct MachineConfiguration {
    unsigned vcpu_count = 1;
    uint64_t mem_size_mib = 128;  // Firecracker's default
    bool smt = false;
    bool track_dirty_pages = false;
};

struct DriveSettings {
    std::string drive_id;
    std::string path_on_host;
    bool is_root_device = false;
    bool is_read_only = false;
    std::string partuuid;                  // empty: none
    std::string cache_type = "Unsafe";     // or Writeback
    std::string io_engine = "Sync";        // or Async (served synchronously: see docs/api.md)
    std::optional<ratelimit::RateLimiterConfig> rate_limiter;
};

struct NetworkSettings {
    std::string iface_id;
    std::string host_dev_name;     // the TAP device (backend tap)
    std::string guest_mac;         // empty: a MAC derived from the interface's position
    bool user = false;             // extension: user-mode networking (libslirp)
    std::vector<std::string> hostfwd;  // extension, with user: QEMU's hostfwd rules
    std::optional<ratelimit::RateLimiterConfig> rx_rate_limiter;
    std::optional<ratelimit::RateLimiterConfig> tx_rate_limiter;
};

struct LoggerSettings {
    std::string log_path;
    std::string level = "Info";
    bool show_level = false;
    bool show_log_origin = false;
    std::string module;
};

class VmResources {
public:
    static constexpr uint64_t kMinMemoryMib = 16;
    static constexpr uint64_t kMaxMemoryMib = 64 * 1024;
    static constexpr unsigned kMaxVcpus = 32;

    Result<void> put_machine_config(const json& j);
    Result<void> patch_machine_config(const json& j);
    Result<void> put_boot_source(const json& j);
    Result<void> put_drive(std::string_view path_id, const json& j);
    Result<void> put_network_interface(std::string_view path_id, const json& j);
    Result<void> put_entropy(const json& j);
    Result<void> put_serial(const json& j);
    Result<LoggerSettings> parse_logger(const json& j) const;
    Result<std::string> parse_metrics(const json& j) const;
    void set_logger(LoggerSettings l) { m_logger = std::move(l); }
    void set_metrics_path(std::string p) { m_metrics_path = std::move(p); }
    // A loaded snapshot's machine (GET /machine-config, /vm/config then show it).
    void set_machine(const MachineConfiguration& m) { m_machine = m; }
    // The drives of a VM loaded from a snapshot (PUT /snapshot/load), as the VMM found them.
    void set_loaded_drives(std::vector<DriveSettings> drives) { m_drives = std::move(drives); }
    // Whether anything that shapes the VM has been configured (a snapshot load must come first).
    // A machine-config counts (as in Firecracker): a snapshot brings its own shape.
    bool configures_vm() const {
        return m_machine_set || m_boot.has_value() || !m_drives.empty() || !m_nets.empty() || m_entropy;
    }

    // A whole Firecracker --config-file: {"boot-source", "drives", "machine-config",
    // "network-interfaces", "entropy", "logger", "metrics", "serial"}; logger and metrics are
    // returned through set_logger/set_metrics_path for the caller to act on.
    static Result<VmResources> from_config_file(const json& j);

    json machine_config_json() const;
    json full_config_json() const;

    const std::optional<BootSource>& boot_source() const { return m_boot; }
    const std::vector<DriveSettings>& drives() const { return m_drives; }
    const std::vector<NetworkSettings>& nets() const { return m_nets; }
    const MachineConfiguration& machine() const { return m_machine; }
    bool has_entropy() const { return m_entropy; }
    const std::optional<ratelimit::RateLimiterConfig>& entropy_rate_limiter() const { return m_entropy_limiter; }
    const std::string& serial_out_path() const { return m_serial_out_path; }
    const std::optional<LoggerSettings>& logger() const { return m_logger; }
    const std::string& metrics_path() const { return m_metrics_path; }

    DriveSettings* find_drive(std::string_view id);
    NetworkSettings* find_net(std::string_view id);

private:
    Result<MachineConfiguration> parse_machine_config(const json& j, MachineConfiguration base, bool partial) const;

    MachineConfiguration m_machine;
    bool m_machine_set = false;  // by PUT or PATCH /machine-config (set_machine is the load's)
    std::optional<BootSource> m_boot;
    std::vector<DriveSettings> m_drives;
    std::vector<NetworkSettings> m_nets;
    bool m_entropy = false;
    std::optional<ratelimit::RateLimiterConfig> m_entropy_limiter;
    std::string m_serial_out_path;
    std::optional<LoggerSettings> m_logger;
    std::string m_metrics_path;
};

// Firecracker's `rate_limiter` object.
Result<ratelimit::RateLimiterConfig> parse_rate_limiter(const json& j, std::string_view what);
json rate_limiter_json(const ratelimit::RateLimiterConfig& r);

// The guest architecture of a kernel file: a RISC-V Image or ELF, or an x86-64 ELF (PVH) or
// bzImage. Errors name the file and what was found.
Result<GuestArch> detect_kernel_arch(const std::string& path);

}  // namespace trapeze::api
