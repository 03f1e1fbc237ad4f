#include "vmm/machine_builder.hpp"

#include <filesystem>

#include "machine/guest_cache.hpp"

namespace trapeze::vmm {

namespace {

// Firecracker puts the root drive first (vda) and names it on the command line.
std::vector<api::DriveSettings> drives_in_order(const api::VmResources& r) {
    std::vector<api::DriveSettings> out;
    for (const auto& d : r.drives()) {
        if (d.is_root_device) out.push_back(d);
    }
    for (const auto& d : r.drives()) {
        if (!d.is_root_device) out.push_back(d);
    }
    return out;
}

std::string command_line(const api::VmResources& r, std::string_view fallback) {
    std::string args = r.boot_source()->boot_args.value_or(std::string(fallback));
    const auto drives = drives_in_order(r);
    if (!drives.empty() && drives.front().is_root_device) {
        const auto& root = drives.front();
        args += root.partuuid.empty() ? " root=/dev/vda" : " root=PARTUUID=" + root.partuuid;
        args += root.is_read_only ? " ro" : " rw";
    }
    return args;
}

Result<std::vector<virtio::NetConfig>> nets(const api::VmResources& r) {
    std::vector<virtio::NetConfig> out;
    for (size_t i = 0; i < r.nets().size(); ++i) {
        const auto& n = r.nets()[i];
        virtio::NetConfig c;
        c.backend = n.user ? virtio::NetConfig::Backend::User : virtio::NetConfig::Backend::Tap;
        c.tap_name = n.host_dev_name;
        for (const auto& rule : n.hostfwd) {
            auto fwd = virtio::parse_host_forward(rule);
            if (!fwd) return make_error("network-interface '{}': {}", n.iface_id, fwd.error().message);
            c.host_forwards.push_back(*fwd);
        }
        if (!n.guest_mac.empty()) {
            auto mac = virtio::parse_mac(n.guest_mac);
            if (!mac) return make_error("network-interface '{}': {}", n.iface_id, mac.error().message);
            c.mac = *mac;
        } else {
            c.mac[5] = static_cast<uint8_t>(c.mac[5] + i);  // distinct NICs, QEMU's first one first
        }
        c.rx_rate_limiter = n.rx_rate_limiter;
        c.tx_rate_limiter = n.tx_rate_limiter;
        out.push_back(c);
    }
    return out;
}

}  // namespace

std::vector<std::string> drive_order(const api::VmResources& r) {
    std::vector<std::string> ids;
    for (const auto& d : drives_in_order(r)) ids.push_back(d.drive_id);
    return ids;
}

Result<machine::MachineConfig> riscv_config(const api::VmResources& r, const VmmOptions& o) {
    machine::MachineConfig c;
    c.engine = o.engine;
    c.kernel = r.boot_source()->kernel_image_path;
    if (!r.boot_source()->initrd_path.empty()) c.initrd = r.boot_source()->initrd_path;
    // The kernel runs in S-mode on OpenSBI, as under QEMU's -kernel: the cached firmware.
    const auto fw = machine::default_guest_dir() / "fw_jump.bin";
    if (!std::filesystem::exists(fw))
        return make_error("no OpenSBI firmware at '{}' (run tools/fetch-guest)", fw.string());
    c.bios = fw.string();
    c.append = command_line(r, "console=ttyS0");
    c.memory_mib = r.machine().mem_size_mib;
    c.cpus = r.machine().vcpu_count;
    c.stats = false;
    c.rng = r.has_entropy();
    c.rng_rate_limiter = r.entropy_rate_limiter();
    c.cpu_quota_percent = o.cpu_quota_percent;
    for (const auto& d : drives_in_order(r)) {
        machine::DiskConfig disk{d.path_on_host, d.is_read_only, d.drive_id.substr(0, 20), d.rate_limiter};
        c.disks.push_back(disk);
    }
    auto n = nets(r);
    if (!n) return n.error();
    c.nets = std::move(*n);
    return c;
}

Result<X86Config> x86_config(const api::VmResources& r, const VmmOptions& o) {
    if (!r.nets().empty()) return make_error("network interfaces are not available on the x86-64 board yet");
    if (r.has_entropy()) return make_error("the entropy device is not available on the x86-64 board yet");
    X86Config c;
    c.kernel = r.boot_source()->kernel_image_path;
    c.initrd = r.boot_source()->initrd_path;
    c.cmdline = command_line(r, "console=ttyS0 reboot=k panic=1");
    c.memory_mib = r.machine().mem_size_mib;
    c.cpus = r.machine().vcpu_count;
    c.cpu_quota_percent = o.cpu_quota_percent;
    c.track_dirty_pages = r.machine().track_dirty_pages;
    for (const auto& d : drives_in_order(r))
        c.disks.push_back(virtio::BlkConfig{d.path_on_host, d.is_read_only, d.drive_id.substr(0, 20), d.rate_limiter});
    return c;
}

}  // namespace trapeze::vmm
