// VmController: what the control API asks of the VM behind it, once the configuration is
// complete. The VMM process implements it (building the machine on its own thread); the API's
// tests and fuzz target implement it with a fake.
//
// Every call comes from the API thread, one at a time; each answers only when done (start()
// returns once the harts run or the machine failed to build).
#pragma once

#include <string>

#include "base/result.hpp"
#include "api/snapshot_params.hpp"
#include "api/vm_resources.hpp"

namespace trapeze::api {

enum class VmState { NotStarted, Running, Paused };

class VmController {
public:
    virtual ~VmController() = default;

    // InstanceStart: builds the machine from `resources` and starts it. On an error nothing
    // runs and the configuration may be corrected and the start tried again.
    virtual Result<void> start(const VmResources& resources) = 0;
    virtual Result<void> pause() = 0;
    virtual Result<void> resume() = 0;
    // A guest-visible request to shut down (Firecracker's SendCtrlAltDel).
    virtual Result<void> send_ctrl_alt_del() = 0;
    // PATCH /drives, /network-interfaces after start: the settings as they now stand.
    virtual Result<void> update_drive(const DriveSettings& drive) = 0;
    virtual Result<void> update_net(const NetworkSettings& net) = 0;
    // Where logs and metrics go (PUT /logger, PUT /metrics); FlushMetrics.
    virtual Result<void> configure_logger(const LoggerSettings& logger) = 0;
    virtual Result<void> configure_metrics(const std::string& path) = 0;
    virtual Result<void> flush_metrics() = 0;
    // PUT /snapshot/create, with the VM paused.
    virtual Result<void> create_snapshot(const SnapshotCreateParams& params) = 0;
    // PUT /snapshot/load, before anything is configured: builds the VM from the snapshot and
    // leaves it paused, or running if params.resume_vm. Returns what the API then knows of it:
    // the machine's configuration (vCPUs and memory) and its drives, in the machine's order,
    // for GET /machine-config, GET /vm/config and PATCH /drives.
    struct LoadedVm {
        MachineConfiguration machine;
        std::vector<DriveSettings> drives;
    };
    virtual Result<LoadedVm> load_snapshot(const SnapshotLoadParams& params) = 0;
};

}  // namespace trapeze::api
