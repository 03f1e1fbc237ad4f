// FirecrackerApi: Firecracker's REST API (its swagger description, firecracker.yaml) mapped
// onto trapeze: which request is allowed before and after InstanceStart, what each answers,
// and the fault messages. Pre-boot requests build up VmResources; the others go to the
// VmController. docs/api.md lists the endpoints, the extensions and what is not supported.
//
// Thread: handle() on the API thread only (requests are served one at a time).
#pragma once

#include <string>

#include "api/http_request_reader.hpp"
#include "api/http_response.hpp"
#include "api/metrics.hpp"
#include "api/vm_controller.hpp"
#include "api/vm_resources.hpp"

namespace trapeze::api {

class FirecrackerApi {
public:
    FirecrackerApi(std::string instance_id, VmController& vm, Metrics& metrics);

    HttpResponse handle(const HttpRequest& req);

    // The VM was started without the API (--config-file): pre-boot requests are refused.
    void mark_started(VmResources resources);
    VmState state() const { return m_state; }

private:
    HttpResponse route(const HttpRequest& req);
    HttpResponse get(const std::string& path);
    HttpResponse put(const std::string& path, const json& body);
    HttpResponse patch(const std::string& path, const json& body);
    HttpResponse put_action(const json& body);
    HttpResponse patch_vm(const json& body);
    HttpResponse put_snapshot_create(const json& body);
    HttpResponse put_snapshot_load(const json& body);
    HttpResponse patch_drive(const std::string& id, const json& body);
    HttpResponse patch_net(const std::string& id, const json& body);
    HttpResponse instance_info() const;
    bool started() const { return m_state != VmState::NotStarted; }

    std::string m_id;
    VmController& m_vm;
    Metrics& m_metrics;
    VmResources m_resources;
    VmState m_state = VmState::NotStarted;
};

}  // namespace trapeze::api
