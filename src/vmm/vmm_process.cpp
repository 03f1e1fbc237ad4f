#include "vmm/vmm_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/log.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::vmm {

namespace {

constexpr auto kMetricsPeriod = std::chrono::seconds(60);  // Firecracker flushes every minute

}  // namespace

VmmProcess::VmmProcess(VmmProcessOptions opts, machine::HostConsole& console)
    : m_opts(std::move(opts)), m_console(console), m_api(m_opts.id, *this, m_metrics) {}

VmmProcess::~VmmProcess() {
    if (m_server) m_server->stop();
}

int VmmProcess::run() {
    // The config file first: its VM is started before the API serves anything, so the API
    // never sees it half-configured.
    if (!m_opts.config_file.empty()) {
        if (auto r = start_from_file(); !r) {
            fmt::print(stderr, "trapeze: {}\n", r.error().message);
            return 1;
        }
    }
    if (!m_opts.api_sock.empty()) {
        if (auto r = serve_api(); !r) {
            fmt::print(stderr, "trapeze: {}\n", r.error().message);
            return 1;
        }
    }
    const int status = wait_for_start() ? run_started() : 0;
    {
        std::lock_guard lock(m_mutex);
        m_ended = true;
        m_cv.notify_all();  // an InstanceStart that came too late
    }
    if (m_metrics.configured()) (void)flush_metrics();
    if (m_server) m_server->stop();
    return status;
}

Result<void> VmmProcess::serve_api() {
    auto server = api::ApiServer::bind(
        m_opts.api_sock, [this](const api::HttpRequest& req) { return m_api.handle(req); }, m_opts.max_payload);
    if (!server) return server.error();
    m_server = std::move(*server);
    m_server->set_tick(std::chrono::duration_cast<std::chrono::milliseconds>(kMetricsPeriod), [this] {
        if (m_metrics.configured()) (void)flush_metrics();
    });
    return m_server->start([] { return sandbox::confine_this_thread(sandbox::ThreadKind::Api); });
}

// --config-file: the whole configuration at once, started without waiting for the API
// (Firecracker's --config-file behaviour).
Result<void> VmmProcess::start_from_file() {
    std::ifstream in(m_opts.config_file);
    if (!in) return make_error("cannot read the config file '{}': {}", m_opts.config_file, std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    auto j = api::parse_json_body(text.str());
    if (!j) return make_error("config file '{}': {}", m_opts.config_file, j.error().message);
    auto res = api::VmResources::from_config_file(*j);
    if (!res) return make_error("config file '{}': {}", m_opts.config_file, res.error().message);
    if (res->logger()) {
        if (auto r = configure_logger(*res->logger()); !r) return r;
    }
    if (!res->metrics_path().empty()) {
        if (auto r = configure_metrics(res->metrics_path()); !r) return r;
    }
    auto cfg = build_config(*res);
    if (!cfg) return make_error("config file '{}': {}", m_opts.config_file, cfg.error().message);
    std::lock_guard lock(m_mutex);
    remember_devices(*res);
    m_start = StartRequest{std::move(*cfg), res->serial_out_path(), nullptr, false};
    m_api.mark_started(std::move(*res));
    return ok();
}

Result<VmmProcess::Config> VmmProcess::build_config(const api::VmResources& r) const {
    auto arch = api::detect_kernel_arch(r.boot_source()->kernel_image_path);
    if (!arch) return arch.error();
    if (*arch == api::GuestArch::X86_64) {
        auto c = x86_config(r, m_opts.vm);
        if (!c) return c.error();
        return Config(std::move(*c));
    }
    auto c = riscv_config(r, m_opts.vm);
    if (!c) return c.error();
    return Config(std::move(*c));
}

// The main thread before InstanceStart: false if the process is to end first (a signal,
// Ctrl-A x on the terminal).
bool VmmProcess::wait_for_start() {
    std::unique_lock lock(m_mutex);
    while (!m_start) {
        if (m_console.quit_requested()) return false;
        m_cv.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
}

Result<void> VmmProcess::open_serial_output(const std::string& path) {
    if (path.empty()) return ok();
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd.valid()) return make_error("serial: cannot open '{}': {}", path, std::strerror(errno));
    m_serial_out = std::move(fd);
    m_console.set_output(m_serial_out.get());
    return ok();
}

// Builds the requested machine on the main thread and runs it; a machine that cannot be
// built is reported to the InstanceStart request, and the process waits for another.
int VmmProcess::run_started() {
    for (;;) {
        StartRequest req = [&] {
            std::lock_guard lock(m_mutex);
            return std::move(*m_start);
        }();
        Result<void> opened = open_serial_output(req.serial_out_path);
        if (opened) {
            if (auto* rc = std::get_if<machine::MachineConfig>(&req.config)) {
                // Before the machine's threads start: user networking widens the hart lists.
                const bool user_net = std::any_of(rc->nets.begin(), rc->nets.end(), [](const auto& n) {
                    return n.backend == virtio::NetConfig::Backend::User;
                });
                sandbox::set_needs({.user_net = user_net, .rebuild = false});
                auto m = req.restore ? machine::RiscvMachine::restore(*rc, m_console, req.restore->contents,
                                                                       req.restore->memory.get())
                                     : machine::RiscvMachine::create(*rc, m_console);
                if (m) {
                    if (req.paused) (*m)->pause_before_run();
                    return run_riscv(**m);
                }
                opened = m.error();
            } else {
                const auto& xc = std::get<X86Config>(req.config);
                auto m = req.restore ? X86Machine::restore_snapshot(xc, req.restore->contents, req.restore->memory.get())
                                     : X86Machine::create(xc);
                if (m) {
                    if (req.paused) (*m)->pause_before_run();
                    return run_x86(**m);
                }
                opened = m.error();
            }
        }
        std::unique_lock lock(m_mutex);
        m_start.reset();
        m_start_done = opened;
        m_cv.notify_all();
        if (m_opts.api_sock.empty()) {  // a config file's VM with no API to retry from
            fmt::print(stderr, "trapeze: {}\n", opened.error().message);
            return 1;
        }
        lock.unlock();
        if (!wait_for_start()) return 0;
    }
}

int VmmProcess::run_riscv(machine::RiscvMachine& m) {
    {
        std::lock_guard lock(m_mutex);
        m_riscv = &m;
        m_start_done = ok();
        m_cv.notify_all();
    }
    m_console.start();  // its reader thread gets its own filter
    if (auto r = sandbox::confine_this_thread(sandbox::ThreadKind::Vmm); !r) {
        fmt::print(stderr, "trapeze: {}\n", r.error().message);
        m_console.stop();
        std::lock_guard lock(m_mutex);
        m_riscv = nullptr;
        m_ended = true;
        return 1;
    }
    const machine::RunResult r = m.run();
    m_console.stop();
    report_counters();  // the last metrics line has the devices' final totals
    std::lock_guard lock(m_mutex);
    m_riscv = nullptr;
    m_ended = true;
    return r.kind == machine::RunResult::Kind::Fail ? r.exit_code : 0;
}

// x86-64 on KVM: the vCPU threads run inside X86Machine::run(); a pump thread feeds the
// terminal to COM1 and turns Ctrl-A x into a host stop.
int VmmProcess::run_x86(X86Machine& m) {
    {
        std::lock_guard lock(m_mutex);
        m_x86 = &m;
        m_start_done = ok();
        m_cv.notify_all();
    }
    const X86Exit exit = run_x86_with_console(m, m_console);
    std::lock_guard lock(m_mutex);
    m_x86 = nullptr;
    m_ended = true;
    if (exit.reason != X86ExitReason::PowerOff && exit.reason != X86ExitReason::Stopped) {
        fmt::print(stderr, "trapeze: guest ended: {}{}{}\n", to_string(exit.reason), exit.detail.empty() ? "" : ": ",
                   exit.detail);
        return 1;
    }
    return 0;
}

X86Exit run_x86_with_console(X86Machine& m, machine::HostConsole& console) {
    console.start();
    std::atomic<bool> done{false};
    std::thread pump([&] {
        if (auto c = sandbox::confine_this_thread(sandbox::ThreadKind::ConsolePump); !c) {
            fmt::print(stderr, "trapeze: {}\n", c.error().message);
            m.stop();
            return;
        }
        uint8_t byte = 0;
        bool pending = false;
        while (!done.load(std::memory_order_relaxed)) {
            pollfd p{console.wake_fd(), POLLIN, 0};
            ::poll(&p, 1, pending ? 10 : 100);
            console.drain_wake();
            if (console.quit_requested()) m.stop();
            while (pending || console.pop(byte)) {
                pending = !m.console_input(byte);
                if (pending) break;
            }
        }
    });
    const X86Exit exit = m.run();
    done.store(true, std::memory_order_relaxed);
    pump.join();
    console.stop();
    return exit;
}

// Under m_mutex.
void VmmProcess::remember_devices(const api::VmResources& r) {
    m_drive_ids = drive_order(r);
    m_drive_paths.clear();
    for (const auto& id : m_drive_ids) {
        for (const auto& d : r.drives()) {
            if (d.drive_id == id) m_drive_paths.push_back(d.path_on_host);
        }
    }
    m_net_ids.clear();
    for (const auto& n : r.nets()) m_net_ids.push_back(n.iface_id);
}

// --- api::VmController (API thread) --------------------------------------------------------

Result<void> VmmProcess::start(const api::VmResources& resources) {
    auto cfg = build_config(resources);
    if (!cfg) return cfg.error();
    {
        std::lock_guard lock(m_mutex);
        remember_devices(resources);
    }
    return hand_to_main_thread(StartRequest{std::move(*cfg), resources.serial_out_path(), nullptr, false});
}

// The main thread builds and runs the machine; the API thread waits for it to be built.
Result<void> VmmProcess::hand_to_main_thread(StartRequest req) {
    std::unique_lock lock(m_mutex);
    m_start_done.reset();
    m_start = std::move(req);
    m_cv.notify_all();
    m_cv.wait(lock, [this] { return m_start_done.has_value() || m_ended; });
    if (!m_start_done) return make_error("the VMM is shutting down");
    Result<void> r = std::move(*m_start_done);
    m_start_done.reset();
    return r;
}

Result<void> VmmProcess::create_snapshot(const api::SnapshotCreateParams& params) {
    std::lock_guard lock(m_mutex);
    if (m_x86 != nullptr) return m_x86->save_snapshot(params.snapshot_path, params.mem_file_path, params.diff);
    if (m_riscv == nullptr) return make_error("the VM is not running");
    const machine::SnapshotTarget target{params.snapshot_path, params.mem_file_path,
                                         params.diff ? machine::SnapshotKind::Diff : machine::SnapshotKind::Full};
    auto saved = m_riscv->save_snapshot(target);
    if (!saved) return saved.error();
    spdlog::info("snapshot saved to '{}' and '{}': {} pages of RAM", params.snapshot_path, params.mem_file_path,
                 saved->pages_written);
    return ok();
}

// A loaded VM's drives as the API shows them. A snapshot keeps each disk's virtio-blk serial,
// which is the drive id's first 20 bytes (machine_builder.cpp): that is the id PATCH /drives
// takes for it. Whether a drive was the root device is not kept (the guest's command line is
// in its RAM by now).
namespace {

template <typename Disk>
std::vector<api::DriveSettings> loaded_drives(const std::vector<Disk>& disks) {
    std::vector<api::DriveSettings> out;
    for (const auto& d : disks) {
        api::DriveSettings s;
        s.drive_id = d.id;
        s.path_on_host = d.path;
        s.is_read_only = d.read_only;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

// Under m_mutex.
void VmmProcess::remember_loaded_drives(const std::vector<api::DriveSettings>& drives) {
    m_drive_ids.clear();
    m_drive_paths.clear();
    for (const auto& d : drives) {
        m_drive_ids.push_back(d.drive_id);
        m_drive_paths.push_back(d.path_on_host);
    }
    m_net_ids.clear();
}

// The snapshot's board, run by this process's engine and CPU quota. Devices come back with the
// snapshot's backends: its disk paths and network interfaces. Its drives answer PATCH /drives
// by the ids loaded_drives gives them; interface ids are not in a snapshot, so PATCH
// /network-interfaces does not apply to a loaded VM.
Result<api::VmController::LoadedVm> VmmProcess::load_snapshot(const api::SnapshotLoadParams& params) {
    TRAPEZE_TRY_ASSIGN(src, open_snapshot(params.snapshot_path, params.mem_file_path));
    LoadedVm loaded;
    if (src.header.arch == "x86_64") {
        TRAPEZE_TRY_ASSIGN(xc, X86Machine::snapshot_config(src.contents));
        xc.cpu_quota_percent = m_opts.vm.cpu_quota_percent;
        xc.track_dirty_pages = params.track_dirty_pages;
        loaded = LoadedVm{{xc.cpus, xc.memory_mib, false, params.track_dirty_pages}, loaded_drives(xc.disks)};
        TRAPEZE_TRY(hand_to_main_thread(
            StartRequest{Config(std::move(xc)), "", std::make_shared<SnapshotSource>(std::move(src)), !params.resume_vm}));
    } else {
        TRAPEZE_TRY_ASSIGN(cfg, machine::RiscvMachine::snapshot_config(src.contents));
        cfg.engine = m_opts.vm.engine;
        cfg.cpu_quota_percent = m_opts.vm.cpu_quota_percent;
        loaded = LoadedVm{{cfg.cpus, cfg.memory_mib}, loaded_drives(cfg.disks)};
        StartRequest req{Config(std::move(cfg)), "", std::make_shared<SnapshotSource>(std::move(src)), !params.resume_vm};
        TRAPEZE_TRY(hand_to_main_thread(std::move(req)));
    }
    std::lock_guard lock(m_mutex);
    remember_loaded_drives(loaded.drives);
    return loaded;
}

Result<void> VmmProcess::pause() {
    std::lock_guard lock(m_mutex);
    if (m_x86 != nullptr) {
        m_x86->pause();
        return ok();
    }
    if (m_riscv == nullptr) return make_error("the VM is not running");
    m_riscv->pause();
    return ok();
}

Result<void> VmmProcess::resume() {
    std::lock_guard lock(m_mutex);
    if (m_x86 != nullptr) {
        m_x86->resume();
        return ok();
    }
    if (m_riscv == nullptr) return make_error("the VM is not running");
    m_riscv->resume();
    return ok();
}

Result<void> VmmProcess::send_ctrl_alt_del() {
    return make_error("SendCtrlAltDel: the riscv64 virt board has no power button or keyboard controller for it");
}

Result<void> VmmProcess::update_drive(const api::DriveSettings& drive) {
    std::lock_guard lock(m_mutex);
    if (m_riscv == nullptr) return make_error("changing a drive is only supported on a running riscv64 VM");
    const auto it = std::find(m_drive_ids.begin(), m_drive_ids.end(), drive.drive_id);
    if (it == m_drive_ids.end()) return make_error("drive: no drive '{}'", drive.drive_id);
    const auto i = static_cast<size_t>(it - m_drive_ids.begin());
    std::optional<std::string> path;
    if (drive.path_on_host != m_drive_paths[i]) path = drive.path_on_host;
    TRAPEZE_TRY(m_riscv->update_disk(i, path, drive.rate_limiter));
    m_drive_paths[i] = drive.path_on_host;
    return ok();
}

Result<void> VmmProcess::update_net(const api::NetworkSettings& net) {
    std::lock_guard lock(m_mutex);
    if (m_riscv == nullptr) return make_error("changing a network interface is only supported on a running riscv64 VM");
    const auto it = std::find(m_net_ids.begin(), m_net_ids.end(), net.iface_id);
    if (it == m_net_ids.end()) return make_error("network-interface: no interface '{}'", net.iface_id);
    return m_riscv->update_net(static_cast<size_t>(it - m_net_ids.begin()), net.rx_rate_limiter, net.tx_rate_limiter);
}

void VmmProcess::report_counters() {
    std::lock_guard lock(m_mutex);
    if (m_riscv == nullptr) return;
    m_riscv->report_counters([this](std::string_view group, std::string_view name, uint64_t total) {
        m_metrics.set_total(group, name, total);
    });
}

Result<void> VmmProcess::configure_logger(const api::LoggerSettings& logger) {
    return log::to_file(logger.log_path, logger.level, logger.show_level, m_opts.id);
}

Result<void> VmmProcess::configure_metrics(const std::string& path) { return m_metrics.open(path); }

Result<void> VmmProcess::flush_metrics() {
    report_counters();
    return m_metrics.flush();
}

}  // namespace trapeze::vmm
