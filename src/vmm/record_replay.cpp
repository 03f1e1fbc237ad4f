#include "vmm/record_replay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/unique_fd.hpp"
#include "replay/log_format.hpp"

namespace trapeze::vmm {

namespace {

std::string log_dir(const std::string& log_path) {
    const std::filesystem::path p(log_path);
    return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

// The data extents of `from` into a new file `to` of the same size: holes stay holes, so a
// sparse disk image costs only what it holds.
Result<void> copy_sparse(const std::string& from, const std::string& to) {
    uint64_t size = 0;
    TRAPEZE_TRY_ASSIGN(in, open_regular(from, &size));
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid()) return make_error("create '{}': {}", to, std::strerror(errno));
    if (::ftruncate(out.get(), static_cast<off_t>(size)) != 0) return make_error("size '{}': {}", to, std::strerror(errno));
    off_t pos = 0;
    while (static_cast<uint64_t>(pos) < size) {
        const off_t data = ::lseek(in.get(), pos, SEEK_DATA);
        if (data < 0) break;  // ENXIO: only a hole is left
        off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
        if (hole < 0) hole = static_cast<off_t>(size);
        for (off_t at = data; at < hole;) {
            off_t src = at, dst = at;
            const ssize_t n = ::copy_file_range(in.get(), &src, out.get(), &dst, static_cast<size_t>(hole - at), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return make_error("copy '{}' to '{}': {}", from, to, n < 0 ? std::strerror(errno) : "short copy");
            at += n;
        }
        pos = hole;
    }
    return ok();
}

// Checksum mode: each disk replaced by a private copy, so that the replay's writes, which the
// guest reads back as recorded, leave the original for the next replay.
Result<std::string> private_disks(machine::MachineConfig& cfg) {
    std::string dir = std::filesystem::temp_directory_path() / "trapeze-replay-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return make_error("mkdtemp '{}': {}", dir, std::strerror(errno));
    for (size_t i = 0; i < cfg.disks.size(); ++i) {
        const std::string copy = fmt::format("{}/disk{}", dir, i);
        TRAPEZE_TRY(copy_sparse(cfg.disks[i].path, copy));
        cfg.disks[i].path = copy;
    }
    return dir;
}

}  // namespace

Result<void> check_recordable(const machine::MachineConfig& cfg) {
    if (cfg.on_reboot == machine::OnReboot::Restart)
        return make_error("--record/--replay and --on-reboot restart: a recording is of one machine, from its start to its end");
    if (cfg.rng_rate_limiter) return make_error("--record: rate limiters follow host time, which a replay does not have");
    for (const auto& d : cfg.disks)
        if (d.rate_limiter) return make_error("--record: --disk '{}' has a rate limiter, which follows host time", d.path);
    for (const auto& n : cfg.nets)
        if (n.rx_rate_limiter || n.tx_rate_limiter) return make_error("--record: a --net rate limiter follows host time");
    return ok();
}

namespace {

// A recording replaces its log file: never one of the run's own inputs (a kernel or a disk
// truncated into a log), nor any file that is not a log already.
Result<void> check_log_path(const std::string& log, const machine::MachineConfig& cfg) {
    std::error_code ec;
    if (!std::filesystem::exists(log, ec)) return ok();
    std::vector<std::string> inputs{cfg.kernel};
    if (cfg.initrd) inputs.push_back(*cfg.initrd);
    if (cfg.bios) inputs.push_back(*cfg.bios);
    for (const auto& d : cfg.disks) inputs.push_back(d.path);
    for (const auto& in : inputs) {
        if (!in.empty() && std::filesystem::equivalent(log, in, ec))
            return make_error("--record '{}' is the run's own '{}': the log would overwrite it", log, in);
    }
    UniqueFd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
    char magic[sizeof replay::kMagic] = {};
    const ssize_t n = fd.valid() ? ::read(fd.get(), magic, sizeof magic) : -1;
    if (n > 0 && (n != static_cast<ssize_t>(sizeof magic) || std::memcmp(magic, replay::kMagic, sizeof magic) != 0))
        return make_error("--record '{}' exists and is not a replay log: not overwritten (remove it first)", log);
    return ok();
}

}  // namespace

Result<std::unique_ptr<replay::Recorder>> start_recording(machine::MachineConfig& cfg, const replay::RecordOptions& options) {
    TRAPEZE_TRY(check_recordable(cfg));
    TRAPEZE_TRY(check_log_path(options.path, cfg));
    cfg.deterministic = true;
    auto r = replay::Recorder::create(cfg, options);
    if (!r) return std::move(r).context(fmt::format("--record '{}'", options.path));
    return r;
}

void take_checkpoints(replay::Recorder& recorder, machine::RiscvMachine& m) {
    recorder.set_checkpointer([&m, log = recorder.path()](uint64_t icount) -> Result<std::string> {
        const std::string name = fmt::format("{}.ckpt-{}", std::filesystem::path(log).filename().string(), icount);
        const std::string state = log_dir(log) + "/" + name;
        TRAPEZE_TRY(m.save_snapshot_in_loop({state, default_memory_path(state), machine::SnapshotKind::Full}));
        return name;
    });
}

Result<ReplaySetup> open_replay(const std::string& path, machine::Engine engine, std::optional<uint64_t> from) {
    ReplaySetup s;
    TRAPEZE_TRY_ASSIGN(replayer, replay::Replayer::open(path));
    s.replayer = std::move(replayer);
    const replay::MachineDescription& d = s.replayer->description();
    if (auto c = replay::check_files(d); !c) return std::move(c).context(fmt::format("--replay '{}'", path)).error();
    s.config = d.config;
    s.config.engine = engine;
    if (d.disk_mode == replay::DiskMode::Checksum) {
        TRAPEZE_TRY_ASSIGN(dir, private_disks(s.config));
        s.private_disk_dir = dir;
    }
    if (from) {
        auto c = s.replayer->seek_checkpoint(*from);
        if (!c) return make_error("--replay '{}' --replay-from {}: {}", path, *from, c.error().message);
        const std::string state = log_dir(path) + "/" + c->name;
        auto snap = open_snapshot(state, default_memory_path(state));
        if (!snap) return make_error("--replay-from {}: {}", *from, snap.error().message);
        s.checkpoint = std::move(*snap);
    }
    return s;
}

std::string recording_summary(const replay::Recorder& r, uint64_t icount) {
    return fmt::format("recorded {} instructions to '{}': {} events, {} bytes, {} checkpoint{}", icount, r.path(), r.events(),
                       r.log_bytes(), r.checkpoints(), r.checkpoints() == 1 ? "" : "s");
}

}  // namespace trapeze::vmm
