#include "api/snapshot_params.hpp"

namespace trapeze::api {

namespace {

Result<std::string> required_string(const JsonFields& f, std::string_view key) {
    auto v = f.string(key);
    if (!v) return v.error();
    if (!*v) return f.missing(key);
    if ((*v)->empty()) return make_error("{} must not be empty", key);
    return **v;
}

}  // namespace

Result<SnapshotCreateParams> parse_snapshot_create(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "snapshot-create", {"snapshot_type", "snapshot_path", "mem_file_path"}));
    SnapshotCreateParams p;
    TRAPEZE_TRY_ASSIGN(state, required_string(f, "snapshot_path"));
    TRAPEZE_TRY_ASSIGN(mem, required_string(f, "mem_file_path"));
    p.snapshot_path = state;
    p.mem_file_path = mem;
    TRAPEZE_TRY_ASSIGN(type, f.string("snapshot_type"));
    if (type && *type != "Full" && *type != "Diff")
        return make_error("snapshot-create: snapshot_type must be Full or Diff, not '{}'", *type);
    p.diff = type && *type == "Diff";
    if (p.snapshot_path == p.mem_file_path) return make_error("snapshot-create: snapshot_path and mem_file_path are the same file");
    return p;
}

Result<SnapshotLoadParams> parse_snapshot_load(const json& j) {
    TRAPEZE_TRY_ASSIGN(f, JsonFields::of(j, "snapshot-load",
                                         {"snapshot_path", "mem_file_path", "mem_backend", "enable_diff_snapshots",
                                          "track_dirty_pages", "resume_vm", "network_overrides"}));
    SnapshotLoadParams p;
    TRAPEZE_TRY_ASSIGN(state, required_string(f, "snapshot_path"));
    p.snapshot_path = state;
    TRAPEZE_TRY_ASSIGN(old_mem, f.string("mem_file_path"));
    TRAPEZE_TRY_ASSIGN(backend, f.object("mem_backend"));
    if ((old_mem.has_value()) == (backend != nullptr))
        return make_error("snapshot-load: give exactly one of mem_backend and mem_file_path");
    if (old_mem) p.mem_file_path = *old_mem;
    if (backend != nullptr) {
        TRAPEZE_TRY_ASSIGN(b, JsonFields::of(*backend, "snapshot-load.mem_backend", {"backend_type", "backend_path"}));
        TRAPEZE_TRY_ASSIGN(type, required_string(b, "backend_type"));
        if (type == "Uffd") return make_error("snapshot-load: the Uffd memory backend is not supported (use File)");
        if (type != "File") return make_error("snapshot-load: backend_type must be File or Uffd, not '{}'", type);
        TRAPEZE_TRY_ASSIGN(path, required_string(b, "backend_path"));
        p.mem_file_path = path;
    }
    if (p.mem_file_path.empty()) return make_error("snapshot-load: the memory file path must not be empty");
    // RISC-V tracks dirty pages always; x86 turns KVM's dirty log on for either flag.
    for (const char* flag : {"enable_diff_snapshots", "track_dirty_pages"}) {
        TRAPEZE_TRY_ASSIGN(on, f.boolean(flag));
        p.track_dirty_pages = p.track_dirty_pages || on.value_or(false);
    }
    TRAPEZE_TRY_ASSIGN(resume, f.boolean("resume_vm"));
    p.resume_vm = resume.value_or(false);
    TRAPEZE_TRY_ASSIGN(overrides, f.array("network_overrides"));
    if (overrides != nullptr && !overrides->empty())
        return make_error("snapshot-load: network_overrides are not supported (interfaces come back as saved)");
    return p;
}

}  // namespace trapeze::api
