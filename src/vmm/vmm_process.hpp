// VmmProcess: trapeze as Firecracker's VMM process (`trapeze --api-sock PATH`): one VM per
// process, configured through the API (or a --config-file), built and run on the process's
// main thread once InstanceStart arrives, and ended with the process when the guest ends.
//
// Threads: the main thread waits for InstanceStart, builds the machine and runs it (it becomes
// the machine's run loop or I/O thread); the API thread ("trapeze-api") serves the socket and
// calls the VmController methods below, which hand work to the main thread or act on the
// running machine through its thread-safe controls (pause/resume).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "api/api_server.hpp"
#include "api/firecracker_api.hpp"
#include "api/metrics.hpp"
#include "api/vm_controller.hpp"
#include "machine/host_console.hpp"
#include "machine/riscv_machine.hpp"
#include "machine/x86_machine.hpp"
#include "vmm/machine_builder.hpp"
#include "vmm/restore.hpp"

namespace trapeze::vmm {

struct VmmProcessOptions {
    std::string api_sock;  // empty with --no-api
    std::string id = "anonymous-instance";
    std::string config_file;
    size_t max_payload = api::HttpRequestReader::kDefaultMaxBody;
    VmmOptions vm;
};

class VmmProcess final : public api::VmController {
public:
    VmmProcess(VmmProcessOptions opts, machine::HostConsole& console);
    ~VmmProcess() override;

    // Serves the API and runs the VM until the guest ends or the console quits; the exit
    // status of the process.
    int run();

    // api::VmController (API thread)
    Result<void> start(const api::VmResources& resources) override;
    Result<void> pause() override;
    Result<void> resume() override;
    Result<void> send_ctrl_alt_del() override;
    Result<void> update_drive(const api::DriveSettings& drive) override;
    Result<void> update_net(const api::NetworkSettings& net) override;
    Result<void> configure_logger(const api::LoggerSettings& logger) override;
    Result<void> configure_metrics(const std::string& path) override;
    Result<void> flush_metrics() override;
    Result<void> create_snapshot(const api::SnapshotCreateParams& params) override;
    Result<LoadedVm> load_snapshot(const api::SnapshotLoadParams& params) override;

private:
    using Config = std::variant<machine::MachineConfig, X86Config>;
    Result<void> serve_api();
    Result<Config> build_config(const api::VmResources& r) const;
    Result<void> start_from_file();
    bool wait_for_start();
    int run_started();
    int run_riscv(machine::RiscvMachine& m);
    int run_x86(X86Machine& m);
    Result<void> open_serial_output(const std::string& path);

    VmmProcessOptions m_opts;
    machine::HostConsole& m_console;
    api::Metrics m_metrics;
    api::FirecrackerApi m_api;
    std::unique_ptr<api::ApiServer> m_server;
    UniqueFd m_serial_out;

    // The hand-over of InstanceStart from the API thread to the main thread, and what the
    // API may touch while the VM runs. Under m_mutex.
    std::mutex m_mutex;
    std::condition_variable m_cv;
    struct StartRequest {
        Config config;
        std::string serial_out_path;
        std::shared_ptr<SnapshotSource> restore;  // PUT /snapshot/load: build from this instead
        bool paused = false;                      // ... and leave the VM paused
    };
    Result<void> hand_to_main_thread(StartRequest req);
    void report_counters();
    void remember_devices(const api::VmResources& r);
    void remember_loaded_drives(const std::vector<api::DriveSettings>& drives);
    std::optional<StartRequest> m_start;       // a start the main thread is to make
    std::optional<Result<void>> m_start_done;  // its outcome, for the API thread
    machine::RiscvMachine* m_riscv = nullptr;  // while it runs
    X86Machine* m_x86 = nullptr;
    bool m_ended = false;
    // What the running machine was built with, for PATCH: drive ids in the machine's order
    // and their images; interface ids in order.
    std::vector<std::string> m_drive_ids;
    std::vector<std::string> m_drive_paths;
    std::vector<std::string> m_net_ids;
};

// Runs an x86-64 machine with the terminal as its COM1 (a pump thread feeds input; Ctrl-A x
// stops the machine). Shared by `trapeze run --arch x86_64` and the VMM process.
X86Exit run_x86_with_console(X86Machine& m, machine::HostConsole& console);

}  // namespace trapeze::vmm
