#include "api/firecracker_api.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "base/log.hpp"

#ifndef TRAPEZE_VERSION
#define TRAPEZE_VERSION "0.0.0"
#endif

namespace trapeze::api {


namespace {

constexpr std::string_view kNotAfterStart = "The requested operation is not supported after starting the microVM.";
constexpr std::string_view kNotBeforeStart = "The requested operation is not supported before starting the microVM.";

// "/drives/rootfs" with prefix "/drives/" gives "rootfs"; empty if the path is not one.
std::string path_id(const std::string& path, std::string_view prefix) {
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return {};
    std::string id = path.substr(prefix.size());
    return id.find('/') == std::string::npos ? id : std::string{};
}

// The ids in /drives/ID and /network-interfaces/ID paths, by Firecracker's rule for them: only
// letters, digits and '_' (ASCII here; Firecracker also takes other Unicode letters and digits).
// As in Firecracker, the path's id is checked (the body's must then equal it), not a config
// file's ids. An empty id is no such path: path_id() gives "" and the route says so.
Result<void> check_id(std::string_view what, std::string_view field, const std::string& id) {
    const bool valid = std::all_of(id.begin(), id.end(), [](char c) {
        return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    if (valid) return ok();
    return make_error("{}: {} '{}' may hold only letters, digits and '_'", what, field, id);
}

Result<void> check_ids_in(const std::string& path) {
    TRAPEZE_TRY(check_id("drive", "drive_id", path_id(path, "/drives/")));
    return check_id("network-interface", "iface_id", path_id(path, "/network-interfaces/"));
}

HttpResponse result_response(const Result<void>& r) {
    return r ? HttpResponse::no_content() : HttpResponse::fault(r.error().message);
}

// Firecracker endpoints trapeze does not have (yet): a clear 400 rather than "unknown path".
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kUnsupported = {{
    {"/balloon", "the balloon device is not supported"},
    {"/mmds", "MMDS is not supported"},
    {"/vsock", "vsock is not supported"},
    {"/cpu-config", "CPU templates are not supported"},
    {"/pmem/", "virtio-pmem is not supported"},
    {"/hotplug/", "memory hotplug is not supported"},
    {"/memory-hotplug", "memory hotplug is not supported"},
    {"/vm/memory", "guest memory mappings are not reported"},
}};

std::string_view counter_name(const std::string& path) {
    if (path == "/actions") return "actions";
    if (path == "/boot-source") return "boot_source";
    if (path.rfind("/drives/", 0) == 0) return "drive";
    if (path == "/logger") return "logger";
    if (path == "/machine-config") return "machine_cfg";
    if (path == "/metrics") return "metrics";
    if (path.rfind("/network-interfaces/", 0) == 0) return "network";
    if (path == "/entropy") return "entropy";
    if (path == "/serial") return "serial";
    if (path == "/vm") return "vm";
    if (path == "/snapshot/create") return "snapshot_create";
    if (path == "/snapshot/load") return "snapshot_load";
    if (path == "/") return "instance_info";
    if (path == "/version") return "vmm_version";
    if (path == "/vm/config") return "vm_config";
    return "other";
}

}  // namespace

FirecrackerApi::FirecrackerApi(std::string instance_id, VmController& vm, Metrics& metrics)
    : m_id(std::move(instance_id)), m_vm(vm), m_metrics(metrics) {}

void FirecrackerApi::mark_started(VmResources resources) {
    m_resources = std::move(resources);
    m_state = VmState::Running;
}

HttpResponse FirecrackerApi::handle(const HttpRequest& req) {
    HttpResponse r = route(req);
    // One group per method Firecracker counts, one for the rest: what a client sends must not
    // grow the metrics.
    const std::string group = req.method == "GET"     ? "get_api_requests"
                              : req.method == "PUT"   ? "put_api_requests"
                              : req.method == "PATCH" ? "patch_api_requests"
                                                      : "other_api_requests";
    const std::string_view name = counter_name(req.path);
    m_metrics.add(group, std::string(name) + "_count");
    if (r.status >= 400) {
        m_metrics.add(group, std::string(name) + "_fails");
        spdlog::info("API {} {}: {} {}", req.method, req.path, r.status, r.body);
        return r;
    }
    spdlog::info("API {} {}: {}", req.method, req.path, r.status);
    return r;
}

HttpResponse FirecrackerApi::route(const HttpRequest& req) {
    for (const auto& [prefix, why] : kUnsupported) {
        if (req.path.rfind(prefix, 0) == 0) return HttpResponse::fault(why);
    }
    if (req.method == "GET") return get(req.path);
    if (req.method != "PUT" && req.method != "PATCH")
        return HttpResponse::fault(fmt::format("Invalid request method and/or path: {} {}", req.method, req.path));
    auto body = parse_json_body(req.body);
    if (!body) return HttpResponse::fault(body.error().message);
    return req.method == "PUT" ? put(req.path, *body) : patch(req.path, *body);
}

HttpResponse FirecrackerApi::instance_info() const {
    static constexpr std::array<std::string_view, 3> kStates = {"Not started", "Running", "Paused"};
    return HttpResponse::json(json{{"id", m_id},
                                   {"state", kStates[static_cast<size_t>(m_state)]},
                                   {"vmm_version", TRAPEZE_VERSION},
                                   {"app_name", "trapeze"}}
                                  .dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse FirecrackerApi::get(const std::string& path) {
    if (path == "/") return instance_info();
    if (path == "/version") return HttpResponse::json(json{{"firecracker_version", TRAPEZE_VERSION}}.dump());
    if (path == "/machine-config") return HttpResponse::json(m_resources.machine_config_json().dump());
    if (path == "/vm/config") return HttpResponse::json(m_resources.full_config_json().dump());
    return HttpResponse::fault(fmt::format("Invalid request method and/or path: GET {}", path));
}

HttpResponse FirecrackerApi::put(const std::string& path, const json& body) {
    if (path == "/actions") return put_action(body);
    if (path == "/snapshot/create") return put_snapshot_create(body);
    if (path == "/snapshot/load") return put_snapshot_load(body);
    const bool known = path == "/machine-config" || path == "/boot-source" || path == "/entropy" ||
                       path == "/serial" || path == "/logger" || path == "/metrics" ||
                       !path_id(path, "/drives/").empty() || !path_id(path, "/network-interfaces/").empty();
    if (!known) return HttpResponse::fault(fmt::format("Invalid request method and/or path: PUT {}", path));
    if (auto r = check_ids_in(path); !r) return HttpResponse::fault(r.error().message);
    if (started()) return HttpResponse::fault(kNotAfterStart);
    if (path == "/machine-config") return result_response(m_resources.put_machine_config(body));
    if (path == "/boot-source") return result_response(m_resources.put_boot_source(body));
    if (path == "/entropy") return result_response(m_resources.put_entropy(body));
    if (path == "/serial") return result_response(m_resources.put_serial(body));
    if (path == "/logger") {
        auto l = m_resources.parse_logger(body);
        if (!l) return HttpResponse::fault(l.error().message);
        if (auto r = m_vm.configure_logger(*l); !r) return HttpResponse::fault(r.error().message);
        m_resources.set_logger(*l);
        return HttpResponse::no_content();
    }
    if (path == "/metrics") {
        // As in Firecracker: the metrics' destination is set once (counters already flushed to
        // one file would not continue in another).
        if (m_metrics.configured() || !m_resources.metrics_path().empty()) return HttpResponse::fault("metrics: Reinitialization of metrics not allowed.");
        auto p = m_resources.parse_metrics(body);
        if (!p) return HttpResponse::fault(p.error().message);
        if (auto r = m_vm.configure_metrics(*p); !r) return HttpResponse::fault(r.error().message);
        m_resources.set_metrics_path(*p);
        return HttpResponse::no_content();
    }
    if (const auto id = path_id(path, "/drives/"); !id.empty()) return result_response(m_resources.put_drive(id, body));
    return result_response(m_resources.put_network_interface(path_id(path, "/network-interfaces/"), body));
}

HttpResponse FirecrackerApi::patch(const std::string& path, const json& body) {
    if (path == "/machine-config") {
        if (started()) return HttpResponse::fault(kNotAfterStart);
        return result_response(m_resources.patch_machine_config(body));
    }
    if (path == "/vm") return patch_vm(body);
    if (auto r = check_ids_in(path); !r) return HttpResponse::fault(r.error().message);
    if (const auto id = path_id(path, "/drives/"); !id.empty()) return patch_drive(id, body);
    if (const auto id = path_id(path, "/network-interfaces/"); !id.empty()) return patch_net(id, body);
    return HttpResponse::fault(fmt::format("Invalid request method and/or path: PATCH {}", path));
}

HttpResponse FirecrackerApi::put_action(const json& body) {
    auto f = JsonFields::of(body, "actions", {"action_type"});
    if (!f) return HttpResponse::fault(f.error().message);
    auto type = f->string("action_type");
    if (!type) return HttpResponse::fault(type.error().message);
    if (!*type) return HttpResponse::fault(f->missing("action_type").message);
    const std::string& t = **type;
    if (t == "FlushMetrics") return result_response(m_vm.flush_metrics());
    if (t == "InstanceStart") {
        if (started()) return HttpResponse::fault(kNotAfterStart);
        if (!m_resources.boot_source()) return HttpResponse::fault("Cannot start the microVM without a boot source (PUT /boot-source first)");
        if (auto r = m_vm.start(m_resources); !r) return HttpResponse::fault(r.error().message);
        m_state = VmState::Running;
        return HttpResponse::no_content();
    }
    if (t == "SendCtrlAltDel") {
        if (!started()) return HttpResponse::fault(kNotBeforeStart);
        return result_response(m_vm.send_ctrl_alt_del());
    }
    return HttpResponse::fault(
        fmt::format("actions: action_type must be FlushMetrics, InstanceStart or SendCtrlAltDel, not '{}'", t));
}

HttpResponse FirecrackerApi::patch_vm(const json& body) {
    auto f = JsonFields::of(body, "vm", {"state"});
    if (!f) return HttpResponse::fault(f.error().message);
    auto st = f->string("state");
    if (!st) return HttpResponse::fault(st.error().message);
    if (!*st) return HttpResponse::fault(f->missing("state").message);
    if (**st != "Paused" && **st != "Resumed")
        return HttpResponse::fault(fmt::format("vm: state must be Paused or Resumed, not '{}'", **st));
    if (!started()) return HttpResponse::fault(kNotBeforeStart);
    if (**st == "Paused") {
        if (m_state == VmState::Running) {
            if (auto r = m_vm.pause(); !r) return HttpResponse::fault(r.error().message);
            m_state = VmState::Paused;
        }
        return HttpResponse::no_content();
    }
    if (m_state == VmState::Paused) {
        if (auto r = m_vm.resume(); !r) return HttpResponse::fault(r.error().message);
        m_state = VmState::Running;
    }
    return HttpResponse::no_content();
}

// Firecracker's rule: a snapshot is taken of a paused VM (PATCH /vm Paused first), so that
// the state saved is one instant's.
HttpResponse FirecrackerApi::put_snapshot_create(const json& body) {
    auto params = parse_snapshot_create(body);
    if (!params) return HttpResponse::fault(params.error().message);
    if (!started()) return HttpResponse::fault(kNotBeforeStart);
    if (m_state != VmState::Paused)
        return HttpResponse::fault("Cannot create a snapshot of a running microVM: pause it first (PATCH /vm Paused)");
    return result_response(m_vm.create_snapshot(*params));
}

// A snapshot is loaded into a VMM that has not configured a VM: the snapshot is the VM.
HttpResponse FirecrackerApi::put_snapshot_load(const json& body) {
    auto params = parse_snapshot_load(body);
    if (!params) return HttpResponse::fault(params.error().message);
    if (started()) return HttpResponse::fault(kNotAfterStart);
    if (m_resources.configures_vm())
        return HttpResponse::fault("Loading a microVM snapshot is not allowed after configuring boot-specific resources");
    auto loaded = m_vm.load_snapshot(*params);
    if (!loaded) return HttpResponse::fault(loaded.error().message);
    m_resources.set_machine(loaded->machine);
    m_resources.set_loaded_drives(std::move(loaded->drives));
    m_state = params->resume_vm ? VmState::Running : VmState::Paused;
    return HttpResponse::no_content();
}

HttpResponse FirecrackerApi::patch_drive(const std::string& id, const json& body) {
    auto f = JsonFields::of(body, "drive", {"drive_id", "path_on_host", "rate_limiter"});
    if (!f) return HttpResponse::fault(f.error().message);
    if (!started()) return HttpResponse::fault(kNotBeforeStart);
    DriveSettings* d = m_resources.find_drive(id);
    if (d == nullptr) return HttpResponse::fault(fmt::format("drive: no drive '{}'", id));
    auto body_id = f->string("drive_id");
    auto path = f->string("path_on_host");
    auto limiter = f->object("rate_limiter");
    if (!body_id) return HttpResponse::fault(body_id.error().message);
    if (!path) return HttpResponse::fault(path.error().message);
    if (!limiter) return HttpResponse::fault(limiter.error().message);
    if (!*body_id) return HttpResponse::fault(f->missing("drive_id").message);
    if (**body_id != id)
        return HttpResponse::fault(fmt::format("drive: drive_id '{}' in the body does not match '{}' in the path", **body_id, id));
    DriveSettings updated = *d;
    if (*path) updated.path_on_host = **path;
    if (*limiter != nullptr) {
        auto rl = parse_rate_limiter(**limiter, "drive.rate_limiter");
        if (!rl) return HttpResponse::fault(rl.error().message);
        updated.rate_limiter = *rl;
    }
    if (auto r = m_vm.update_drive(updated); !r) return HttpResponse::fault(r.error().message);
    *d = updated;
    return HttpResponse::no_content();
}

HttpResponse FirecrackerApi::patch_net(const std::string& id, const json& body) {
    auto f = JsonFields::of(body, "network-interface", {"iface_id", "rx_rate_limiter", "tx_rate_limiter"});
    if (!f) return HttpResponse::fault(f.error().message);
    if (!started()) return HttpResponse::fault(kNotBeforeStart);
    NetworkSettings* n = m_resources.find_net(id);
    if (n == nullptr) return HttpResponse::fault(fmt::format("network-interface: no interface '{}'", id));
    auto body_id = f->string("iface_id");
    if (!body_id) return HttpResponse::fault(body_id.error().message);
    if (!*body_id) return HttpResponse::fault(f->missing("iface_id").message);
    if (**body_id != id)
        return HttpResponse::fault(
            fmt::format("network-interface: iface_id '{}' in the body does not match '{}' in the path", **body_id, id));
    NetworkSettings updated = *n;
    for (const char* key : {"rx_rate_limiter", "tx_rate_limiter"}) {
        auto obj = f->object(key);
        if (!obj) return HttpResponse::fault(obj.error().message);
        if (*obj == nullptr) continue;
        auto rl = parse_rate_limiter(**obj, fmt::format("network-interface.{}", key));
        if (!rl) return HttpResponse::fault(rl.error().message);
        (std::string_view(key) == "rx_rate_limiter" ? updated.rx_rate_limiter : updated.tx_rate_limiter) = *rl;
    }
    if (auto r = m_vm.update_net(updated); !r) return HttpResponse::fault(r.error().message);
    *n = updated;
    return HttpResponse::no_content();
}

}  // namespace trapeze::api
