#include "api/vm_resources.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>

#include "arch/riscv64/board.hpp"
#include "base/unique_fd.hpp"
#include "loader/kernel_format.hpp"

namespace trapeze::api {

namespace {

// The board has 8 virtio-mmio slots (arch/riscv64/board.hpp); the machine reports a total
// that does not fit at InstanceStart.
constexpr size_t kMaxDrives = 8;
constexpr size_t kMaxNets = 8;

enum class FileKind { Regular, RegularOrBlockDevice };

// A file the VMM will need at start: checked now, so the request that names it fails. Opened
// without blocking and refused unless it is what it must be: a FIFO or a socket would hang
// the reader (the API thread now, the machine later).
Result<void> check_openable(const std::string& path, bool writable, std::string_view what,
                            FileKind kind = FileKind::Regular) {
    if (path.empty()) return make_error("{}: the path is empty", what);
    UniqueFd fd(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return make_error("{}: cannot open '{}': {}", what, path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error("{}: cannot stat '{}': {}", what, path, std::strerror(errno));
    const bool fits = S_ISREG(st.st_mode) || (kind == FileKind::RegularOrBlockDevice && S_ISBLK(st.st_mode));
    if (!fits)
        return make_error("{}: '{}' is not a regular file{}", what, path,
                          kind == FileKind::RegularOrBlockDevice ? " or block device" : "");
    return ok();
}

Result<ratelimit::BucketConfig> parse_bucket(const json& j, std::string_view what) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, what, {"size", "one_time_burst", "refill_time"}));
    TRAPEZE_TRY_ASSIGN(size, f.integer("size"));
    TRAPEZE_TRY_ASSIGN(burst, f.integer("one_time_burst"));
    TRAPEZE_TRY_ASSIGN(refill, f.integer("refill_time"));
    if (!size) return f.missing("size");
    if (!refill) return f.missing("refill_time");
    return ratelimit::BucketConfig{*size, burst.value_or(0), *refill};
}

json bucket_json(const ratelimit::BucketConfig& b) {
    json j{{"size", b.size}, {"refill_time", b.refill_time_ms}};
    if (b.one_time_burst != 0) j["one_time_burst"] = b.one_time_burst;
    return j;
}

Result<std::optional<ratelimit::RateLimiterConfig>> optional_limiter(const JsonFields& f, std::string_view key,
                                                                     std::string_view what) {
    TRAPEZE_TRY_ASSIGN(obj, f.object(key));
    if (obj == nullptr) return std::optional<ratelimit::RateLimiterConfig>{};
    TRAPEZE_TRY_ASSIGN(r, parse_rate_limiter(*obj, fmt::format("{}.{}", what, key)));
    return std::optional<ratelimit::RateLimiterConfig>(r);
}

bool valid_mac(std::string_view mac) {
    if (mac.size() != 17) return false;
    for (size_t i = 0; i < mac.size(); ++i) {
        if (i % 3 == 2 ? mac[i] != ':' : !std::isxdigit(static_cast<unsigned char>(mac[i]))) return false;
    }
    return true;
}

// A NIC's own address: not a group address (the first octet's low bit) and not all zeroes,
// which Linux's virtio-net driver would replace with a random one (is_valid_ether_addr).
bool unicast_mac(std::string_view mac) {
    const unsigned first = static_cast<unsigned>(std::stoul(std::string(mac.substr(0, 2)), nullptr, 16));
    return (first & 1) == 0 && mac != "00:00:00:00:00:00";
}

}  // namespace

Result<ratelimit::RateLimiterConfig> parse_rate_limiter(const json& j, std::string_view what) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, what, {"bandwidth", "ops"}));
    ratelimit::RateLimiterConfig r;
    TRAPEZE_TRY_ASSIGN(bw, f.object("bandwidth"));
    TRAPEZE_TRY_ASSIGN(ops, f.object("ops"));
    if (bw != nullptr) {
        TRAPEZE_TRY_ASSIGN(b, parse_bucket(*bw, fmt::format("{}.bandwidth", what)));
        r.bandwidth = b;
    }
    if (ops != nullptr) {
        TRAPEZE_TRY_ASSIGN(o, parse_bucket(*ops, fmt::format("{}.ops", what)));
        r.ops = o;
    }
    return r;
}

json rate_limiter_json(const ratelimit::RateLimiterConfig& r) {
    json j = json::object();
    if (r.bandwidth) j["bandwidth"] = bucket_json(*r.bandwidth);
    if (r.ops) j["ops"] = bucket_json(*r.ops);
    return j;
}

Result<MachineConfiguration> VmResources::parse_machine_config(const json& j, MachineConfiguration m,
                                                               bool partial) const {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "machine-config",
                                  {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages",
                                   "cpu_template"}));
    TRAPEZE_TRY_ASSIGN(vcpus, f.integer("vcpu_count", 1, kMaxVcpus));
    TRAPEZE_TRY_ASSIGN(mem, f.integer("mem_size_mib", kMinMemoryMib, kMaxMemoryMib));
    TRAPEZE_TRY_ASSIGN(smt, f.boolean("smt"));
    TRAPEZE_TRY_ASSIGN(dirty, f.boolean("track_dirty_pages"));
    TRAPEZE_TRY_ASSIGN(huge, f.string("huge_pages"));
    TRAPEZE_TRY_ASSIGN(tmpl, f.string("cpu_template"));
    if (!partial && !vcpus) return f.missing("vcpu_count");
    if (!partial && !mem) return f.missing("mem_size_mib");
    if (smt.value_or(false)) return make_error("machine-config: smt is not available (harts have no SMT siblings)");
    if (huge && *huge != "None")
        return make_error("machine-config: huge_pages '{}' is not supported (only None; guest RAM uses transparent huge pages where the host allows)", *huge);
    if (tmpl && *tmpl != "None") return make_error("machine-config: cpu_template '{}' is not supported (only None)", *tmpl);
    if (vcpus) m.vcpu_count = static_cast<unsigned>(*vcpus);
    if (mem) m.mem_size_mib = *mem;
    if (!partial || smt) m.smt = smt.value_or(false);
    if (!partial || dirty) m.track_dirty_pages = dirty.value_or(false);
    return m;
}

Result<void> VmResources::put_machine_config(const json& j) {
    TRAPEZE_TRY_ASSIGN(m, parse_machine_config(j, MachineConfiguration{}, false));
    m_machine = m;
    m_machine_set = true;
    return ok();
}

Result<void> VmResources::patch_machine_config(const json& j) {
    if (j.is_object() && j.empty()) return make_error("machine-config: empty PATCH request");
    TRAPEZE_TRY_ASSIGN(m, parse_machine_config(j, m_machine, true));
    m_machine = m;
    m_machine_set = true;
    return ok();
}

Result<void> VmResources::put_boot_source(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "boot-source", {"kernel_image_path", "initrd_path", "boot_args"}));
    TRAPEZE_TRY_ASSIGN(kernel, f.string("kernel_image_path"));
    TRAPEZE_TRY_ASSIGN(initrd, f.string("initrd_path"));
    TRAPEZE_TRY_ASSIGN(args, f.string("boot_args"));
    if (!kernel) return f.missing("kernel_image_path");
    if (auto r = check_openable(*kernel, false, "boot-source: kernel_image_path"); !r) return r;
    TRAPEZE_TRY_ASSIGN(arch, detect_kernel_arch(*kernel));
    // The command line as given must fit (a root drive's root= is added at InstanceStart, and
    // checked there again); x86 kernels state their own limit, checked when loaded.
    if (args && arch == GuestArch::Riscv64) {
        if (auto r = arch::riscv64::check_bootargs(*args); !r) return std::move(r).context("boot-source: boot_args");
    }
    if (initrd) {
        if (auto r = check_openable(*initrd, false, "boot-source: initrd_path"); !r) return r;
    }
    m_boot = BootSource{*kernel, initrd.value_or(""), args};
    return ok();
}

Result<void> VmResources::put_drive(std::string_view path_id, const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "drive",
                                  {"drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
                                   "cache_type", "io_engine", "rate_limiter", "socket"}));
    DriveSettings d;
    TRAPEZE_TRY_ASSIGN(id, f.string("drive_id"));
    TRAPEZE_TRY_ASSIGN(path, f.string("path_on_host"));
    TRAPEZE_TRY_ASSIGN(root, f.boolean("is_root_device"));
    TRAPEZE_TRY_ASSIGN(ro, f.boolean("is_read_only"));
    TRAPEZE_TRY_ASSIGN(partuuid, f.string("partuuid"));
    TRAPEZE_TRY_ASSIGN(cache, f.string("cache_type"));
    TRAPEZE_TRY_ASSIGN(engine, f.string("io_engine"));
    TRAPEZE_TRY_ASSIGN(limiter, optional_limiter(f, "rate_limiter", "drive"));
    if (!id) return f.missing("drive_id");
    if (*id != path_id) return make_error("drive: drive_id '{}' in the body does not match '{}' in the path", *id, path_id);
    if (!root) return f.missing("is_root_device");
    if (f.has("socket")) return make_error("drive: vhost-user block devices (`socket`) are not supported");
    if (!path) return f.missing("path_on_host");
    if (cache && *cache != "Unsafe" && *cache != "Writeback")
        return make_error("drive: cache_type must be Unsafe or Writeback, not '{}'", *cache);
    if (engine && *engine != "Sync" && *engine != "Async")
        return make_error("drive: io_engine must be Sync or Async, not '{}'", *engine);
    if (*root) {
        for (const auto& other : m_drives) {
            if (other.is_root_device && other.drive_id != *id)
                return make_error("drive: '{}' is already the root device", other.drive_id);
        }
    }
    if (!find_drive(*id) && m_drives.size() >= kMaxDrives)
        return make_error("drive: at most {} drives", kMaxDrives);
    if (auto r = check_openable(*path, !ro.value_or(false), "drive: path_on_host", FileKind::RegularOrBlockDevice); !r)
        return r;
    d.drive_id = *id;
    d.path_on_host = *path;
    d.is_root_device = *root;
    d.is_read_only = ro.value_or(false);
    d.partuuid = partuuid.value_or("");
    d.cache_type = cache.value_or("Unsafe");
    d.io_engine = engine.value_or("Sync");
    d.rate_limiter = limiter;
    if (DriveSettings* existing = find_drive(*id)) {
        *existing = d;
        return ok();
    }
    m_drives.push_back(d);
    return ok();
}

Result<void> VmResources::put_network_interface(std::string_view path_id, const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "network-interface",
                                  {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter",
                                   "mtu", "backend", "hostfwd"}));
    TRAPEZE_TRY_ASSIGN(id, f.string("iface_id"));
    TRAPEZE_TRY_ASSIGN(tap, f.string("host_dev_name"));
    TRAPEZE_TRY_ASSIGN(mac, f.string("guest_mac"));
    TRAPEZE_TRY_ASSIGN(backend, f.string("backend"));
    TRAPEZE_TRY_ASSIGN(fwd, f.array("hostfwd"));
    TRAPEZE_TRY_ASSIGN(rx, optional_limiter(f, "rx_rate_limiter", "network-interface"));
    TRAPEZE_TRY_ASSIGN(tx, optional_limiter(f, "tx_rate_limiter", "network-interface"));
    if (!id) return f.missing("iface_id");
    if (*id != path_id)
        return make_error("network-interface: iface_id '{}' in the body does not match '{}' in the path", *id, path_id);
    if (f.has("mtu")) return make_error("network-interface: mtu is not supported");
    NetworkSettings n;
    n.iface_id = *id;
    n.user = backend && *backend == "user";
    if (backend && *backend != "user" && *backend != "tap")
        return make_error("network-interface: backend must be tap or user, not '{}'", *backend);
    if (!n.user && !tap) return f.missing("host_dev_name");
    if (!n.user && fwd) return make_error("network-interface: hostfwd needs \"backend\": \"user\"");
    n.host_dev_name = tap.value_or("");
    // IFNAMSIZ (16) with its NUL: a longer name is no interface's, refused now rather than at start.
    if (n.host_dev_name.size() > 15 || (tap && tap->empty()))
        return make_error("network-interface: host_dev_name '{}' is not an interface name (1 to 15 bytes)", n.host_dev_name);
    if (fwd) {
        for (const json& rule : *fwd) {
            if (!rule.is_string()) return make_error("network-interface: hostfwd must be an array of strings");
            if (auto r = virtio::parse_host_forward(rule.get<std::string>()); !r)
                return make_error("network-interface: {}", r.error().message);  // it names the rule
            n.hostfwd.push_back(rule.get<std::string>());
        }
    }
    if (mac && !valid_mac(*mac)) return make_error("network-interface: guest_mac '{}' is not a MAC address", *mac);
    if (mac && !unicast_mac(*mac))
        return make_error("network-interface: guest_mac '{}' is a group or zero address, not one a NIC can have", *mac);
    n.guest_mac = mac.value_or("");
    n.rx_rate_limiter = rx;
    n.tx_rate_limiter = tx;
    for (const auto& other : m_nets) {
        if (other.iface_id == n.iface_id) continue;
        if (!n.guest_mac.empty() && other.guest_mac == n.guest_mac)
            return make_error("network-interface: guest_mac {} is already used by '{}'", n.guest_mac, other.iface_id);
        if (!n.user && !other.user && other.host_dev_name == n.host_dev_name)
            return make_error("network-interface: host_dev_name '{}' is already used by '{}'", n.host_dev_name,
                              other.iface_id);
    }
    if (NetworkSettings* existing = find_net(n.iface_id)) {
        *existing = n;
        return ok();
    }
    if (m_nets.size() >= kMaxNets) return make_error("network-interface: at most {} interfaces", kMaxNets);
    m_nets.push_back(n);
    return ok();
}

Result<void> VmResources::put_entropy(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "entropy", {"rate_limiter"}));
    TRAPEZE_TRY_ASSIGN(limiter, optional_limiter(f, "rate_limiter", "entropy"));
    m_entropy = true;
    m_entropy_limiter = limiter;
    return ok();
}

Result<void> VmResources::put_serial(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "serial", {"serial_out_path"}));
    TRAPEZE_TRY_ASSIGN(path, f.string("serial_out_path"));
    if (!path) return f.missing("serial_out_path");
    // The file is opened at InstanceStart; what can be told now is told now, as for the logger.
    if (path->empty()) return make_error("serial: serial_out_path is empty");
    std::error_code ec;
    if (std::filesystem::is_directory(*path, ec)) return make_error("serial: serial_out_path '{}' is a directory", *path);
    const auto dir = std::filesystem::path(*path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
        return make_error("serial: serial_out_path '{}': no directory '{}'", *path, dir.string());
    m_serial_out_path = *path;
    return ok();
}

Result<LoggerSettings> VmResources::parse_logger(const json& j) const {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "logger", {"log_path", "level", "show_level", "show_log_origin", "module"}));
    TRAPEZE_TRY_ASSIGN(path, f.string("log_path"));
    TRAPEZE_TRY_ASSIGN(level, f.string("level"));
    TRAPEZE_TRY_ASSIGN(show_level, f.boolean("show_level"));
    TRAPEZE_TRY_ASSIGN(origin, f.boolean("show_log_origin"));
    TRAPEZE_TRY_ASSIGN(module, f.string("module"));
    LoggerSettings l;
    l.log_path = path.value_or("");
    if (level) {
        std::string lower = *level;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        static constexpr std::array<std::string_view, 6> kLevels = {"error", "warning", "info", "debug", "trace", "off"};
        static constexpr std::array<std::string_view, 6> kNames = {"Error", "Warning", "Info", "Debug", "Trace", "Off"};
        const auto it = std::find(kLevels.begin(), kLevels.end(), lower);
        if (it == kLevels.end())
            return make_error("logger: level must be one of Error, Warning, Info, Debug, Trace, Off, not '{}'", *level);
        l.level = std::string(kNames[static_cast<size_t>(it - kLevels.begin())]);  // as GET /vm/config shows it
    }
    l.show_level = show_level.value_or(false);
    l.show_log_origin = origin.value_or(false);
    l.module = module.value_or("");
    return l;
}

Result<std::string> VmResources::parse_metrics(const json& j) const {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "metrics", {"metrics_path"}));
    TRAPEZE_TRY_ASSIGN(path, f.string("metrics_path"));
    if (!path) return f.missing("metrics_path");
    if (path->empty()) return make_error("metrics: metrics_path is empty");
    return *path;
}

Result<VmResources> VmResources::from_config_file(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "config file",
                                  {"boot-source", "drives", "machine-config", "network-interfaces", "entropy", "logger",
                                   "metrics", "serial"}));
    VmResources r;
    TRAPEZE_TRY_ASSIGN(mc, f.object("machine-config"));
    if (mc != nullptr) {
        if (auto e = r.put_machine_config(*mc); !e) return e.error();
    }
    TRAPEZE_TRY_ASSIGN(boot, f.object("boot-source"));
    if (boot == nullptr) return make_error("config file: missing `boot-source`");
    if (auto e = r.put_boot_source(*boot); !e) return e.error();
    TRAPEZE_TRY_ASSIGN(drives, f.array("drives"));
    for (const json& d : drives != nullptr ? *drives : json::array()) {
        const auto id = d.is_object() && d.contains("drive_id") && d["drive_id"].is_string() ? d["drive_id"].get<std::string>() : "";
        if (auto e = r.put_drive(id, d); !e) return e.error();
    }
    TRAPEZE_TRY_ASSIGN(nets, f.array("network-interfaces"));
    for (const json& n : nets != nullptr ? *nets : json::array()) {
        const auto id = n.is_object() && n.contains("iface_id") && n["iface_id"].is_string() ? n["iface_id"].get<std::string>() : "";
        if (auto e = r.put_network_interface(id, n); !e) return e.error();
    }
    TRAPEZE_TRY_ASSIGN(entropy, f.object("entropy"));
    if (entropy != nullptr) {
        if (auto e = r.put_entropy(*entropy); !e) return e.error();
    }
    TRAPEZE_TRY_ASSIGN(serial, f.object("serial"));
    if (serial != nullptr) {
        if (auto e = r.put_serial(*serial); !e) return e.error();
    }
    TRAPEZE_TRY_ASSIGN(logger, f.object("logger"));
    if (logger != nullptr) {
        TRAPEZE_TRY_ASSIGN(l, r.parse_logger(*logger));
        r.set_logger(l);
    }
    TRAPEZE_TRY_ASSIGN(metrics, f.object("metrics"));
    if (metrics != nullptr) {
        TRAPEZE_TRY_ASSIGN(m, r.parse_metrics(*metrics));
        r.set_metrics_path(m);
    }
    return r;
}

json VmResources::machine_config_json() const {
    return json{{"vcpu_count", m_machine.vcpu_count},
                {"mem_size_mib", m_machine.mem_size_mib},
                {"smt", m_machine.smt},
                {"track_dirty_pages", m_machine.track_dirty_pages},
                {"huge_pages", "None"}};
}

json VmResources::full_config_json() const {
    json j = json::object();
    j["machine-config"] = machine_config_json();
    if (m_boot) {
        json b{{"kernel_image_path", m_boot->kernel_image_path}};
        if (!m_boot->initrd_path.empty()) b["initrd_path"] = m_boot->initrd_path;
        if (m_boot->boot_args) b["boot_args"] = *m_boot->boot_args;
        j["boot-source"] = b;
    }
    j["drives"] = json::array();
    for (const auto& d : m_drives) {
        json dj{{"drive_id", d.drive_id},       {"path_on_host", d.path_on_host}, {"is_root_device", d.is_root_device},
                {"is_read_only", d.is_read_only}, {"cache_type", d.cache_type},     {"io_engine", d.io_engine}};
        if (!d.partuuid.empty()) dj["partuuid"] = d.partuuid;
        if (d.rate_limiter) dj["rate_limiter"] = rate_limiter_json(*d.rate_limiter);
        j["drives"].push_back(dj);
    }
    j["network-interfaces"] = json::array();
    for (const auto& n : m_nets) {
        json nj{{"iface_id", n.iface_id}, {"host_dev_name", n.host_dev_name}};
        if (!n.guest_mac.empty()) nj["guest_mac"] = n.guest_mac;
        if (n.user) {
            nj["backend"] = "user";
            nj["hostfwd"] = n.hostfwd;
        }
        if (n.rx_rate_limiter) nj["rx_rate_limiter"] = rate_limiter_json(*n.rx_rate_limiter);
        if (n.tx_rate_limiter) nj["tx_rate_limiter"] = rate_limiter_json(*n.tx_rate_limiter);
        j["network-interfaces"].push_back(nj);
    }
    if (m_entropy) {
        json e = json::object();
        if (m_entropy_limiter) e["rate_limiter"] = rate_limiter_json(*m_entropy_limiter);
        j["entropy"] = e;
    }
    if (m_logger) {
        json l{{"level", m_logger->level}, {"show_level", m_logger->show_level}, {"show_log_origin", m_logger->show_log_origin}};
        if (!m_logger->log_path.empty()) l["log_path"] = m_logger->log_path;
        if (!m_logger->module.empty()) l["module"] = m_logger->module;
        j["logger"] = l;
    }
    if (!m_metrics_path.empty()) j["metrics"] = json{{"metrics_path", m_metrics_path}};
    return j;
}

DriveSettings* VmResources::find_drive(std::string_view id) {
    auto it = std::find_if(m_drives.begin(), m_drives.end(), [&](const auto& d) { return d.drive_id == id; });
    return it == m_drives.end() ? nullptr : &*it;
}

NetworkSettings* VmResources::find_net(std::string_view id) {
    auto it = std::find_if(m_nets.begin(), m_nets.end(), [&](const auto& n) { return n.iface_id == id; });
    return it == m_nets.end() ? nullptr : &*it;
}

Result<GuestArch> detect_kernel_arch(const std::string& path) {
    if (auto r = check_openable(path, false, "kernel"); !r) return r.error();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return make_error("cannot open the kernel '{}': {}", path, std::strerror(errno));
    std::array<uint8_t, loader::kKernelHeadBytes> head{};
    const ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
    if (n < 0) return make_error("cannot read the kernel '{}': {}", path, std::strerror(errno));
    const loader::KernelKind kind = loader::identify_kernel(std::span(head).first(static_cast<size_t>(n)));
    switch (kind.format) {
        case loader::KernelFormat::Elf:
            if (kind.elf_machine == EM_RISCV) return GuestArch::Riscv64;
            if (kind.elf_machine == EM_X86_64) return GuestArch::X86_64;
            return make_error("the kernel '{}' is an ELF file for {}, not RISC-V or x86-64", path,
                              loader::elf_machine_name(kind.elf_machine));
        case loader::KernelFormat::RiscvImage:
            return GuestArch::Riscv64;
        case loader::KernelFormat::BzImage:
            return GuestArch::X86_64;
        case loader::KernelFormat::Raw:
            break;
    }
    return make_error("the kernel '{}' is neither an ELF file, a RISC-V Image nor an x86 bzImage", path);
}

}  // namespace trapeze::api
