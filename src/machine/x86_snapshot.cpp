// X86Machine's snapshots: which components the board has and in what order they are saved and
// restored. KVM's own state (vCPUs, irqchip, PIT, kvmclock) is kvm/kvm_state.hpp; each device's
// State lives with the device; the container is snapshot/snapshot_file.hpp.
//
// Sections: "machine" (snapshot::MachineHeader, then the board: disks, the virtio slots),
// "vm", "vcpuN", "uart", "virtioN".

#include "base/log.hpp"
#include "machine/x86_machine.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/snapshot_files.hpp"

namespace trapeze {
namespace {

constexpr const char* kArch = "x86_64";
constexpr size_t kMaxPath = 4096;
constexpr uint32_t kMaxCpus = 64;
constexpr uint32_t kMaxSlots = 8;  // x86::kVirtioGsis

// The board, less what only booting needs (kernel, initrd, command line: they are in RAM now).
struct Board {
    uint32_t cpus = 0;
    uint64_t ram = 0;
    std::vector<virtio::BlkConfig> disks;
    std::vector<uint64_t> disk_sizes;  // bytes, when the snapshot was taken
    std::vector<std::string> slots;    // the virtio-mmio slots in order: the device in each
};

void write_board(snapshot::StateWriter& w, const Board& b) {
    snapshot::write_machine_header(w, {kArch, b.cpus, b.ram});
    w.u32(static_cast<uint32_t>(b.disks.size()));
    for (size_t i = 0; i < b.disks.size(); ++i) {
        w.string(b.disks[i].path);
        w.boolean(b.disks[i].read_only);
        w.string(b.disks[i].id);
        w.u64(b.disk_sizes[i]);
    }
    w.u32(static_cast<uint32_t>(b.slots.size()));
    for (const auto& kind : b.slots) w.string(kind);
}

Board read_board(snapshot::StateReader& r) {
    Board b;
    const auto header = snapshot::read_machine_header(r);
    if (!r.failed() && header.arch != kArch)
        r.fail(fmt::format("the snapshot is of a {} machine, not {}", header.arch, kArch));
    if (!r.failed() && (header.cpus > kMaxCpus || header.ram_size % (1u << 20) != 0))
        r.fail(fmt::format("{} vCPUs with {:#x} bytes of RAM is no board this trapeze builds", header.cpus,
                           header.ram_size));
    b.cpus = header.cpus;
    b.ram = header.ram_size;
    const uint32_t disks = r.count(kMaxSlots, 17);
    for (uint32_t i = 0; i < disks; ++i) {
        virtio::BlkConfig d;
        d.path = r.string(kMaxPath);
        d.read_only = r.boolean();
        d.id = r.string(virtio::VirtioBlk::kIdBytes);
        b.disk_sizes.push_back(r.u64());
        b.disks.push_back(std::move(d));
    }
    const uint32_t slots = r.count(kMaxSlots, 4);
    for (uint32_t i = 0; i < slots; ++i) b.slots.push_back(r.string(32));
    if (!r.failed() && b.slots != std::vector<std::string>(b.disks.size(), "virtio-blk"))
        r.fail("virtio slots other than one virtio-blk per disk");
    return b;
}

Result<Board> saved_board(const snapshot::SnapshotContents& snap) {
    TRAPEZE_TRY_ASSIGN(r, snap.section("machine"));
    Board b = read_board(r);
    TRAPEZE_TRY(r.finish());
    return b;
}

// `config` must build the snapshot's board. A disk may be another file (the operator's choice,
// as in Firecracker); one whose size changed is warned about.
Result<void> check_same_board(const X86Config& config, const Board& saved,
                              const std::vector<virtio::VirtioBlk*>& blks) {
    if ((config.memory_mib << 20) != saved.ram)
        return make_error("the snapshot's RAM is {} MiB, the configuration's {} MiB", saved.ram >> 20,
                          config.memory_mib);
    if (config.cpus != saved.cpus)
        return make_error("the snapshot has {} vCPUs, the configuration {}", saved.cpus, config.cpus);
    if (config.disks.size() != saved.disks.size())
        return make_error("the snapshot has {} disks, the configuration {}", saved.disks.size(), config.disks.size());
    for (size_t i = 0; i < blks.size(); ++i) {
        const uint64_t now = blks[i]->capacity_sectors() * virtio::VirtioBlk::kSectorSize;
        if (now != saved.disk_sizes[i])
            spdlog::warn("disk {} ('{}') is {} bytes, {} when the snapshot was taken: resuming against a changed disk",
                         i, config.disks[i].path, now, saved.disk_sizes[i]);
    }
    return ok();
}

}  // namespace

void X86Machine::save_state(snapshot::SnapshotWriter& out, const std::vector<kvm::VcpuState>& vcpus,
                            const kvm::VmState& vm) const {
    Board board{m_config.cpus, m_memory.size(), m_config.disks, {}, {}};
    for (const auto* b : m_blks) {
        board.disk_sizes.push_back(b->capacity_sectors() * virtio::VirtioBlk::kSectorSize);
        board.slots.emplace_back("virtio-blk");
    }
    write_board(out.section("machine"), board);
    vm.write(out.section("vm"));
    for (size_t i = 0; i < vcpus.size(); ++i) vcpus[i].write(out.section(fmt::format("vcpu{}", i)));
    m_uart->save().write(out.section("uart"));
    for (size_t i = 0; i < m_virtio.size(); ++i) m_virtio[i]->save().write(out.section(fmt::format("virtio{}", i)));
}

Result<void> X86Machine::save_snapshot(const std::string& state_path, const std::string& mem_path, bool diff) {
    if (!quiescent()) return make_error("snapshot: the machine is running; pause it first");
    if (diff && !m_config.track_dirty_pages)
        return make_error("a Diff snapshot of an x86-64 VM needs dirty page tracking (machine-config track_dirty_pages)");
    // Under the I/O lock: with the vCPUs parked, the notify thread and console input still
    // reach the devices, and device state and RAM must be of one instant.
    std::lock_guard lock(m_io_lock);
    TRAPEZE_TRY_ASSIGN(msr_indices, m_sys.msr_index_list());
    const auto caps = kvm::VcpuStateCaps::of(m_vm);
    std::vector<kvm::VcpuState> vcpus;
    for (auto& vcpu : m_vcpus) {
        auto state = kvm::save_vcpu(vcpu, msr_indices, caps);
        if (!state) return std::move(state).context(fmt::format("snapshot vCPU {}", vcpu.id())).error();
        vcpus.push_back(std::move(*state));
    }
    auto vm = kvm::save_vm(m_vm);
    if (!vm) return std::move(vm).context("snapshot VM").error();
    snapshot::SnapshotWriter out;
    save_state(out, vcpus, *vm);
    // Pages written since the last snapshot: the vCPUs' (KVM's log) and the devices' (the memory
    // layer's). Taken by every snapshot, so the next Diff starts here.
    std::vector<uint64_t> dirty = m_memory.take_dirty();
    if (m_config.track_dirty_pages) {
        TRAPEZE_TRY_ASSIGN(vcpu_dirty, m_vm.dirty_log(0, m_memory.page_count()));
        for (size_t i = 0; i < dirty.size(); ++i) dirty[i] |= vcpu_dirty[i];
    }
    // A snapshot that fails gives the pages back (KVM's log was cleared by reading it), so the
    // next Diff still has them.
    auto saved = snapshot::write_snapshot_files(out, m_memory, diff ? dirty.data() : nullptr, {state_path, mem_path});
    if (!saved) {
        m_memory.return_dirty(dirty);
        return saved.error();
    }
    return ok();
}

Result<X86Config> X86Machine::snapshot_config(const snapshot::SnapshotContents& snap) {
    TRAPEZE_TRY_ASSIGN(board, saved_board(snap));
    X86Config config;
    config.cpus = board.cpus;
    config.memory_mib = board.ram >> 20;
    config.disks = std::move(board.disks);
    return config;
}

Result<std::unique_ptr<X86Machine>> X86Machine::restore_snapshot(const X86Config& config,
                                                                 const snapshot::SnapshotContents& snap,
                                                                 int memory_fd) {
    TRAPEZE_TRY_ASSIGN(board, saved_board(snap));
    TRAPEZE_TRY(check_same_board(config, board, {}));
    TRAPEZE_TRY_ASSIGN(mem, GuestMemory::create_from_file(Gpa(0), board.ram, memory_fd));
    TRAPEZE_TRY_ASSIGN(m, build(config, std::move(mem)));
    TRAPEZE_TRY(check_same_board(config, board, m->m_blks));
    TRAPEZE_TRY(m->restore_state(snap));
    return m;
}

Result<std::unique_ptr<X86Machine>> X86Machine::restore_snapshot(const X86Config& config, const std::string& state_path,
                                                                 const std::string& mem_path) {
    const auto context = fmt::format("restore snapshot '{}'", state_path);
    auto snap = snapshot::read_snapshot_file(state_path);
    if (!snap) return std::move(snap).context(context).error();
    auto board = saved_board(*snap);
    if (!board) return std::move(board).context(context).error();
    if (auto same = check_same_board(config, *board, {}); !same) return std::move(same).context(context).error();
    auto fd = snapshot::open_memory_file(mem_path, board->ram);
    if (!fd) return std::move(fd).context(context).error();
    auto m = restore_snapshot(config, *snap, fd->get());
    if (!m) return std::move(m).context(context).error();
    return m;
}

// Reads every section before touching the machine, then applies them in this order:
//   * devices first: their restore drives their interrupt lines, and KVM records each line's
//     level (KVM_IRQ_LINE) apart from the irqchip state, so a line high at the snapshot is high
//     again without the restored IOAPIC/PIC seeing a new edge;
//   * the irqchip, PIT and kvmclock, then the vCPUs (whose LAPICs the IOAPIC routes to);
//   * last the virtio queues are served once: a notification the guest made just before the
//     snapshot may have sat in an ioeventfd, which the new process does not have.
Result<void> X86Machine::restore_state(const snapshot::SnapshotContents& snap) {
    auto read = [&snap]<typename State>(const std::string& name, State& out) -> Result<void> {
        TRAPEZE_TRY_ASSIGN(r, snap.section(name));
        out = State::read(r);
        return r.finish();
    };
    kvm::VmState vm;
    TRAPEZE_TRY(read("vm", vm));
    std::vector<kvm::VcpuState> vcpus(m_vcpus.size());
    for (size_t i = 0; i < vcpus.size(); ++i) TRAPEZE_TRY(read(fmt::format("vcpu{}", i), vcpus[i]));
    devices::Uart16550::State uart;
    TRAPEZE_TRY(read("uart", uart));
    std::vector<virtio::VirtioMmioTransport::State> transports(m_virtio.size());
    for (size_t i = 0; i < transports.size(); ++i) TRAPEZE_TRY(read(fmt::format("virtio{}", i), transports[i]));
    if (snap.has(fmt::format("vcpu{}", m_vcpus.size())) || snap.has(fmt::format("virtio{}", m_virtio.size())))
        return make_error("the snapshot has more vCPUs or virtio devices than its machine section says");

    std::lock_guard lock(m_io_lock);
    TRAPEZE_TRY(std::move(m_uart->restore(uart)).context("uart"));
    for (size_t i = 0; i < m_virtio.size(); ++i)
        TRAPEZE_TRY(std::move(m_virtio[i]->restore(transports[i])).context(fmt::format("virtio slot {}", i)));
    TRAPEZE_TRY(std::move(kvm::restore_vm(m_vm, vm)).context("VM"));
    const auto caps = kvm::VcpuStateCaps::of(m_vm);
    for (size_t i = 0; i < m_vcpus.size(); ++i)
        TRAPEZE_TRY(std::move(kvm::restore_vcpu(m_vcpus[i], vcpus[i], caps)).context(fmt::format("vCPU {}", i)));
    for (auto& t : m_virtio) t->kick();
    return ok();
}

}  // namespace trapeze
