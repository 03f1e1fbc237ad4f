// MachineConfig: everything the CLI (later the API) decides about a VM, validated
// by the CLI before a machine is built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "ratelimit/rate_limiter_config.hpp"
#include "runloop/hart_affinity.hpp"
#include "virtio/net/net_config.hpp"

namespace trapeze::machine {

enum class Engine { Interp, Jit };
enum class OnReboot { Exit, Restart };
// Where the terminal is connected: the NS16550A (ttyS0) or a virtio-console (hvc0).
enum class ConsoleKind { Serial, Virtio };

// One `--disk PATH[,ro][,id=NAME][,bw=BYTES][,iops=N]`: bw and iops (per second, K/M/G
// suffixes binary) become the rate limiter's bandwidth and ops buckets, each of one second's
// worth of tokens refilled over 1000 ms (QEMU's bps=/iops= throttling, in Firecracker's terms).
struct DiskConfig {
    std::string path;
    bool read_only = false;
    std::string id;  // virtio-blk serial (GET_ID), at most 20 bytes
    std::optional<ratelimit::RateLimiterConfig> rate_limiter;
};

Result<DiskConfig> parse_disk_option(std::string_view spec);
// Every --disk in order; an id that two disks give is refused (it is the serial the guest
// tells its disks apart by, /dev/disk/by-id).
Result<std::vector<DiskConfig>> parse_disk_options(const std::vector<std::string>& specs);

struct MachineConfig {
    Engine engine = Engine::Jit;
    std::string kernel;                // path; ELF or raw Image
    std::optional<std::string> initrd;
    std::optional<std::string> bios;   // nullopt: --bios none
    std::string append;
    uint64_t memory_mib = 512;
    unsigned cpus = 1;
    // The harts implement the hypervisor extension (H: VS/VU modes, two-stage translation), as
    // the CPU of QEMU's virt machine does by default (trapeze run --no-hypervisor: without).
    bool hypervisor = true;
    // Harts take turns on one thread in a fixed order (record/replay, differential tests);
    // otherwise each of several harts runs on a host thread of its own.
    bool deterministic = false;
    OnReboot on_reboot = OnReboot::Exit;
    bool stats = true;  // print retired instructions and MIPS at exit
    // Fresh RAM populated a little ahead of the guest (memory/RamPrefaulter); off (trapeze run
    // --no-ram-prefault), RAM's resident part is only what the guest and its devices touched.
    bool ram_prefault = true;
    std::vector<DiskConfig> disks;
    bool rng = true;    // a virtio-rng device backed by getrandom(2)
    std::optional<ratelimit::RateLimiterConfig> rng_rate_limiter;
    std::vector<virtio::NetConfig> nets;
    ConsoleKind console = ConsoleKind::Serial;
    // The share of one host CPU the whole VM may use, in percent (150 = one and a half CPUs);
    // 0 = no limit. Enforced by the run loops (runloop::CpuQuota).
    unsigned cpu_quota_percent = 0;
    // The host CPUs each hart's thread may run on, one list per hart (runloop::HartAffinity);
    // empty: no pinning. Only where harts have threads of their own (cpus > 1, not deterministic).
    runloop::HartAffinity hart_affinity;
};

}  // namespace trapeze::machine
