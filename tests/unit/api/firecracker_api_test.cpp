// FirecrackerApi (issue 22) against a fake VM: the pre-boot/post-boot rules, the answers
// Firecracker gives (204, 200 with JSON, 400 with a fault message), and that a refused
// request changes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "api/firecracker_api.hpp"

namespace trapeze::api {
namespace {

class FakeVm final : public VmController {
public:
    Result<void> start(const VmResources& r) override {
        ++starts;
        if (fail_start) return make_error("cannot build the machine");
        started_with = r.full_config_json();
        return ok();
    }
    Result<void> pause() override { return ++pauses, ok(); }
    Result<void> resume() override { return ++resumes, ok(); }
    Result<void> send_ctrl_alt_del() override { return make_error("no power button"); }
    Result<void> update_drive(const DriveSettings& d) override {
        drive_path = d.path_on_host;
        return ok();
    }
    Result<void> update_net(const NetworkSettings&) override { return ok(); }
    Result<void> configure_logger(const LoggerSettings&) override { return ok(); }
    Result<void> configure_metrics(const std::string&) override { return ok(); }
    Result<void> flush_metrics() override { return ++flushes, ok(); }
    Result<void> create_snapshot(const SnapshotCreateParams& p) override {
        snapshots.push_back(p);
        return ok();
    }
    Result<LoadedVm> load_snapshot(const SnapshotLoadParams& p) override {
        loads.push_back(p);
        if (fail_load) return make_error("not a trapeze snapshot (bad magic)");
        DriveSettings root;
        root.drive_id = "rootfs";
        root.path_on_host = "/images/root.img";
        return LoadedVm{MachineConfiguration{2, 256}, {root}};
    }

    int starts = 0, pauses = 0, resumes = 0, flushes = 0;
    bool fail_start = false, fail_load = false;
    std::vector<SnapshotCreateParams> snapshots;
    std::vector<SnapshotLoadParams> loads;
    json started_with;
    std::string drive_path;
};

class FirecrackerApiTest : public ::testing::Test {
protected:
    FirecrackerApiTest() : api("vm-1", vm, metrics) {
        kernel = make_file("kernel", std::string(0x38, '\0') + "RSC\x05" + std::string(64, '\0'));
        disk = make_file("disk", std::string(4096, '\0'));
    }
    ~FirecrackerApiTest() override {
        for (const auto& f : files) ::unlink(f.c_str());
    }
    std::string make_file(const std::string& name, const std::string& content) {
        std::string path = ::testing::TempDir() + "fc_api_" + name + std::to_string(::getpid());
        std::ofstream(path, std::ios::binary) << content;
        files.push_back(path);
        return path;
    }
    HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
        return api.handle(HttpRequest{method, path, body, true});
    }
    static std::string fault(const HttpResponse& r) {
        return r.body.empty() ? "" : json::parse(r.body).value("fault_message", "");
    }
    void configure() {
        ASSERT_EQ(call("PUT", "/boot-source", json{{"kernel_image_path", kernel}, {"boot_args", "console=ttyS0"}}.dump()).status, 204);
        ASSERT_EQ(call("PUT", "/drives/rootfs",
                       json{{"drive_id", "rootfs"}, {"path_on_host", disk}, {"is_root_device", true}, {"is_read_only", false}}.dump())
                      .status,
                  204);
    }

    FakeVm vm;
    Metrics metrics;
    FirecrackerApi api;
    std::string kernel, disk;
    std::vector<std::string> files;
};

TEST_F(FirecrackerApiTest, DescribesTheInstanceBeforeAndAfterStart) {
    auto r = call("GET", "/");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(json::parse(r.body)["state"], "Not started");
    EXPECT_EQ(json::parse(r.body)["id"], "vm-1");
    configure();
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    EXPECT_EQ(json::parse(call("GET", "/").body)["state"], "Running");
    EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
    EXPECT_EQ(json::parse(call("GET", "/").body)["state"], "Paused");
    EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
    EXPECT_EQ(vm.pauses, 1);
    EXPECT_EQ(vm.resumes, 1);
}

TEST_F(FirecrackerApiTest, MachineConfigHasFirecrackersDefaultsAndTakesPutAndPatch) {
    auto r = json::parse(call("GET", "/machine-config").body);
    EXPECT_EQ(r["vcpu_count"], 1);
    EXPECT_EQ(r["mem_size_mib"], 128);
    EXPECT_EQ(r["smt"], false);
    EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})").status, 204);
    EXPECT_EQ(call("PATCH", "/machine-config", R"({"vcpu_count": 4})").status, 204);
    r = json::parse(call("GET", "/machine-config").body);
    EXPECT_EQ(r["vcpu_count"], 4);
    EXPECT_EQ(r["mem_size_mib"], 256);
}

TEST_F(FirecrackerApiTest, RefusedRequestsSay400WithAFaultAndChangeNothing) {
    struct Case {
        const char* method;
        const char* path;
        std::string body;
        const char* fault_has;
    };
    const Case cases[] = {
        {"PUT", "/machine-config", "{not json", "not valid JSON"},
        {"PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256, "colour": "red"})", "unknown field `colour`"},
        {"PUT", "/machine-config", R"({"vcpu_count": "two", "mem_size_mib": 256})", "vcpu_count"},
        {"PUT", "/machine-config", R"({"vcpu_count": 33, "mem_size_mib": 256})", "vcpu_count"},
        {"PUT", "/machine-config", R"({"vcpu_count": -1, "mem_size_mib": 256})", "vcpu_count"},
        {"PUT", "/machine-config", R"({"vcpu_count": 2})", "missing field `mem_size_mib`"},
        {"PUT", "/machine-config", R"([1, 2])", "expected a JSON object"},
        {"PUT", "/machine-config", "", "needs a JSON body"},
        {"PUT", "/boot-source", R"({"kernel_image_path": "/nonexistent/vmlinux"})", "cannot open"},
        {"PUT", "/drives/a", R"({"drive_id": "b", "path_on_host": "/x", "is_root_device": false})", "does not match"},
        {"PUT", "/drives/a", R"({"drive_id": "a", "path_on_host": "/nonexistent", "is_root_device": false})", "cannot open"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0"})", "host_dev_name"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "zz"})", "guest_mac"},
        {"PUT", "/actions", R"({"action_type": "Reboot"})", "action_type"},
        {"PUT", "/actions", R"({"action_type": "InstanceStart"})", "boot source"},
        {"PATCH", "/vm", R"({"state": "Paused"})", "before starting"},
        {"PATCH", "/drives/rootfs", R"({"drive_id": "rootfs"})", "before starting"},
        {"GET", "/nowhere", "", "Invalid request method and/or path: GET /nowhere"},
        {"DELETE", "/machine-config", "", "Invalid request method and/or path"},
        {"PUT", "/snapshot/create", R"({"snapshot_path": "a", "mem_file_path": "b"})", "before starting"},
        {"PUT", "/snapshot/create", R"({"snapshot_path": "a"})", "mem_file_path"},
        {"PUT", "/snapshot/load", R"({"snapshot_path": "a"})", "exactly one"},
        {"PUT", "/snapshot/load", R"({"snapshot_path": "a", "mem_backend": {"backend_type": "Uffd", "backend_path": "b"}})", "Uffd"},
        {"PUT", "/snapshot/load", R"({"snapshot_path": "a", "mem_file_path": "b", "network_overrides": [{}]})", "network_overrides"},
        {"PUT", "/balloon", R"({"amount_mib": 1, "deflate_on_oom": true})", "balloon"},
        {"GET", "/drives/\xff", "", "Invalid request"},  // not UTF-8: quoted, not a crash
        {"PUT", "/boot-source", R"({"kernel_image_path": "/dev/null"})", "not a regular file"},
        {"PUT", "/logger", R"({"level": "loud"})", "level"},
        {"PATCH", "/machine-config", "{}", "empty PATCH"},
        {"PUT", "/serial", R"({"serial_out_path": "/nonexistent/dir/serial.log"})", "no directory"},
        {"PUT", "/serial", R"({"serial_out_path": "/tmp"})", "is a directory"},
        {"PUT", "/serial", R"({"serial_out_path": ""})", "empty"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "host_dev_name": "tap-longer-than-15"})", "host_dev_name"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "01:00:5e:00:00:01"})",
         "group or zero"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "00:00:00:00:00:00"})",
         "group or zero"},
        {"PUT", "/machine-config", std::string(129, '[') + std::string(129, ']'), "deeper than 128"},
        {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "backend": "user", "hostfwd": ["tcp::0-:22"]})",
         "network-interface: hostfwd 'tcp::0-:22': host port '0'"},  // the rule named once
        // The id of a /drives/ or /network-interfaces/ path, by Firecracker's rule: letters, digits, '_'.
        {"PUT", "/drives/root-fs", R"({"drive_id": "root-fs", "path_on_host": "/x", "is_root_device": false})",
         "drive_id 'root-fs' may hold only"},
        {"PUT", "/drives/a%20b", R"({"drive_id": "a b", "path_on_host": "/x", "is_root_device": false})",
         "drive_id 'a%20b' may hold only"},
        {"PUT", "/network-interfaces/eth.0", R"({"iface_id": "eth.0", "host_dev_name": "tap0"})",
         "iface_id 'eth.0' may hold only"},
        {"PATCH", "/drives/root!", R"({"drive_id": "root!"})", "drive_id 'root!' may hold only"},
        {"PATCH", "/network-interfaces/eth0:1", R"({"iface_id": "eth0:1"})", "iface_id 'eth0:1' may hold only"},
        // A key given twice in one object (nlohmann-json would keep the last; serde refuses it).
        {"PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256, "vcpu_count": 4})", "`vcpu_count` twice"},
        {"PUT", "/drives/a", R"({"drive_id": "a", "path_on_host": "/x", "is_root_device": false,
                                 "rate_limiter": {"ops": {"size": 1, "refill_time": 1, "size": 2}}})",
         "`size` twice"},
    };
    const std::string before = call("GET", "/vm/config").body;
    for (const Case& c : cases) {
        const auto r = call(c.method, c.path, c.body);
        EXPECT_EQ(r.status, 400) << c.method << " " << c.path << " " << c.body;
        EXPECT_NE(fault(r).find(c.fault_has), std::string::npos) << c.path << ": " << fault(r);
    }
    EXPECT_EQ(call("GET", "/vm/config").body, before);
    EXPECT_EQ(vm.starts, 0);
}

// Ids of letters, digits and '_' are taken, in any order and case.
TEST_F(FirecrackerApiTest, TakesIdsOfLettersDigitsAndUnderscores) {
    const auto r = call("PUT", "/drives/Root_1",
                        json{{"drive_id", "Root_1"}, {"path_on_host", disk}, {"is_root_device", true}}.dump());
    EXPECT_EQ(r.status, 204) << fault(r);
    EXPECT_EQ(call("PUT", "/network-interfaces/_0", R"({"iface_id": "_0", "backend": "user"})").status, 204);
    const auto cfg = json::parse(call("GET", "/vm/config").body);
    EXPECT_EQ(cfg["drives"][0]["drive_id"], "Root_1");
    EXPECT_EQ(cfg["network-interfaces"][0]["iface_id"], "_0");
}

TEST_F(FirecrackerApiTest, PreBootRequestsAreRefusedAfterStartAndPostBootOnesAllowed) {
    configure();
    ASSERT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    for (const auto& [path, body] : std::initializer_list<std::pair<const char*, std::string>>{
             {"/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})"},
             {"/boot-source", json{{"kernel_image_path", kernel}}.dump()},
             {"/drives/rootfs", json{{"drive_id", "rootfs"}, {"path_on_host", disk}, {"is_root_device", true}}.dump()},
             {"/entropy", "{}"},
         }) {
        const auto r = call("PUT", path, body);
        EXPECT_EQ(r.status, 400) << path;
        EXPECT_NE(fault(r).find("after starting"), std::string::npos) << path;
    }
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 400);
    EXPECT_EQ(vm.starts, 1);
    EXPECT_EQ(call("PATCH", "/drives/rootfs", json{{"drive_id", "rootfs"}, {"path_on_host", disk}}.dump()).status, 204);
    EXPECT_EQ(vm.drive_path, disk);
    EXPECT_EQ(call("PATCH", "/drives/other", R"({"drive_id": "other"})").status, 400);
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
    EXPECT_EQ(vm.flushes, 1);
}

TEST_F(FirecrackerApiTest, AFailedStartLeavesTheVmConfigurableAndStartableAgain) {
    configure();
    vm.fail_start = true;
    const auto r = call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(fault(r), "cannot build the machine");
    EXPECT_EQ(json::parse(call("GET", "/").body)["state"], "Not started");
    EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 204);
    vm.fail_start = false;
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    EXPECT_EQ(vm.started_with["machine-config"]["mem_size_mib"], 64);
    EXPECT_EQ(vm.started_with["drives"][0]["is_root_device"], true);
}

TEST_F(FirecrackerApiTest, CountsRequestsAndFailuresInFirecrackersMetricNames) {
    (void)call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})");
    (void)call("PUT", "/machine-config", R"({"vcpu_count": 0, "mem_size_mib": 64})");
    (void)call("GET", "/machine-config");
    const json m = metrics.take();
    EXPECT_EQ(m["put_api_requests"]["machine_cfg_count"], 2);
    EXPECT_EQ(m["put_api_requests"]["machine_cfg_fails"], 1);
    EXPECT_EQ(m["get_api_requests"]["machine_cfg_count"], 1);
    EXPECT_TRUE(m.contains("utc_timestamp_ms"));
    EXPECT_EQ(metrics.take()["put_api_requests"]["machine_cfg_count"], 0);  // deltas since the last flush
}

// Snapshots (issue 23): create only of a paused VM; load only into a VMM that has configured
// nothing, leaving the VM paused unless resume_vm; a failed load changes nothing.
TEST_F(FirecrackerApiTest, SnapshotCreateNeedsAPausedVm) {
    configure();
    ASSERT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    const std::string body = R"({"snapshot_type": "Diff", "snapshot_path": "s", "mem_file_path": "m"})";
    auto r = call("PUT", "/snapshot/create", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault(r).find("pause it first"), std::string::npos) << fault(r);
    EXPECT_TRUE(vm.snapshots.empty());
    EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
    EXPECT_EQ(call("PUT", "/snapshot/create", body).status, 204);
    ASSERT_EQ(vm.snapshots.size(), 1u);
    EXPECT_TRUE(vm.snapshots[0].diff);
    EXPECT_EQ(vm.snapshots[0].snapshot_path, "s");
    EXPECT_EQ(vm.snapshots[0].mem_file_path, "m");
}

TEST_F(FirecrackerApiTest, SnapshotLoadIsTheVmAndComesBackPausedUnlessResumed) {
    vm.fail_load = true;
    const std::string body = R"({"snapshot_path": "s", "mem_backend": {"backend_type": "File", "backend_path": "m"}})";
    auto r = call("PUT", "/snapshot/load", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault(r).find("bad magic"), std::string::npos) << fault(r);
    EXPECT_NE(call("GET", "/").body.find("Not started"), std::string::npos);
    vm.fail_load = false;
    EXPECT_EQ(call("PUT", "/snapshot/load", body).status, 204);
    EXPECT_NE(call("GET", "/").body.find("Paused"), std::string::npos);
    EXPECT_NE(call("GET", "/machine-config").body.find(R"("vcpu_count":2)"), std::string::npos);
    EXPECT_EQ(call("PUT", "/snapshot/load", body).status, 400);  // one VM per process
    // The loaded VM's drives are the API's: shown, and PATCHed by their ids.
    const json drives = json::parse(call("GET", "/vm/config").body)["drives"];
    ASSERT_EQ(drives.size(), 1u) << drives;
    EXPECT_EQ(drives[0]["drive_id"], "rootfs");
    EXPECT_EQ(drives[0]["path_on_host"], "/images/root.img");
    EXPECT_EQ(call("PATCH", "/drives/rootfs", json{{"drive_id", "rootfs"}, {"path_on_host", disk}}.dump()).status, 204);
    EXPECT_EQ(vm.drive_path, disk);
    EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
    EXPECT_EQ(vm.resumes, 1);
}

TEST_F(FirecrackerApiTest, SnapshotLoadAfterConfiguringIsRefused) {
    configure();
    auto r = call("PUT", "/snapshot/load", R"({"snapshot_path": "s", "mem_file_path": "m", "resume_vm": true})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault(r).find("after configuring"), std::string::npos) << fault(r);
    EXPECT_TRUE(vm.loads.empty());
}

// A machine-config shapes the VM as much as a boot source (Firecracker refuses the load too):
// taking the snapshot's shape instead would drop it without a word.
TEST_F(FirecrackerApiTest, SnapshotLoadAfterAMachineConfigIsRefused) {
    for (const char* method : {"PUT", "PATCH"}) {
        FakeVm fresh_vm;
        Metrics fresh_metrics;
        FirecrackerApi fresh("vm-2", fresh_vm, fresh_metrics);
        ASSERT_EQ(fresh.handle(HttpRequest{method, "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 512})", true}).status,
                  204);
        const auto r = fresh.handle(HttpRequest{"PUT", "/snapshot/load", R"({"snapshot_path": "s", "mem_file_path": "m"})", true});
        EXPECT_EQ(r.status, 400) << method;
        EXPECT_NE(fault(r).find("after configuring"), std::string::npos) << fault(r);
        EXPECT_TRUE(fresh_vm.loads.empty());
    }
}

// As in Firecracker, the metrics' destination is set once.
TEST_F(FirecrackerApiTest, MetricsAreConfiguredOnce) {
    const std::string first = make_file("metrics1", ""), second = make_file("metrics2", "");
    EXPECT_EQ(call("PUT", "/metrics", json{{"metrics_path", first}}.dump()).status, 204);
    const auto r = call("PUT", "/metrics", json{{"metrics_path", second}}.dump());
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault(r).find("Reinitialization"), std::string::npos) << fault(r);
}

// A nesting within the limit parses (and is refused for what it is, not for its depth).
TEST_F(FirecrackerApiTest, JsonNestedUpToTheLimitIsParsed) {
    const auto r = call("PUT", "/machine-config", std::string(128, '[') + std::string(128, ']'));
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault(r).find("expected a JSON object"), std::string::npos) << fault(r);
    const std::string in_a_string = R"({"vcpu_count": 1, "mem_size_mib": 256, "cpu_template": ")" + std::string(300, '[') + "\"}";
    EXPECT_EQ(fault(call("PUT", "/machine-config", in_a_string)).find("deeper"), std::string::npos);
}

// boot_args the riscv64 kernel would take whole: Linux's 1023 bytes at most (a longer line is
// cut, and a root drive's root= with it) and no control characters (a NUL ends the string early).
TEST_F(FirecrackerApiTest, BootArgsTheKernelWouldCutAreRefused) {
    const std::string before = call("GET", "/vm/config").body;
    for (const std::string& args : {std::string(1024, 'a'), std::string("console=ttyS0 foo\0bar", 21),
                                    std::string("console=ttyS0\nroot=/dev/vdb")}) {
        const auto r = call("PUT", "/boot-source", json{{"kernel_image_path", kernel}, {"boot_args", args}}.dump());
        EXPECT_EQ(r.status, 400) << args.size();
        EXPECT_NE(fault(r).find("boot_args"), std::string::npos) << fault(r);
    }
    EXPECT_EQ(call("GET", "/vm/config").body, before);
    EXPECT_EQ(call("PUT", "/boot-source", json{{"kernel_image_path", kernel}, {"boot_args", std::string(1023, 'a')}}.dump()).status,
              204);
}

}  // namespace
}  // namespace trapeze::api
