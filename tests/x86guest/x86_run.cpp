// x86_run: the test driver for X86Machine. Runs a kernel, copies the guest's serial output to
// stdout, and checks it:
//
//   x86_run KERNEL [--disk IMG] [--cmdline S] [--mem MIB] [--cpus N]
//           [--expect-exit poweroff|reset|triple|stopped] [--expect TEXT]... [--stop-on TEXT]
//           [--timeout SECONDS] [--no-ioeventfd] [--input TEXT] [--cpu-quota PERCENT]
//
// --stop-on ends the VM (exit "stopped") as soon as the output contains TEXT.
//
// Snapshots: with --snapshot-on TEXT --state FILE --memfile FILE, once the output contains TEXT the
// machine is paused from another thread, saved, and then stopped (exit "stopped"), or resumed
// with --after-snapshot resume. `x86_run --restore STATE MEM` instead runs the machine a
// snapshot holds, configured from the snapshot (--mem, --cpus and --disk override it).
// --output FILE receives the guest's serial bytes alone, for exact comparisons.
// The summary line gives the wall-clock time (CLOCK_REALTIME, ns) of the guest's first serial
// byte, so bench/kvm.sh can measure process start -> guest running.
// Exit status: 0 if the guest ended as expected and printed every --expect text, 1 if not,
// 77 if KVM is unusable here (ctest SKIP_RETURN_CODE; the reason is printed).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kvm/kvm_system.hpp"
#include "machine/x86_machine.hpp"
#include "snapshot/snapshot_file.hpp"

using namespace trapeze;

namespace {

struct Options {
    X86Config config;
    std::string expect_exit = "poweroff";
    std::vector<std::string> expect;
    std::string stop_on;
    std::string input;  // typed into COM1 while the guest runs
    unsigned timeout = 120;
    std::string snapshot_on, state_path, mem_path;
    bool resume_after_snapshot = false;
    std::string restore_state, restore_mem;
    std::optional<uint64_t> mem;
    std::optional<uint32_t> cpus;
    std::string output_path;
};

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--disk") o.config.disks.push_back({next(), true, "x86guest"});
        else if (a == "--cmdline") o.config.cmdline = next();
        else if (a == "--initrd") o.config.initrd = next();
        else if (a == "--mem") o.mem = std::stoull(next());
        else if (a == "--cpus") o.cpus = static_cast<uint32_t>(std::stoul(next()));
        else if (a == "--snapshot-on") o.snapshot_on = next();
        else if (a == "--state") o.state_path = next();
        else if (a == "--memfile") o.mem_path = next();
        else if (a == "--after-snapshot") o.resume_after_snapshot = next() == "resume";
        else if (a == "--restore") {
            o.restore_state = next();
            o.restore_mem = next();
        } else if (a == "--output") o.output_path = next();
        else if (a == "--expect-exit") o.expect_exit = next();
        else if (a == "--expect") o.expect.push_back(next());
        else if (a == "--stop-on") o.stop_on = next();
        else if (a == "--no-ioeventfd") o.config.ioeventfd = false;
        else if (a == "--input") o.input = next();
        else if (a == "--cpu-quota") o.config.cpu_quota_percent = static_cast<unsigned>(std::stoul(next()));
        else if (a == "--timeout") o.timeout = static_cast<unsigned>(std::stoul(next()));
        else if (o.config.kernel.empty()) o.config.kernel = a;
        else return false;
    }
    if (o.mem) o.config.memory_mib = *o.mem;
    if (o.cpus) o.config.cpus = *o.cpus;
    if (!o.snapshot_on.empty() && (o.state_path.empty() || o.mem_path.empty())) return false;
    return !o.config.kernel.empty() || !o.restore_state.empty();
}

const char* exit_name(X86ExitReason r) {
    switch (r) {
    case X86ExitReason::PowerOff: return "poweroff";
    case X86ExitReason::Reset: return "reset";
    case X86ExitReason::TripleFault: return "triple";
    case X86ExitReason::Error: return "error";
    case X86ExitReason::Stopped: return "stopped";
    }
    return "?";
}

}  // namespace

// Builds the machine: from the kernel, or from a snapshot (its board unless overridden).
Result<std::unique_ptr<X86Machine>> make_machine(Options& o) {
    if (o.restore_state.empty()) return X86Machine::create(o.config);
    auto snap = snapshot::read_snapshot_file(o.restore_state);
    if (!snap.ok()) return snap.error();
    auto saved = X86Machine::snapshot_config(*snap);
    if (!saved.ok()) return saved.error();
    X86Config config = *saved;
    config.console_out = o.config.console_out;
    config.ioeventfd = o.config.ioeventfd;
    config.cpu_quota_percent = o.config.cpu_quota_percent;
    if (o.mem) config.memory_mib = *o.mem;
    if (o.cpus) config.cpus = *o.cpus;
    if (!o.config.disks.empty()) config.disks = o.config.disks;
    return X86Machine::restore_snapshot(config, o.restore_state, o.restore_mem);
}

// Pauses, saves and then stops or resumes the machine once asked to (from the console
// callback, which runs on a vCPU thread and so cannot pause the machine itself).
class Snapshotter {
public:
    explicit Snapshotter(const Options& o) : m_o(o) {}
    void request() {
        std::lock_guard lock(m_lock);
        m_requested = true;
        m_cv.notify_all();
    }
    void start(X86Machine& machine) {
        m_thread = std::thread([this, &machine] { serve(machine); });
    }
    void finish() {
        {
            std::lock_guard lock(m_lock);
            m_done = true;
            m_cv.notify_all();
        }
        if (m_thread.joinable()) m_thread.join();
    }
    bool failed() const { return m_failed; }

private:
    void serve(X86Machine& machine) {
        std::unique_lock lock(m_lock);
        m_cv.wait(lock, [this] { return m_requested || m_done; });
        if (!m_requested) return;
        machine.pause();
        auto saved = machine.save_snapshot(m_o.state_path, m_o.mem_path);
        if (!saved.ok()) {
            std::printf("x86_run: FAIL: %s\n", saved.error().message.c_str());
            m_failed = true;
        } else {
            std::printf("\nx86_run: snapshot saved to %s and %s\n", m_o.state_path.c_str(), m_o.mem_path.c_str());
        }
        std::fflush(stdout);
        if (m_o.resume_after_snapshot && !m_failed)
            machine.resume();
        else
            machine.stop();
    }

    const Options& m_o;
    std::mutex m_lock;
    std::condition_variable m_cv;
    bool m_requested = false;
    bool m_done = false;
    bool m_failed = false;
    std::thread m_thread;
};

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: x86_run KERNEL|--restore STATE MEMFILE [--disk IMG] [--cmdline S] [--mem MIB] "
                             "[--cpus N] [--expect-exit poweroff|reset|triple|stopped] [--expect TEXT]... "
                             "[--stop-on TEXT] [--timeout S] [--snapshot-on TEXT --state FILE --memfile FILE "
                             "[--after-snapshot stop|resume]] [--output FILE]\n");
        return 1;
    }
    if (auto sys = kvm::KvmSystem::open(); !sys.ok()) {
        std::printf("SKIP: %s\n", sys.error().message.c_str());
        return 77;
    }
    alarm(o.timeout);  // a hung guest fails the test instead of hanging CI
    // stdio's buffer now, not on a vCPU thread's first output, where glibc would ask whether
    // stdout is a terminal (an ioctl the vCPU's seccomp filter refuses) when it is /dev/null.
    static char stdout_buffer[4096];
    std::setvbuf(stdout, stdout_buffer, _IOLBF, sizeof stdout_buffer);
    std::string output;
    X86Machine* running = nullptr;  // set before the vCPUs start
    Snapshotter snapshotter(o);
    bool snapshot_requested = false;
    timespec first_output{};
    o.config.console_out = [&](uint8_t b) {
        if (output.empty()) clock_gettime(CLOCK_REALTIME, &first_output);
        output.push_back(static_cast<char>(b));
        std::fputc(b, stdout);
        if (b != '\n') return;
        std::fflush(stdout);
        if (!o.stop_on.empty() && output.find(o.stop_on) != std::string::npos) running->stop();
        if (!o.snapshot_on.empty() && !snapshot_requested && output.find(o.snapshot_on) != std::string::npos) {
            snapshot_requested = true;
            snapshotter.request();
        }
    };
    const auto start = std::chrono::steady_clock::now();
    auto machine = make_machine(o);
    if (!machine.ok()) {
        std::fprintf(stderr, "x86_run: %s\n", machine.error().message.c_str());
        return 1;
    }
    running = machine->get();
    snapshotter.start(*running);
    // Opened now: run() confines this thread to the VMM's system calls (write, not open or writev).
    std::FILE* output_file = o.output_path.empty() ? nullptr : std::fopen(o.output_path.c_str(), "wb");
    // Console input from another thread, as the CLI's stdin reader would give it; a full
    // receive FIFO is retried (the guest drains it).
    std::thread typist([&] {
        for (const char c : o.input)
            while (!running->console_input(static_cast<uint8_t>(c))) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    const X86Exit e = (*machine)->run();
    typist.join();
    snapshotter.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\nx86_run: %s%s%s after %.3f s; first output at %lld%09ld ns\n", to_string(e.reason),
                e.detail.empty() ? "" : ": ", e.detail.c_str(), secs, static_cast<long long>(first_output.tv_sec),
                first_output.tv_nsec);
    if (output_file != nullptr) {
        std::fwrite(output.data(), 1, output.size(), output_file);
        std::fclose(output_file);
    }
    bool good = o.expect_exit == exit_name(e.reason) && !snapshotter.failed();
    if (o.expect_exit != exit_name(e.reason))
        std::printf("x86_run: FAIL: expected exit '%s', got '%s'\n", o.expect_exit.c_str(), exit_name(e.reason));
    for (const auto& text : o.expect) {
        if (output.find(text) != std::string::npos) continue;
        std::printf("x86_run: FAIL: output lacks '%s'\n", text.c_str());
        good = false;
    }
    return good ? 0 : 1;
}
