// MachineDescription: what a recording says about the machine it was made on (the log header's
// opaque description, as JSON), so that `trapeze run --replay LOG` rebuilds the same machine
// with nothing else given and refuses files that changed: the configuration (RAM, harts,
// console, devices slot by slot, the kernel command line), the CRC-64 of the kernel, initrd and
// firmware, each disk's size (and CRC-64 with --record-disk checksum), the wall-clock time the
// guest's RTC starts from, the guest clock's start and the random seed the device tree gives
// the guest's kernel.
//
// Thread: any.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "machine/machine_config.hpp"

namespace trapeze::replay {

// How a recording treats disk reads (docs/replay.md): their data in the log (replay needs only
// the disk's size, and leaves the file alone), or a checksum of each disk at the start (replay
// needs the same disk and runs on a private copy of it).
enum class DiskMode { Log, Checksum };

struct MachineDescription {
    machine::MachineConfig config;
    uint64_t kernel_crc = 0;
    uint64_t initrd_crc = 0;  // 0 without an initrd
    uint64_t bios_crc = 0;    // 0 with --bios none
    std::vector<uint64_t> disk_sizes;
    std::vector<uint64_t> disk_crcs;  // DiskMode::Checksum only
    DiskMode disk_mode = DiskMode::Log;
    uint64_t wall_clock_start_ns = 0;
    uint64_t tick_base = 0;  // guest clock ticks at instruction 0
    uint64_t instructions_per_tick = 0;
    // /chosen/rng-seed (machine::HostInputs::boot_seed): empty in recordings made before the
    // board had one, whose guests booted without it.
    std::vector<uint8_t> rng_seed;

    std::vector<uint8_t> encode() const;
    static Result<MachineDescription> decode(std::span<const uint8_t> bytes);
};

// The description of `cfg` as it stands on disk now (files read for their checksums).
Result<MachineDescription> describe(const machine::MachineConfig& cfg, DiskMode mode);
// Each file named by `d` still has the checksum (and disks the size) it had when recorded.
Result<void> check_files(const MachineDescription& d);
// The most bytes of /chosen/rng-seed a description may carry (a recording draws
// arch::riscv64::kRngSeedBytes).
inline constexpr size_t kMaxBootSeedBytes = 64;
// CRC-64/XZ of a whole file.
Result<uint64_t> file_crc64(const std::string& path);

}  // namespace trapeze::replay
