// libFuzzer target: the snapshot state file, as `trapeze run --restore` and PUT /snapshot/load
// read it (snapshot/snapshot_file.hpp), down to every component's State decoder and the
// checks a restore makes before a machine runs.
//
// Input:
//   byte 0          flags: bit 0 set: the harness rewrites the file's last 8 bytes with the right
//                   CRC-64 first, so mutations get past the checksum to the sections (clear: the
//                   checksum is checked as the file has it); bit 1 set: restore under the
//                   configuration the file describes (else a fixed one: 1 hart, 4 MiB, rng)
//   the rest        a state file ("TRAPSNAP", versions, sections, CRC-64)
//
// For an input that parse_snapshot() accepts:
//   * every section is decoded on its own with its State::read() (by name: machine, clock, boot,
//     hartN, clint, plic, uart, rtc, virtioN); a State that decodes must encode and decode again
//     to the same bytes (write/read agree on every field);
//   * RiscvMachine::restore() builds a machine from it (skipped where a section failed its
//     decoder above: restore would only refuse it after building the machine): the machine
//     section's configuration is checked against the board's, every hart (Hart::restore), the CLINT, PLIC, UART, RTC and
//     each virtio transport with its device (VirtioMmioTransport::restore, the device's
//     restore_state) take their state, and each active transport is kicked (the device serves
//     what the rings hold). A section named "fuzz.ram" (restore ignores unknown sections),
//     a u32 length and that many bytes, is the start of guest RAM, so kicked rings can hold
//     requests; the rest of RAM is zeroes.
//
// What restore may touch on the host: guest RAM is a memfd of the configured size (anonymous
// memory, mapped copy-on-write as a memory file is); the console writes to /dev/null and is
// never started (stdin is not read); there are no disks or networks (a file describing any is
// restored under the fixed configuration, which refuses it), so nothing is opened or written.
// The engine is the interpreter and harts take turns (no threads, no translator). Restored RAM
// has no guard pages (restore maps it itself): device accesses are bounds-checked by GuestMemory.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fuzz_guest.hpp"
#include "kvm/kvm_state.hpp"
#include "machine/x86_machine.hpp"
#include "machine/host_console.hpp"
#include "machine/riscv_machine.hpp"
#include "rv64/hart_state.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/state_stream.hpp"

using namespace trapeze;

namespace {

constexpr uint8_t kReseal = 1;
constexpr uint8_t kOwnConfig = 2;
// Bounds on the board an input may ask for, so one input costs milliseconds.
constexpr unsigned kMaxCpus = 4;
constexpr uint64_t kMaxMib = 64;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

// A decoded State must survive write -> read -> write unchanged.
template <typename State, typename Read>
void check_reencoding(const State& s, Read read) {
    snapshot::StateWriter w1;
    s.write(w1);
    snapshot::StateReader r(w1.data(), "re-encoded");
    const State again = read(r);
    require(r.finish().ok());
    snapshot::StateWriter w2;
    again.write(w2);
    require(w1.data() == w2.data());
}

template <typename State, typename Read>
void decode(snapshot::StateReader& r, Read read) {
    const State s = read(r);
    if (r.finish().ok()) check_reencoding(s, read);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Every section through its decoder, whatever restore() would stop at first. False if any
// section restore() reads fails its decoder.
bool decode_sections(const snapshot::SnapshotContents& snap) {
    bool all = true;
    for (const std::string& name : snap.names()) {
        auto section = snap.section(name);
        require(section.ok());
        snapshot::StateReader& r = *section;
        if (name == "machine") {
            (void)snapshot::read_machine_header(r);
        } else if (name == "clock") {
            r.u64();
        } else if (name == "boot") {  // tohost and fromhost, each present or not
            for (int i = 0; i < 2; ++i) {
                r.boolean();
                r.u64();
            }
        } else if (starts_with(name, "hart")) {
            decode<rv64::HartState>(r, [](snapshot::StateReader& x) { return rv64::HartState::read(x); });
        } else if (name == "clint") {
            decode<devices::Clint::State>(r, [](snapshot::StateReader& x) { return devices::Clint::State::read(x); });
        } else if (name == "plic") {
            decode<devices::Plic::State>(r, [](snapshot::StateReader& x) { return devices::Plic::State::read(x); });
        } else if (name == "uart") {
            decode<devices::Uart16550::State>(r, [](snapshot::StateReader& x) { return devices::Uart16550::State::read(x); });
        } else if (name == "rtc") {
            decode<devices::GoldfishRtc::State>(r, [](snapshot::StateReader& x) { return devices::GoldfishRtc::State::read(x); });
        } else if (starts_with(name, "virtio")) {
            decode<virtio::VirtioMmioTransport::State>(
                r, [](snapshot::StateReader& x) { return virtio::VirtioMmioTransport::State::read(x); });
        } else if (starts_with(name, "vcpu")) {  // x86-64 on KVM: decoded only (no /dev/kvm here)
            decode<kvm::VcpuState>(r, [](snapshot::StateReader& x) { return kvm::VcpuState::read(x); });
            continue;
        } else if (name == "vm") {
            decode<kvm::VmState>(r, [](snapshot::StateReader& x) { return kvm::VmState::read(x); });
            continue;
        } else {
            continue;  // a section restore() ignores ("fuzz.ram", a newer minor version's)
        }
        if (name != "machine" && !r.finish().ok()) all = false;
    }
    (void)snapshot::peek_machine_header(snap);
    (void)X86Machine::snapshot_config(snap);  // the x86 board's description
    return all;
}

// One memfd per RAM size asked for, emptied and refilled for each input.
int ram_fd(uint64_t size, std::span<const uint8_t> image) {
    static std::map<uint64_t, int> fds;
    int& fd = fds[size];
    if (fd == 0) {
        fd = ::memfd_create("snapshot-fuzz-ram", MFD_CLOEXEC);
        require(fd >= 0);
    }
    require(::ftruncate(fd, 0) == 0);  // drops the last input's pages
    require(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    const size_t n = image.size() < size ? image.size() : static_cast<size_t>(size);
    if (n != 0) require(::pwrite(fd, image.data(), n, 0) == static_cast<ssize_t>(n));
    return fd;
}

machine::MachineConfig fixed_config() {
    machine::MachineConfig cfg;
    cfg.memory_mib = 4;
    cfg.cpus = 1;
    cfg.rng = true;
    return cfg;
}

// The configuration to restore under: the fixed one, or the file's own board where it is one
// this harness builds (no disks or networks, small).
machine::MachineConfig config_for(const snapshot::SnapshotContents& snap, bool own) {
    machine::MachineConfig cfg = fixed_config();
    if (own) {
        auto saved = machine::RiscvMachine::snapshot_config(snap);
        if (saved.ok() && saved->disks.empty() && saved->nets.empty() && saved->cpus >= 1 && saved->cpus <= kMaxCpus &&
            saved->memory_mib >= 1 && saved->memory_mib <= kMaxMib) {
            cfg.cpus = saved->cpus;
            cfg.memory_mib = saved->memory_mib;
            cfg.rng = saved->rng;
            cfg.console = saved->console;
        }
    }
    cfg.engine = machine::Engine::Interp;
    cfg.deterministic = true;
    cfg.bios = std::nullopt;
    cfg.stats = false;
    return cfg;
}

int dev_null() {
    static const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    require(dev_null() >= 0);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t flags = data[0];
    std::vector<uint8_t> file(data + 1, data + size);
    if ((flags & kReseal) != 0 && file.size() >= 8) {
        const uint64_t crc = snapshot::crc64({file.data(), file.size() - 8});
        for (unsigned i = 0; i < 8; ++i) file[file.size() - 8 + i] = static_cast<uint8_t>(crc >> (8 * i));
    }
    auto snap = snapshot::parse_snapshot(file);
    if (!snap.ok()) return 0;
    const bool decoded = decode_sections(*snap);
    // restore() checks the configuration first (cheap), then builds the machine (the cost of a
    // run here) and only then reads the sections: where one cannot decode, it would only build
    // a machine to refuse the same bytes decode_sections() already ran through.
    const bool config_ok = machine::RiscvMachine::snapshot_config(*snap).ok();
    if (config_ok && !decoded) return 0;

    const machine::MachineConfig cfg = config_for(*snap, (flags & kOwnConfig) != 0);
    std::vector<uint8_t> ram_image;
    if (auto ram = snap->section("fuzz.ram"); ram.ok()) ram_image = ram->bytes(cfg.memory_mib << 20);
    const int fd = ram_fd(cfg.memory_mib << 20, ram_image);
    machine::HostConsole console(dev_null());
    auto m = machine::RiscvMachine::restore(cfg, console, *snap, fd);
    (void)m;
    return 0;
}
