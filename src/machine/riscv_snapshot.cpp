// RiscvMachine's snapshots: which components the board has and in what order they are saved
// and restored. Each component's State and its encoding live with the component; the file's
// container is snapshot/snapshot_file.hpp.
//
// Sections: "machine" (the architecture, then the configuration that rebuilds the board),
// "clock" (guest ticks), "boot" (the HTIF mailbox of bare-metal programs), "hartN" (and
// "hartN.h", the hypervisor extension's state, for harts that have it), "clint", "plic", "uart",
// "rtc", "virtioN" (one per slot, transport and device). Engines keep nothing:
// translations and decoded blocks are caches, built again from RAM after a restore, which is
// why a snapshot taken under one engine resumes under the other.
#include <sys/stat.h>

#include <cassert>

#include "base/log.hpp"
#include "machine/riscv_machine.hpp"
#include "snapshot/snapshot_files.hpp"

namespace trapeze::machine {

using namespace arch::riscv64;

namespace {

constexpr const char* kArch = "riscv64";
constexpr size_t kMaxPath = 4096;
constexpr uint32_t kMaxForwards = 64;
constexpr unsigned kMaxHarts = 64;

void write_net(snapshot::StateWriter& w, const virtio::NetConfig& n) {
    w.u8(static_cast<uint8_t>(n.backend));
    w.string(n.tap_name);
    w.u32(static_cast<uint32_t>(n.host_forwards.size()));
    for (const auto& f : n.host_forwards) {
        w.boolean(f.udp);
        w.u32(f.host_addr);
        w.u16(f.host_port);
        w.u32(f.guest_addr);
        w.u16(f.guest_port);
    }
    w.raw(n.mac);
}

virtio::NetConfig read_net(snapshot::StateReader& r) {
    virtio::NetConfig n;
    const uint8_t backend = r.u8();
    if (backend > static_cast<uint8_t>(virtio::NetConfig::Backend::Tap)) r.fail("unknown network backend");
    n.backend = static_cast<virtio::NetConfig::Backend>(backend);
    n.tap_name = r.string(kMaxPath);
    const uint32_t forwards = r.count(kMaxForwards, 13);
    for (uint32_t i = 0; i < forwards; ++i) {
        virtio::HostForward f;
        f.udp = r.boolean();
        f.host_addr = r.u32();
        f.host_port = r.u16();
        f.guest_addr = r.u32();
        f.guest_port = r.u16();
        n.host_forwards.push_back(f);
    }
    r.raw(n.mac);
    return n;
}

// The board as MachineConfig describes it, less what only booting needs (kernel, initrd,
// firmware, command line: they are in RAM now). Disk sizes are recorded to warn about a disk
// that changed (Firecracker's rule: resuming against another disk is the operator's choice).
void write_config(snapshot::StateWriter& w, const MachineConfig& cfg, const std::vector<uint64_t>& disk_sizes) {
    snapshot::write_machine_header(w, {kArch, cfg.cpus, cfg.memory_mib << 20});
    w.u8(static_cast<uint8_t>(cfg.engine));
    w.u8(static_cast<uint8_t>(cfg.console));
    w.boolean(cfg.rng);
    w.u32(static_cast<uint32_t>(cfg.disks.size()));
    for (size_t i = 0; i < cfg.disks.size(); ++i) {
        w.string(cfg.disks[i].path);
        w.boolean(cfg.disks[i].read_only);
        w.string(cfg.disks[i].id);
        w.u64(disk_sizes[i]);
    }
    w.u32(static_cast<uint32_t>(cfg.nets.size()));
    for (const auto& n : cfg.nets) write_net(w, n);
}

struct SavedConfig {
    MachineConfig cfg;
    std::vector<uint64_t> disk_sizes;
};

SavedConfig read_config(snapshot::StateReader& r) {
    SavedConfig out;
    MachineConfig& cfg = out.cfg;
    const auto header = snapshot::read_machine_header(r);
    if (!r.failed() && header.arch != kArch) r.fail(fmt::format("the snapshot is of a {} machine, not {}", header.arch, kArch));
    if (!r.failed() && (header.cpus > kMaxHarts || header.ram_size % (1u << 20) != 0))
        r.fail(fmt::format("{} harts with {:#x} bytes of RAM is no board this trapeze builds", header.cpus, header.ram_size));
    cfg.cpus = header.cpus;
    cfg.memory_mib = header.ram_size >> 20;
    const uint8_t engine = r.u8(), console = r.u8();
    if (engine > 1 || console > 1) r.fail("unknown engine or console");
    cfg.engine = static_cast<Engine>(engine);
    cfg.console = static_cast<ConsoleKind>(console);
    cfg.rng = r.boolean();
    const uint32_t disks = r.count(kVirtioCount, 17);
    for (uint32_t i = 0; i < disks; ++i) {
        DiskConfig d;
        d.path = r.string(kMaxPath);
        d.read_only = r.boolean();
        d.id = r.string(20);
        out.disk_sizes.push_back(r.u64());
        cfg.disks.push_back(std::move(d));
    }
    const uint32_t nets = r.count(kVirtioCount, 15);
    for (uint32_t i = 0; i < nets; ++i) cfg.nets.push_back(read_net(r));
    return out;
}

Result<SavedConfig> saved_config(const snapshot::SnapshotContents& snap) {
    TRAPEZE_TRY_ASSIGN(r, snap.section("machine"));
    SavedConfig saved = read_config(r);
    TRAPEZE_TRY(r.finish());
    saved.cfg.hypervisor = snap.has("hart0.h");  // harts with H save its state apart
    return saved;
}

uint64_t disk_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string virtio_kind(const MachineConfig& cfg, size_t slot) {
    if (slot < cfg.disks.size()) return "virtio-blk";
    slot -= cfg.disks.size();
    if (slot < cfg.nets.size()) return "virtio-net";
    slot -= cfg.nets.size();
    if (cfg.console == ConsoleKind::Virtio && slot-- == 0) return "virtio-console";
    if (cfg.rng && slot == 0) return "virtio-rng";
    return "nothing";
}

size_t virtio_slots(const MachineConfig& cfg) {
    return cfg.disks.size() + cfg.nets.size() + (cfg.console == ConsoleKind::Virtio ? 1 : 0) + (cfg.rng ? 1 : 0);
}

// The board `cfg` builds must be the snapshot's, slot for slot.
Result<void> check_same_board(const MachineConfig& cfg, const SavedConfig& saved) {
    const MachineConfig& s = saved.cfg;
    if (cfg.memory_mib != s.memory_mib)
        return make_error("the snapshot's RAM is {} MiB, the configuration's {} MiB", s.memory_mib, cfg.memory_mib);
    if (cfg.cpus != s.cpus) return make_error("the snapshot has {} harts, the configuration {}", s.cpus, cfg.cpus);
    const size_t slots = std::max(virtio_slots(cfg), virtio_slots(s));
    for (size_t i = 0; i < slots; ++i) {
        if (virtio_kind(cfg, i) != virtio_kind(s, i))
            return make_error("virtio slot {} holds {} in the snapshot but {} in the configuration", i,
                              virtio_kind(s, i), virtio_kind(cfg, i));
    }
    for (size_t i = 0; i < cfg.disks.size(); ++i) {
        // As the device sees it: whole sectors (save_state records the capacity).
        const uint64_t now = disk_size(cfg.disks[i].path) / virtio::VirtioBlk::kSectorSize * virtio::VirtioBlk::kSectorSize;
        if (now != saved.disk_sizes[i])
            spdlog::warn("disk {} ('{}') is {} bytes, {} when the snapshot was taken: resuming against a changed disk",
                      i, cfg.disks[i].path, now, saved.disk_sizes[i]);
    }
    return ok();
}

}  // namespace

void RiscvMachine::save_state(snapshot::SnapshotWriter& out) const {
    std::vector<uint64_t> sizes;
    for (const auto& b : m_blks) sizes.push_back(b->capacity_sectors() * virtio::VirtioBlk::kSectorSize);
    write_config(out.section("machine"), m_cfg, sizes);
    out.section("clock").u64(m_clock.ticks());
    auto& boot = out.section("boot");
    boot.boolean(m_boot.tohost.has_value());
    boot.u64(m_boot.tohost.value_or(0));
    boot.boolean(m_boot.fromhost.has_value());
    boot.u64(m_boot.fromhost.value_or(0));
    for (size_t i = 0; i < m_harts.size(); ++i) {
        m_harts[i]->s.write(out.section(fmt::format("hart{}", i)));
        if (m_cfg.hypervisor) m_harts[i]->s.write_h(out.section(fmt::format("hart{}.h", i)));
    }
    m_clint.save().write(out.section("clint"));
    m_plic.save().write(out.section("plic"));
    m_uart.save().write(out.section("uart"));
    m_rtc.save().write(out.section("rtc"));
    for (size_t i = 0; i < m_virtio.size(); ++i) m_virtio[i]->save().write(out.section(fmt::format("virtio{}", i)));
}

Result<snapshot::MemorySaveStats> RiscvMachine::save_snapshot(const SnapshotTarget& target) {
    assert(paused());
    // Under the device lock: while paused the devices still take host input (a frame for the
    // NIC is copied into RAM), and RAM and device state must be of one instant.
    std::lock_guard lock(m_devices);
    snapshot::SnapshotWriter out;
    save_state(out);
    // The dirty log is taken before RAM is written: a Diff needs it, and either kind starts the
    // next Diff from here. Harts forget their writable translations so their next store to any
    // page marks it again (GuestMemory::mark_dirty).
    // A snapshot that fails gives the bits back, so the next Diff still has those pages.
    const auto dirty = m_mem.take_dirty();
    for (auto& h : m_harts) h->flush_tlb();
    auto saved = snapshot::write_snapshot_files(out, m_mem, target.kind == SnapshotKind::Diff ? dirty.data() : nullptr,
                                                {target.state_path, target.memory_path});
    if (!saved) m_mem.return_dirty(dirty);
    return saved;
}

Result<MachineConfig> RiscvMachine::snapshot_config(const snapshot::SnapshotContents& snap) {
    TRAPEZE_TRY_ASSIGN(saved, saved_config(snap));
    return saved.cfg;
}

Result<std::unique_ptr<RiscvMachine>> RiscvMachine::restore(const MachineConfig& cfg, HostConsole& console,
                                                            const snapshot::SnapshotContents& snap, int memory_fd,
                                                            HostInputs* inputs) {
    TRAPEZE_TRY_ASSIGN(saved, saved_config(snap));
    TRAPEZE_TRY(check_same_board(cfg, saved));
    TRAPEZE_TRY_ASSIGN(mem, GuestMemory::create_from_file(Gpa(kRamBase), cfg.memory_mib << 20, memory_fd));
    TRAPEZE_TRY_ASSIGN(m, build(cfg, console, std::move(mem), inputs));
    TRAPEZE_TRY(m->restore_state(snap));
    // A replay starting at a recording's checkpoint goes on from where the recording took it:
    // after a round's end (riscv_inputs.cpp).
    m->m_resume_after_round_end = inputs != nullptr;
    return m;
}

// Reads every section before touching the machine, then applies them: a bad section leaves
// nothing half-done (and the caller drops the machine on any error anyway).
Result<void> RiscvMachine::restore_state(const snapshot::SnapshotContents& snap) {
    auto section = [&snap](const std::string& name) { return snap.section(name); };
    TRAPEZE_TRY_ASSIGN(clock, section("clock"));
    const uint64_t ticks = clock.u64();
    if (ticks >= GuestClock::kMaxRestoredTick) clock.fail("guest time out of range");
    TRAPEZE_TRY(clock.finish());

    TRAPEZE_TRY_ASSIGN(boot, section("boot"));
    BootPlan plan;
    for (std::optional<uint64_t>* mailbox : {&plan.tohost, &plan.fromhost}) {
        const bool present = boot.boolean();
        const uint64_t address = boot.u64();
        if (present) *mailbox = address;
    }
    TRAPEZE_TRY(boot.finish());

    std::vector<rv64::HartState> harts;
    for (size_t i = 0; i < m_harts.size(); ++i) {
        TRAPEZE_TRY_ASSIGN(r, section(fmt::format("hart{}", i)));
        harts.push_back(rv64::HartState::read(r));
        // The hypervisor extension's state (hart_state.hpp): only harts that have it save it.
        if (m_cfg.hypervisor) {
            TRAPEZE_TRY_ASSIGN(rh, section(fmt::format("hart{}.h", i)));
            harts.back().read_h(rh);
            TRAPEZE_TRY(rh.finish());
        }
        TRAPEZE_TRY(r.finish());
    }
    auto device = [&]<typename State>(const char* name, State& out) -> Result<void> {
        TRAPEZE_TRY_ASSIGN(r, section(name));
        out = State::read(r);
        return r.finish();
    };
    devices::Clint::State clint;
    devices::Plic::State plic;
    devices::Uart16550::State uart;
    devices::GoldfishRtc::State rtc;
    TRAPEZE_TRY(device("clint", clint));
    TRAPEZE_TRY(device("plic", plic));
    TRAPEZE_TRY(device("uart", uart));
    TRAPEZE_TRY(device("rtc", rtc));
    std::vector<virtio::VirtioMmioTransport::State> transports(m_virtio.size());
    for (size_t i = 0; i < m_virtio.size(); ++i) TRAPEZE_TRY(device(fmt::format("virtio{}", i).c_str(), transports[i]));
    if (snap.has(fmt::format("hart{}", m_harts.size())) || snap.has(fmt::format("virtio{}", m_virtio.size())))
        return make_error("the snapshot has more harts or virtio devices than the configuration");

    std::lock_guard lock(m_devices);
    m_clock.restore_ticks(ticks);
    m_boot = plan;
    for (size_t i = 0; i < m_harts.size(); ++i) TRAPEZE_TRY(m_harts[i]->restore(harts[i]));
    TRAPEZE_TRY(std::move(m_clint.restore(clint)).context("clint"));
    TRAPEZE_TRY(std::move(m_plic.restore(plic)).context("plic"));
    TRAPEZE_TRY(std::move(m_uart.restore(uart)).context("uart"));
    TRAPEZE_TRY(std::move(m_rtc.restore(rtc)).context("rtc"));
    for (size_t i = 0; i < m_virtio.size(); ++i)
        TRAPEZE_TRY(std::move(m_virtio[i]->restore(transports[i])).context(fmt::format("virtio slot {}", i)));
    // Requests the driver made available before the snapshot and the device had not served yet
    // (a throttled queue) are served now rather than at the driver's next notification.
    for (auto& t : m_virtio) t->kick();
    return ok();
}

}  // namespace trapeze::machine
