// The bodies of Firecracker's PUT /snapshot/create and PUT /snapshot/load (its swagger
// description's SnapshotCreateParams and SnapshotLoadParams), read as strictly as the rest of
// the API: unknown fields, wrong types and missing required fields are errors.
#pragma once

#include <string>

#include "api/json_fields.hpp"
#include "base/result.hpp"

namespace trapeze::api {

struct SnapshotCreateParams {
    std::string snapshot_path;  // the state file
    std::string mem_file_path;
    bool diff = false;          // snapshot_type "Diff": only the pages written since the last snapshot
};

struct SnapshotLoadParams {
    std::string snapshot_path;
    std::string mem_file_path;  // mem_backend {backend_type File, backend_path} or the older mem_file_path
    bool resume_vm = false;     // run at once; otherwise the VM is loaded Paused
    bool track_dirty_pages = false;  // enable_diff_snapshots or track_dirty_pages (x86: KVM's dirty log)
};

Result<SnapshotCreateParams> parse_snapshot_create(const json& j);
// Uffd memory backends and network_overrides are refused with a message saying so.
Result<SnapshotLoadParams> parse_snapshot_load(const json& j);

}  // namespace trapeze::api
