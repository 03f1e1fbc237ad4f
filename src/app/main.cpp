// trapeze command line: `trapeze run [options]`, `trapeze rebase-snap`, and with no subcommand
// Firecracker's VMM process (docs/api.md).
//
// This is the only place that turns errors into messages and exit statuses: every
// failure is one line on stderr naming the problem, and a non-zero exit.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/guest_clock.hpp"
#include "base/log.hpp"
#include "base/shutdown_signals.hpp"
#include "machine/boot_disk.hpp"
#include "machine/guest_cache.hpp"
#include "machine/host_console.hpp"
#include "machine/riscv_machine.hpp"
#include "machine/x86_machine.hpp"
#include "runloop/cgroup.hpp"
#include "runloop/hart_affinity.hpp"
#include "sandbox/sandbox.hpp"
#include "snapshot/memory_file.hpp"
#include "vmm/debugger.hpp"
#include "vmm/record_replay.hpp"
#include "vmm/restore.hpp"
#include "vmm/snapshot_key.hpp"
#include "vmm/vmm_process.hpp"



namespace {

using namespace trapeze;
using machine::MachineConfig;

constexpr uint64_t kMinMemoryMib = 16;
constexpr uint64_t kMaxMemoryMib = 64 * 1024;
constexpr unsigned kMaxCpus = 32;
constexpr const char* kDefaultAppend = "console=ttyS0";

// For the options whose value is a name or a path: CLI11 takes `--gdb ""` as given with an
// empty value, which the checks after parsing could not tell from the option left out.
const CLI::Validator kNotEmpty(
    [](const std::string& value) {
        return value.empty() ? std::string("is empty (give a value, or leave the option out)") : std::string();
    },
    "");

// --memory: MiB, or with the suffix M or G as QEMU's -m takes it (512, 512M, 2G); nullopt for
// anything else.
std::optional<uint64_t> parse_memory_mib(std::string_view text) {
    uint64_t scale = 1;
    if (!text.empty() && (std::toupper(static_cast<unsigned char>(text.back())) == 'M' ||
                          std::toupper(static_cast<unsigned char>(text.back())) == 'G')) {
        scale = std::toupper(static_cast<unsigned char>(text.back())) == 'G' ? 1024 : 1;
        text.remove_suffix(1);
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > UINT64_MAX / scale)
        return std::nullopt;
    return v * scale;
}

// Turns --memory's value into MiB and checks its range: CLI11's Range alone answered "Value 1G
// not in range 16 to 65536" for a size given as QEMU users write it, and for no number at all,
// and after a conversion would name the MiB ("66560") instead of what was typed ("65G").
const CLI::Validator kMemorySize(
    [](std::string& value) {
        const auto mib = parse_memory_mib(value);
        if (!mib) return fmt::format("'{}' is not a size in MiB (512, 512M or 2G)", value);
        if (*mib < kMinMemoryMib || *mib > kMaxMemoryMib)
            return fmt::format("'{}' is not between {} MiB and {} GiB", value, kMinMemoryMib, kMaxMemoryMib / 1024);
        value = std::to_string(*mib);
        return std::string();
    },
    "");

// --cpus: CLI11's Range said "Value abc not in range 1 to 32" for what is no number at all.
const CLI::Validator kHartCount(
    [](std::string& value) {
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || ec == std::errc::invalid_argument || end != value.data() + value.size())
            return fmt::format("'{}' is not a number of harts (1 to {})", value, kMaxCpus);
        if (ec != std::errc{} || n < 1 || n > kMaxCpus) return fmt::format("'{}' is not 1 to {} harts", value, kMaxCpus);
        return std::string();
    },
    "");

// With no --kernel, boot the default guest that tools/fetch-guest put in the cache.
Result<void> apply_default_guest(MachineConfig& cfg, bool bios_given, bool initrd_given) {
    if (!cfg.kernel.empty()) return ok();
    const auto dir = machine::default_guest_dir();
    if (!std::filesystem::exists(dir / "Image"))
        return make_error("no --kernel given and no default guest in '{}' (run tools/fetch-guest, or `make run`)",
                          dir.string());
    cfg.kernel = (dir / "Image").string();
    if (!bios_given) cfg.bios = (dir / "fw_jump.bin").string();
    if (!initrd_given) cfg.initrd = (dir / "initrd.img").string();
    return ok();
}

// Debian's U-Boot for QEMU's virt board in S-mode (package u-boot-qemu), OpenSBI's payload for
// `--boot disk`.
constexpr const char* kDebianUBoot = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

// `--boot disk`: the firmware chain real RISC-V boards run, OpenSBI -> U-Boot -> whatever the
// disk's /boot/extlinux/extlinux.conf names (Debian's u-boot-menu writes it), so the guest's
// own kernel, initramfs and command line boot and kernel updates come through apt.
Result<void> apply_disk_boot(MachineConfig& cfg, const CLI::App& run) {
    for (const char* opt : {"--kernel", "--initrd", "--append"}) {
        if (run.count(opt) != 0)
            return make_error("--boot disk takes {} from the disk's /boot/extlinux/extlinux.conf, not the command line", opt);
    }
    if (cfg.disks.empty()) return make_error("--boot disk needs a --disk to boot from");
    TRAPEZE_TRY(machine::check_boot_disk(cfg.disks.front().path));
    if (!std::filesystem::is_regular_file(kDebianUBoot))
        return make_error("--boot disk needs Debian's U-Boot at '{}' (apt install u-boot-qemu; tools/install-deps does)",
                          kDebianUBoot);
    cfg.kernel = kDebianUBoot;
    return ok();
}

// --bios FILE: a regular file (an empty one is refused by the loader, load_boot_images, for
// every caller).
Result<void> check_firmware_file(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (st.type() == std::filesystem::file_type::not_found) return make_error("--bios: file '{}' does not exist", path);
    if (ec) return make_error("--bios: '{}': {}", path, ec.message());
    if (std::filesystem::is_directory(st)) return make_error("--bios: '{}' is a directory, not a firmware file", path);
    if (!std::filesystem::is_regular_file(st)) return make_error("--bios: '{}' is not a regular file", path);
    return ok();
}

int exit_status(const machine::RunResult& r) {
    using K = machine::RunResult::Kind;
    switch (r.kind) {
        case K::Poweroff:
        case K::Reset:
        case K::Quit: return 0;
        case K::Fail: return r.exit_code;
    }
    return 0;
}

// --record and --replay: which options go with which. A replay's machine is the recording's,
// so nothing may shape it but the engine (a recording replays under either) and how it runs.
Result<void> check_record_replay_options(const CLI::App& run, const std::string& record, const std::string& replay,
                                        uint64_t checkpoint_every) {
    if (!record.empty() && !replay.empty()) return make_error("--record and --replay exclude each other");
    for (const char* opt : {"--checkpoint-every", "--record-disk"})
        if (run.count(opt) != 0 && record.empty()) return make_error("{} goes with --record", opt);
    // 0 would read as the option left out: a recording without checkpoints.
    if (run.count("--checkpoint-every") != 0 && checkpoint_every == 0)
        return make_error("--checkpoint-every: 0 makes no checkpoints (give 1 or more, or leave the option out)");
    if (run.count("--replay-from") != 0 && replay.empty()) return make_error("--replay-from goes with --replay");
    if (!record.empty()) {
        for (const char* opt : {"--restore", "--arch"})
            if (run.count(opt) != 0) return make_error("{} does not go with --record (a recording starts at the boot of a riscv64 machine)", opt);
    }
    if (replay.empty()) return ok();
    for (const char* opt : {"--kernel", "--initrd", "--bios", "--append", "--memory", "--cpus", "--hypervisor", "--disk", "--net", "--boot",
                            "--console", "--no-rng", "--restore", "--arch", "--on-reboot", "--deterministic", "--snapshot-path",
                            "--hart-affinity"})
        if (run.count(opt) != 0)  // --no-hypervisor counts as --hypervisor: it is the same flag
            return make_error("{} does not go with --replay: the machine is the recording's",
                              std::string_view(opt) == "--hypervisor" ? "--hypervisor/--no-hypervisor" : opt);
    return ok();
}

// What `run` does besides booting: resume a snapshot, and where Ctrl-A s saves one.
struct SnapshotOptions {
    std::optional<vmm::SnapshotSource> restore;
    std::string save_path;  // --snapshot-path: the state file; memory beside it (.mem)
};

// Ctrl-A s with --snapshot-path (nullptr without). Before console.start().
Result<std::unique_ptr<vmm::SnapshotKey>> snapshot_key(machine::HostConsole& console, const SnapshotOptions& snap) {
    if (snap.save_path.empty()) return std::unique_ptr<vmm::SnapshotKey>{};
    return vmm::SnapshotKey::start(console);
}

// --record or --replay: at most one is set.
struct RecordReplay {
    std::unique_ptr<replay::Recorder> recorder;
    std::unique_ptr<replay::Replayer> replayer;
    std::string private_disk_dir;  // a checksum-mode replay's disk copies, removed at the end
    std::string log_path;          // the replay's log
    std::optional<uint64_t> replay_from;

    machine::HostInputs* inputs() const {
        if (recorder) return recorder.get();
        return replayer.get();
    }
    ~RecordReplay() {
        if (!private_disk_dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(private_disk_dir, ec);
        }
    }
};

Result<std::unique_ptr<machine::RiscvMachine>> build_machine(const MachineConfig& cfg, machine::HostConsole& console,
                                                             const SnapshotOptions& snap, const RecordReplay& rr) {
    if (!snap.restore) return machine::RiscvMachine::create(cfg, console, rr.inputs());
    auto m = machine::RiscvMachine::restore(cfg, console, snap.restore->contents, snap.restore->memory.get(), rr.inputs());
    if (!m) return std::move(m).context(fmt::format("restore '{}'", snap.restore->state_path));
    return m;
}

// After the run: the recording closed, or the replay's verdict; the exit status then.
int end_record_replay(const RecordReplay& rr, const machine::RiscvMachine& m, int status) {
    if (rr.recorder) {
        if (auto f = rr.recorder->finish(m.icount()); !f) {
            fmt::print(stderr, "trapeze: --record: {}\n", f.error().message);
            return 1;
        }
        fmt::print(stderr, "trapeze: {}\n", vmm::recording_summary(*rr.recorder, m.icount()));
        return status;
    }
    if (!rr.replayer) return status;
    if (!m.stop_message().empty()) {
        fmt::print(stderr, "trapeze: {}\n", m.stop_message());
        return status;
    }
    if (m.killed_by_debugger()) {
        fmt::print(stderr, "trapeze: replay ended by the debugger at instruction {}\n", m.icount());
        return status;
    }
    auto end = rr.replayer->check_end(m.icount());
    fmt::print(stderr, "trapeze: {}\n", end ? *end : end.error().message);
    return end ? status : 1;
}

int run_vm(MachineConfig cfg, machine::HostConsole& console, const SnapshotOptions& snap, const vmm::GdbOptions& gdb,
           const RecordReplay& rr = {}) {
    const uint64_t start_ns = GuestClock::host_ns();
    uint64_t retired = 0;
    std::string engine_summary;  // of the last machine (--on-reboot restart makes several)
    const bool user_net = std::any_of(cfg.nets.begin(), cfg.nets.end(), [](const virtio::NetConfig& n) {
        return n.backend == virtio::NetConfig::Backend::User;
    });
    sandbox::set_needs({.user_net = user_net,
                        .rebuild = cfg.on_reboot == machine::OnReboot::Restart,
                        .checkpoints = rr.recorder && rr.recorder->checkpoint_every() != 0,
                        .time_travel = rr.replayer && !gdb.address.empty()});
    auto key = snapshot_key(console, snap);
    if (!key) {
        fmt::print(stderr, "trapeze: {}\n", key.error().message);
        return 1;
    }
    console.start();
    int status = 0;
    bool confined = false;
    for (;;) {
        auto m = build_machine(cfg, console, snap, rr);
        if (!m) {
            console.stop();
            fmt::print(stderr, "trapeze: {}\n", m.error().message);
            return 1;
        }
        if (rr.recorder) vmm::take_checkpoints(*rr.recorder, **m);
        if (*key) {
            const machine::SnapshotTarget target{snap.save_path, vmm::default_memory_path(snap.save_path)};
            (*key)->set_save([&machine = **m, target] { return vmm::save_riscv_snapshot(machine, target); });
        }
        std::unique_ptr<vmm::Debugger> debugger;
        if (!gdb.address.empty()) {
            auto d = rr.inputs() != nullptr ? vmm::Debugger::start(**m, gdb, rr.replayer.get(), rr.log_path, rr.replay_from)
                                            : vmm::Debugger::start(**m, gdb);
            if (!d) {
                console.stop();
                fmt::print(stderr, "trapeze: {}\n", d.error().message);
                return 1;
            }
            debugger = std::move(*d);
        }
        if (!confined) {  // the first machine is built: from here on, only what running needs
            if (auto c = sandbox::confine_this_thread(sandbox::ThreadKind::Vmm); !c) {
                console.stop();
                fmt::print(stderr, "trapeze: {}\n", c.error().message);
                return 1;
            }
            confined = true;
        }
        const machine::RunResult r = (*m)->run();
        if (debugger) debugger->machine_ended(exit_status(r));
        if (*key) (*key)->set_save({});
        retired += (*m)->retired();
        engine_summary = (*m)->engine_summary();
        if (r.kind == machine::RunResult::Kind::Reset && cfg.on_reboot == machine::OnReboot::Restart) continue;
        status = end_record_replay(rr, **m, exit_status(r));
        break;
    }
    console.stop();
    if (cfg.stats) {
        const double secs = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e9;
        fmt::print(stderr, "\ntrapeze: retired {} instructions in {:.3f} s ({:.1f} MIPS)\n", retired, secs,
                   static_cast<double>(retired) / secs / 1e6);
        fmt::print(stderr, "trapeze: {}\n", engine_summary);
    }
    return status;
}

// x86-64 on KVM: the vCPU threads run inside X86Machine::run(); a pump thread feeds the
// terminal to COM1 and turns Ctrl-A x into a host stop.
// A restored x86 VM: the snapshot's board, with --memory, --cpus and --disk on top (restore
// refuses what does not match).
Result<std::unique_ptr<X86Machine>> restore_x86(const MachineConfig& cfg, const vmm::SnapshotSource& src,
                                                const CLI::App& run) {
    TRAPEZE_TRY_ASSIGN(xc, X86Machine::snapshot_config(src.contents));
    if (run.count("--memory") != 0) xc.memory_mib = cfg.memory_mib;
    if (run.count("--cpus") != 0) xc.cpus = cfg.cpus;
    if (!cfg.disks.empty()) {
        xc.disks.clear();
        for (const auto& d : cfg.disks) xc.disks.push_back(virtio::BlkConfig{d.path, d.read_only, d.id, d.rate_limiter});
    }
    xc.cpu_quota_percent = cfg.cpu_quota_percent;
    auto m = X86Machine::restore_snapshot(xc, src.contents, src.memory.get());
    if (!m) return std::move(m).context(fmt::format("restore '{}'", src.state_path));
    return m;
}

int run_x86(const MachineConfig& cfg, machine::HostConsole& console, const SnapshotOptions& snap,
            const vmm::GdbOptions& gdb, const CLI::App& run) {
    X86Config xc;
    xc.kernel = cfg.kernel;
    xc.initrd = cfg.initrd.value_or("");
    xc.cmdline = cfg.append.empty() ? "console=ttyS0" : cfg.append;
    xc.memory_mib = cfg.memory_mib;
    xc.cpus = cfg.cpus;
    xc.cpu_quota_percent = cfg.cpu_quota_percent;
    for (const auto& d : cfg.disks) xc.disks.push_back(virtio::BlkConfig{d.path, d.read_only, d.id, d.rate_limiter});
    auto m = snap.restore ? restore_x86(cfg, *snap.restore, run) : X86Machine::create(xc);
    if (!m) {
        fmt::print(stderr, "trapeze: {}\n", m.error().message);
        return 1;
    }
    auto key = snapshot_key(console, snap);
    if (!key) {
        fmt::print(stderr, "trapeze: {}\n", key.error().message);
        return 1;
    }
    if (*key)
        (*key)->set_save([&machine = **m, state = snap.save_path] { return vmm::save_x86_snapshot(machine, state); });
    std::unique_ptr<vmm::Debugger> debugger;
    if (!gdb.address.empty()) {
        auto d = vmm::Debugger::start(**m, gdb);
        if (!d) {
            fmt::print(stderr, "trapeze: {}\n", d.error().message);
            return 1;
        }
        debugger = std::move(*d);
    }
    const X86Exit exit = vmm::run_x86_with_console(**m, console);
    if (debugger) debugger->machine_ended(exit_status(exit.reason));
    if (*key) (*key)->set_save({});
    if (exit.reason != X86ExitReason::PowerOff && exit.reason != X86ExitReason::Stopped)
        fmt::print(stderr, "trapeze: guest ended: {}{}{}\n", to_string(exit.reason), exit.detail.empty() ? "" : ": ",
                   exit.detail);
    return exit_status(exit.reason);
}

// The first signal asks the machine to stop (it ends its slice, syncs disks, flushes output,
// restores the terminal; `finish` then names the signal); a second forces the exit.
Result<std::unique_ptr<ShutdownSignals>> watch_shutdown_signals(machine::HostConsole& console) {
    auto force = [&console](const ShutdownSignals::Caught& c) {
        console.restore_terminal();
        // The terminal may be the very thing that takes no output: the line is written from a
        // thread of its own and the exit does not wait for it more than a moment.
        std::thread([c] {
            fmt::print(stderr, "\ntrapeze: {} while stopping: exiting at once\n", ShutdownSignals::describe(c));
        }).detach();
        ::poll(nullptr, 0, 100);
        _exit(ShutdownSignals::exit_status(c.signo));
    };
    return ShutdownSignals::start([&console](const ShutdownSignals::Caught&) { console.request_quit(); },
                                  std::move(force),
                                  [] { return sandbox::confine_this_thread(sandbox::ThreadKind::Signals); });
}

// The exit status of a run that a signal stopped is the signal's, with one line naming it
// (QEMU: "terminating on signal 15 from pid ...").
int finish(int status, const ShutdownSignals& signals) {
    const auto caught = signals.caught();
    if (!caught) return status;
    fmt::print(stderr, "trapeze: terminating on {}\n", ShutdownSignals::describe(*caught));
    return ShutdownSignals::exit_status(caught->signo);
}

// Opens /dev/null on each of stdin, stdout and stderr that was closed (`trapeze run >&- 2>&-`):
// the next file opened would take its number, and then the console reader read the signalfd
// (taking SIGTERM from its watcher, so trapeze no longer stopped on it) and error lines went into
// the --record log or a disk image. sshd's sanitise_stdfd does the same.
bool open_standard_fds() {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // The lowest free number, which is fd: the ones below it are open by now.
        const int null = ::open("/dev/null", O_RDWR);
        if (null != fd) return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (!open_standard_fds()) return 1;  // no /dev/null: nothing safe to print to either
    CLI::App app{"trapeze: a virtual machine monitor"};
    app.require_subcommand(0, 1);
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Log debug messages to stderr");
    bool no_seccomp = false;
    app.add_flag("--no-seccomp", no_seccomp, "Run without the seccomp filters (docs/architecture.md, Sandbox)");

    // Without a subcommand: Firecracker's process interface (docs/api.md).
    vmm::VmmProcessOptions vmm_opts;
    bool no_api = false;
    std::string vmm_engine = "jit";
    app.add_option("--api-sock", vmm_opts.api_sock, "Serve Firecracker's API on this unix socket (VMM process mode)")
        ->check(kNotEmpty);
    app.add_option("--id", vmm_opts.id, "VMM mode: the instance id GET / reports (1-64 letters, digits, '-')")
        ->check([](const std::string& id) -> std::string {
            const bool ok = !id.empty() && id.size() <= 64 &&
                            std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
            return ok ? "" : "--id must be 1 to 64 letters, digits or '-' (as Firecracker's)";
        });
    app.add_option("--config-file", vmm_opts.config_file, "VMM mode: start the VM described by this Firecracker JSON file")
        ->check(CLI::ExistingFile);
    app.add_flag("--no-api", no_api, "VMM mode: no API socket (needs --config-file)");
    app.add_option("--http-api-max-payload-size", vmm_opts.max_payload, "VMM mode: largest request body in bytes")
        ->check(CLI::Range(size_t{1024}, size_t{1} << 24));
    app.add_option("--vm-engine", vmm_engine, "VMM mode: RISC-V engine, interp or jit")
        ->check(CLI::IsMember({"interp", "jit"}));
    app.add_option("--vm-cpu-quota", vmm_opts.vm.cpu_quota_percent,
                   "VMM mode: share of host CPU time the VM may use, in percent of one CPU")
        ->check(CLI::Range(1u, 100u * kMaxCpus));

    MachineConfig cfg;
    std::string engine;
    std::string arch = "riscv64";
    std::string bios;
    std::string initrd;
    std::string on_reboot = "exit";
    bool no_stats = false;
    bool no_rng = false;
    std::vector<std::string> disks;
    std::vector<std::string> nets;
    std::string console = "serial";
    CLI::App* run = app.add_subcommand("run", "Boot a virtual machine");
    run->add_option("--arch", arch, "Guest architecture")->check(CLI::IsMember({"riscv64", "x86_64"}));
    run->add_option("--engine", engine, "CPU engine: interp or jit (riscv64), kvm (x86_64)")
        ->check(CLI::IsMember({"interp", "jit", "kvm"}));
    run->add_option("--kernel", cfg.kernel, "Kernel: Linux Image or ELF (default: the cached Debian guest)")
        ->check(CLI::ExistingFile);
    run->add_option("--initrd", initrd, "Initial ramdisk")->check(CLI::ExistingFile);
    run->add_option("--bios", bios, "M-mode firmware (e.g. OpenSBI fw_jump.bin), or 'none' to start an ELF kernel in M-mode")
        ->check(kNotEmpty);
    run->add_option("--append", cfg.append, "Kernel command line");
    run->add_option("--memory", cfg.memory_mib, "Guest RAM in MiB, or with a suffix M or G (2G)")
        ->transform(kMemorySize);
    run->add_option("--cpus", cfg.cpus, "Number of harts (each on a host thread of its own, unless --deterministic)")
        ->check(kHartCount);
    run->add_flag("--hypervisor,!--no-hypervisor", cfg.hypervisor,
                  "riscv64: the harts implement the hypervisor extension (H), as QEMU's virt CPU does (the default); "
                  "--no-hypervisor: without it");
    run->add_flag("--deterministic", cfg.deterministic,
                  "riscv64: harts take turns on one host thread in a fixed order (repeatable runs)");
    run->add_option("--on-reboot", on_reboot, "What a guest reboot does")->check(CLI::IsMember({"exit", "restart"}));
    run->add_option("--disk", disks, "virtio-blk disk: PATH[,ro][,id=NAME][,bw=BYTES][,iops=N] (bw in bytes/s, iops in requests/s, K/M/G suffixes are binary; repeatable; the first is vda)")
        ->take_all();
    run->add_option("--net", nets,
                    "virtio-net: user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT][,mac=MAC] or tap=NAME[,mac=MAC] "
                    "(repeatable)")
        ->take_all();
    std::string boot = "kernel";
    run->add_option("--boot", boot,
                    "kernel: --kernel/--initrd/--append (default); disk: OpenSBI, then Debian's U-Boot, boots what "
                    "the first disk's extlinux.conf names")
        ->check(CLI::IsMember({"kernel", "disk"}));
    run->add_option("--console", console, "Guest console on the terminal: serial (ttyS0) or virtio (hvc0)")
        ->check(CLI::IsMember({"serial", "virtio"}));
    run->add_flag("--no-rng", no_rng, "Do not attach the virtio-rng entropy device");
    bool no_ram_prefault = false;
    run->add_flag("--no-ram-prefault", no_ram_prefault,
                  "RISC-V: do not populate fresh guest RAM ahead of the guest (its resident part stays what the "
                  "guest has touched)");
    run->add_option("--cpu-quota", cfg.cpu_quota_percent,
                    "Share of the host's CPUs the VM may use, in percent of one CPU (150 = 1.5 CPUs; default: no limit)")
        ->check(CLI::Range(1u, 100u * kMaxCpus));
    std::string hart_affinity;
    run->add_option("--hart-affinity", hart_affinity,
                    "riscv64: the host CPUs each hart's thread may run on, one taskset-style list per hart in hart "
                    "order, separated by '/' (--cpus 4 --hart-affinity 0/2/4/6; 0-1/2-3 for two harts)")
        ->check(kNotEmpty);
    std::string cgroup;
    app.add_option("--cgroup", cgroup,
                   "Move trapeze into this cgroup v2 directory at start (its cpu.max and other limits then apply)")
        ->check(kNotEmpty);
    run->add_flag("--no-stats", no_stats, "Do not print retired instructions, MIPS and engine counters at exit");
    std::string restore_path, mem_file, snapshot_path;
    run->add_option("--restore", restore_path,
                    "Resume the VM saved in this snapshot state file (its board comes from the snapshot; options "
                    "given must match it)")
        ->check(CLI::ExistingFile);
    run->add_option("--mem-file", mem_file, "--restore: the snapshot's memory file (default: STATE.mem)")
        ->check(CLI::ExistingFile);
    run->add_option("--snapshot-path", snapshot_path,
                    "Ctrl-A s saves a snapshot of the running VM to this state file (memory in PATH.mem)")
        ->check(kNotEmpty);
    vmm::GdbOptions gdb;
    run->add_option("--gdb", gdb.address,
                    "Serve gdb's remote protocol here: tcp::PORT (localhost), tcp:HOST:PORT or unix:PATH (QEMU's -gdb)")
        ->check(kNotEmpty);
    run->add_flag("--gdb-wait", gdb.wait, "--gdb: start with every hart stopped until gdb continues (QEMU's -S)");
    std::string record_path, replay_path, record_disk = "log";
    uint64_t checkpoint_every = 0;
    std::optional<uint64_t> replay_from;
    run->add_option("--record", record_path,
                    "riscv64: record every input from the host in this log (the harts take turns), to --replay it")
        ->check(kNotEmpty);
    run->add_option("--checkpoint-every", checkpoint_every,
                    "--record: a snapshot of the whole machine every N instructions (beside the log), to replay from");
    run->add_option("--record-disk", record_disk,
                    "--record: log (the data of every disk read; the default) or checksum (of each disk at the start)")
        ->check(CLI::IsMember({"log", "checksum"}));
    run->add_option("--replay", replay_path, "Replay this recording: the machine it names, every input from the log")
        ->check(CLI::ExistingFile);
    run->add_option("--replay-from", replay_from, "--replay: start at the recording's checkpoint N (0 is the first)");

    // Firecracker's rebase-snap tool: a Diff snapshot's memory file merged onto the memory file
    // of the snapshot before it, which then restores with the Diff's state file.
    std::string rebase_base, rebase_diff;
    CLI::App* rebase = app.add_subcommand("rebase-snap", "Merge a Diff snapshot's memory file onto its base memory file");
    rebase->add_option("--base-file", rebase_base, "The base memory file (changed in place)")->required()->check(CLI::ExistingFile);
    rebase->add_option("--diff-file", rebase_diff, "The Diff snapshot's memory file")->required()->check(CLI::ExistingFile);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        // One line naming the problem, never a usage dump.
        fmt::print(stderr, "trapeze: {}\n", e.what());
        return 2;
    }
    log::init(verbose);
    if (rebase->parsed()) {
        auto copied = snapshot::rebase_memory_file(rebase_base, rebase_diff);
        if (!copied) {
            fmt::print(stderr, "trapeze: rebase-snap: {}\n", copied.error().message);
            return 1;
        }
        fmt::print(stderr, "trapeze: rebase-snap: {} bytes of '{}' written onto '{}'\n", *copied, rebase_diff, rebase_base);
        return 0;
    }
    sandbox::enable(!no_seccomp);  // before any thread starts
    if (!cgroup.empty()) {
        if (auto j = runloop::join_cgroup(cgroup); !j) {
            fmt::print(stderr, "trapeze: {}\n", j.error().message);
            return 1;
        }
    }
    if (cfg.cpu_quota_percent > 100 * cfg.cpus) {
        fmt::print(stderr, "trapeze: --cpu-quota {} is more than {} CPU(s) can use\n", cfg.cpu_quota_percent, cfg.cpus);
        return 2;
    }
    // Before any other thread exists (ShutdownSignals blocks the signals it takes in every
    // thread started after it).
    machine::HostConsole terminal;
    auto signals = watch_shutdown_signals(terminal);
    if (!signals) {
        fmt::print(stderr, "trapeze: {}\n", signals.error().message);
        return 1;
    }
    // A console reader that goes away (`trapeze run | head`) must not kill the machine in the
    // middle of a disk write: its output is dropped instead (HostConsole::flush), as in QEMU.
    std::signal(SIGPIPE, SIG_IGN);

    if (!run->parsed()) {
        if (vmm_opts.api_sock.empty() && vmm_opts.config_file.empty()) {
            fmt::print(stderr, "trapeze: give a subcommand (`trapeze run ...`) or --api-sock PATH / --config-file FILE\n");
            return 2;
        }
        if (no_api && !vmm_opts.api_sock.empty()) {
            fmt::print(stderr, "trapeze: --no-api and --api-sock exclude each other\n");
            return 2;
        }
        if (vmm_opts.api_sock.empty() && !no_api) {
            fmt::print(stderr, "trapeze: without --api-sock, give --no-api with --config-file\n");
            return 2;
        }
        vmm_opts.vm.engine = vmm_engine == "interp" ? machine::Engine::Interp : machine::Engine::Jit;
        vmm::VmmProcess process(std::move(vmm_opts), terminal);
        return finish(process.run(), **signals);
    }

    if (gdb.wait && gdb.address.empty()) {
        fmt::print(stderr, "trapeze: --gdb-wait goes with --gdb ADDRESS\n");
        return 2;
    }
    if (!gdb.address.empty() && on_reboot == "restart") {
        fmt::print(stderr, "trapeze: --gdb does not go with --on-reboot restart (gdb would lose its machine at each reboot)\n");
        return 2;
    }
    if (auto r = check_record_replay_options(*run, record_path, replay_path, checkpoint_every); !r) {
        fmt::print(stderr, "trapeze: {}\n", r.error().message);
        return 2;
    }
    SnapshotOptions snap;
    snap.save_path = snapshot_path;
    if (!replay_path.empty()) {
        const auto e = engine == "interp" ? machine::Engine::Interp : machine::Engine::Jit;
        auto setup = vmm::open_replay(replay_path, e, replay_from);
        if (!setup) {
            fmt::print(stderr, "trapeze: {}\n", setup.error().message);
            return 1;
        }
        RecordReplay rr;
        rr.replayer = std::move(setup->replayer);
        rr.private_disk_dir = setup->private_disk_dir;
        rr.log_path = replay_path;
        rr.replay_from = replay_from;
        snap.restore = std::move(setup->checkpoint);
        setup->config.stats = !no_stats;
        setup->config.cpu_quota_percent = cfg.cpu_quota_percent;
        return finish(run_vm(setup->config, terminal, snap, gdb, rr), **signals);
    }
    if (!mem_file.empty() && restore_path.empty()) {
        fmt::print(stderr, "trapeze: --mem-file goes with --restore\n");
        return 2;
    }
    if (!restore_path.empty()) {
        for (const char* opt : {"--kernel", "--initrd", "--bios", "--append", "--arch", "--boot"}) {
            if (run->count(opt) != 0) {
                fmt::print(stderr, "trapeze: {} does not go with --restore: the snapshot's RAM holds what booted\n", opt);
                return 2;
            }
        }
        if (on_reboot == "restart") {
            fmt::print(stderr, "trapeze: --on-reboot restart does not go with --restore (there is no kernel to boot again)\n");
            return 2;
        }
        auto src = vmm::open_snapshot(restore_path, mem_file.empty() ? vmm::default_memory_path(restore_path) : mem_file);
        if (!src) {
            fmt::print(stderr, "trapeze: --restore: {}\n", src.error().message);
            return 1;
        }
        arch = src->header.arch;
        snap.restore = std::move(*src);
    }

    // The translator is the default RISC-V engine: it passes every test the interpreter passes.
    if (engine.empty()) engine = arch == "x86_64" ? "kvm" : "jit";
    if ((arch == "x86_64") != (engine == "kvm")) {
        fmt::print(stderr, "trapeze: engine '{}' does not run {} guests (riscv64: interp, jit; x86_64: kvm)\n", engine,
                   arch);
        return 2;
    }
    if (arch == "x86_64") {
        if (cfg.kernel.empty() && !snap.restore) {
            fmt::print(stderr, "trapeze: --arch x86_64 needs --kernel (a PVH vmlinux or a bzImage)\n");
            return 2;
        }
        if (!bios.empty()) {
            fmt::print(stderr, "trapeze: --bios is not used with --arch x86_64 (the kernel is entered directly)\n");
            return 2;
        }
        if (boot != "kernel") {
            fmt::print(stderr, "trapeze: --boot disk is for riscv64 (U-Boot); x86_64 enters --kernel directly\n");
            return 2;
        }
        if (!hart_affinity.empty()) {
            fmt::print(stderr, "trapeze: --hart-affinity is for riscv64's hart threads (x86_64: pin trapeze with taskset)\n");
            return 2;
        }
        auto parsed = machine::parse_disk_options(disks);
        if (!parsed) {
            fmt::print(stderr, "trapeze: {}\n", parsed.error().message);
            return 2;
        }
        cfg.disks = std::move(*parsed);
        if (!initrd.empty()) cfg.initrd = initrd;
        return finish(run_x86(cfg, terminal, snap, gdb, *run), **signals);
    }

    if (snap.restore) {
        // The snapshot's board, with what the command line says on top: RAM and harts must
        // then agree with it (restore checks), disks may be other files, the engine is free.
        auto saved = machine::RiscvMachine::snapshot_config(snap.restore->contents);
        if (!saved) {
            fmt::print(stderr, "trapeze: --restore: {}\n", saved.error().message);
            return 1;
        }
        const MachineConfig given = cfg;
        cfg = *saved;
        if (run->count("--memory") != 0) cfg.memory_mib = given.memory_mib;
        if (run->count("--cpus") != 0) cfg.cpus = given.cpus;
        if (run->count("--hypervisor") != 0) cfg.hypervisor = given.hypervisor;
        cfg.deterministic = given.deterministic;
        cfg.cpu_quota_percent = given.cpu_quota_percent;
        if (!disks.empty()) cfg.disks.clear();
        if (!nets.empty()) cfg.nets.clear();
        if (run->count("--console") == 0) console = cfg.console == machine::ConsoleKind::Virtio ? "virtio" : "serial";
        if (!no_rng) no_rng = !cfg.rng;
    }
    // A restored VM keeps the snapshot's engine unless told otherwise (either works).
    if (!snap.restore || run->count("--engine") != 0)
        cfg.engine = engine == "jit" ? machine::Engine::Jit : machine::Engine::Interp;
    cfg.on_reboot = on_reboot == "restart" ? machine::OnReboot::Restart : machine::OnReboot::Exit;
    cfg.stats = !no_stats;
    cfg.ram_prefault = !no_ram_prefault;
    cfg.rng = !no_rng;
    auto parsed_disks = machine::parse_disk_options(disks);
    if (!parsed_disks) {
        fmt::print(stderr, "trapeze: {}\n", parsed_disks.error().message);
        return 2;
    }
    if (!disks.empty()) cfg.disks = std::move(*parsed_disks);
    for (const std::string& spec : nets) {
        auto net = virtio::parse_net_option(spec);
        if (!net) {
            fmt::print(stderr, "trapeze: {}\n", net.error().message);
            return 2;
        }
        cfg.nets.push_back(*net);
    }
    cfg.console = console == "virtio" ? machine::ConsoleKind::Virtio : machine::ConsoleKind::Serial;
    if (!hart_affinity.empty()) {
        auto affinity = runloop::parse_hart_affinity(hart_affinity, cfg.cpus);
        if (!affinity) {
            fmt::print(stderr, "trapeze: {}\n", affinity.error().message);
            return 2;
        }
        cfg.hart_affinity = std::move(*affinity);
    }
    if (snap.restore) return finish(run_vm(cfg, terminal, snap, gdb), **signals);
    if (!initrd.empty()) cfg.initrd = initrd;
    if (bios != "none" && !bios.empty()) {
        if (auto r = check_firmware_file(bios); !r) {
            fmt::print(stderr, "trapeze: {}\n", r.error().message);
            return 2;
        }
        cfg.bios = bios;
    }
    if (boot == "disk") {
        if (auto r = apply_disk_boot(cfg, *run); !r) {
            fmt::print(stderr, "trapeze: {}\n", r.error().message);
            return 2;
        }
    }
    const bool kernel_given = !cfg.kernel.empty();
    if (auto r = apply_default_guest(cfg, !bios.empty(), !initrd.empty()); !r) {
        fmt::print(stderr, "trapeze: {}\n", r.error().message);
        return 2;
    }
    if (bios.empty() && !cfg.bios && kernel_given) {
        // A kernel without --bios: use the cached OpenSBI, as QEMU uses its bundled one.
        const auto fw = machine::default_guest_dir() / "fw_jump.bin";
        if (!std::filesystem::exists(fw)) {
            fmt::print(stderr, "trapeze: no --bios given and no default firmware at '{}'\n", fw.string());
            return 2;
        }
        cfg.bios = fw.string();
    }
    if (cfg.append.empty() && cfg.bios && boot != "disk")
        cfg.append = cfg.console == machine::ConsoleKind::Virtio ? "console=hvc0" : kDefaultAppend;
    RecordReplay rr;
    if (!record_path.empty()) {
        const replay::RecordOptions opts{record_path, checkpoint_every,
                                         record_disk == "checksum" ? replay::DiskMode::Checksum : replay::DiskMode::Log};
        auto recorder = vmm::start_recording(cfg, opts);
        if (!recorder) {
            fmt::print(stderr, "trapeze: {}\n", recorder.error().message);
            return 1;
        }
        rr.recorder = std::move(*recorder);
    }
    return finish(run_vm(cfg, terminal, snap, gdb, rr), **signals);
}
