// x86_run: the test driver for X86Machine. Runs a kernel, copies the guest's serial output to
// stdout, and checks it:
//
//   x86_run KERNEL [--disk IMG] [--cmdline S] [--mem MIB] [--cpus N]
//           [--expect-exit poweroff|reset|triple|stopped] [--expect TEXT]... [--stop-on TEXT]
//           [--timeout SECONDS] [--no-ioeventfd] [--input TEXT] [--cpu-quota PERCENT]
//
// --stop-on ends the VM (exit "stopped") as soon as the output contains TEXT.
// The summary line gives the wall-clock time (CLOCK_REALTIME, ns) of the guest's first serial
// byte, so bench/kvm.sh can measure process start -> guest running.
// Exit status: 0 if the guest ended as expected and printed every --expect text, 1 if not,
// 77 if KVM is unusable here (ctest SKIP_RETURN_CODE; the reason is printed).
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kvm/kvm_system.hpp"
#include "machine/x86_machine.hpp"

using namespace trapeze;

namespace {

struct Options {
    X86Config config;
    std::string expect_exit = "poweroff";
    std::vector<std::string> expect;
    std::string stop_on;
    std::string input;  // typed into COM1 while the guest runs
    unsigned timeout = 120;
};

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--disk") o.config.disks.push_back({next(), true, "x86guest"});
        else if (a == "--cmdline") o.config.cmdline = next();
        else if (a == "--initrd") o.config.initrd = next();
        else if (a == "--mem") o.config.memory_mib = std::stoull(next());
        else if (a == "--cpus") o.config.cpus = static_cast<uint32_t>(std::stoul(next()));
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
    return !o.config.kernel.empty();
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

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: x86_run KERNEL [--disk IMG] [--cmdline S] [--mem MIB] [--cpus N] "
                             "[--expect-exit poweroff|reset|triple|stopped] [--expect TEXT]... [--stop-on TEXT] [--timeout S]\n");
        return 1;
    }
    if (auto sys = kvm::KvmSystem::open(); !sys.ok()) {
        std::printf("SKIP: %s\n", sys.error().message.c_str());
        return 77;
    }
    alarm(o.timeout);  // a hung guest fails the test instead of hanging CI
    std::string output;
    X86Machine* running = nullptr;  // set before the vCPUs start
    timespec first_output{};
    o.config.console_out = [&](uint8_t b) {
        if (output.empty()) clock_gettime(CLOCK_REALTIME, &first_output);
        output.push_back(static_cast<char>(b));
        std::fputc(b, stdout);
        if (b != '\n') return;
        std::fflush(stdout);
        if (!o.stop_on.empty() && output.find(o.stop_on) != std::string::npos) running->stop();
    };
    const auto start = std::chrono::steady_clock::now();
    auto machine = X86Machine::create(o.config);
    if (!machine.ok()) {
        std::fprintf(stderr, "x86_run: %s\n", machine.error().message.c_str());
        return 1;
    }
    running = machine->get();
    // Console input from another thread, as the CLI's stdin reader would give it; a full
    // receive FIFO is retried (the guest drains it).
    std::thread typist([&] {
        for (const char c : o.input)
            while (!running->console_input(static_cast<uint8_t>(c))) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    const X86Exit e = (*machine)->run();
    typist.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\nx86_run: %s%s%s after %.3f s; first output at %lld%09ld ns\n", to_string(e.reason),
                e.detail.empty() ? "" : ": ", e.detail.c_str(), secs, static_cast<long long>(first_output.tv_sec),
                first_output.tv_nsec);
    bool good = o.expect_exit == exit_name(e.reason);
    if (!good) std::printf("x86_run: FAIL: expected exit '%s', got '%s'\n", o.expect_exit.c_str(), exit_name(e.reason));
    for (const auto& text : o.expect) {
        if (output.find(text) != std::string::npos) continue;
        std::printf("x86_run: FAIL: output lacks '%s'\n", text.c_str());
        good = false;
    }
    return good ? 0 : 1;
}
