// libFuzzer target: Firecracker's API as one connection of the API socket sees it. The bytes
// go to an api::HttpRequestReader (Boost.Beast's parser) in chunks, and every request it
// completes goes to an api::FirecrackerApi (the routes, the JSON bodies, VmResources) in front
// of a fake VmController, as ApiServer::answer does.
//
// Input:
//   byte 0   the fake VM's fates: bit k set makes the first call of kind k fail (0 start,
//            1 pause, 2 resume, 3 SendCtrlAltDel, 4 drive update, 5 net update, 6 logger,
//            7 metrics and FlushMetrics); every later call of that kind succeeds, so both a
//            failed and a successful InstanceStart, and the post-boot paths, are in reach
//   byte 1   the body limit, % 4: 51200 (Firecracker's default), 16, 256, 1024
//   byte 2   n = byte % 8 chunk sizes follow, one byte each (a size 0 is one byte); the
//            stream is fed in those sizes, cycled, with every request completed so far
//            answered after each chunk; n = 0 feeds it whole
//   the rest the bytes of the connection: HTTP/1.1 requests, pipelined or not
//
// Checked: every answer is 204 with no body, 200 (to a GET) with a JSON object, or 400 with
// exactly {"fault_message": non-empty string}; a refused request changes neither the state
// nor GET /vm/config; the state GET / shows is FirecrackerApi::state(); InstanceStart
// answered 204 means Running; the wire form starts "HTTP/1.1 <status> " and carries the body
// with its Content-Length; a request the reader gives has a method and a path without '?';
// the bytes the reader holds while it needs more are at most a header's worth (beyond the
// last chunk); once the reader says Bad it stays Bad with a reason, which is answered as a
// 400 too; nothing is answered after a request without keep-alive (the server closes there).
//
// Paths in the bodies are opened as the API opens them (read, or read-write for a writable
// drive; never created, never written): the seeds use /proc/self/exe as a kernel (an x86-64
// ELF) and /dev/null as a disk, so InstanceStart can succeed without files of our own. A
// request whose body names an existing file that is neither a regular file, a directory nor
// /dev/null (a FIFO would block the open, a tty or disk is not ours to open) is not handed on.
//
// Replaying with API_FUZZER_TRACE=1 in the environment prints each request and its answer.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "api/firecracker_api.hpp"
#include "api/http_request_reader.hpp"
#include "api/http_response.hpp"
#include "api/metrics.hpp"

using namespace trapeze;
using namespace trapeze::api;

namespace {

bool g_trace = false;  // API_FUZZER_TRACE=1: each request and its answer on stderr (replaying)

void require(bool ok) {
    if (!ok) __builtin_trap();
}

class FakeVm final : public VmController {
public:
    explicit FakeVm(uint8_t fates) : m_fates(fates) {}

    Result<void> start(const VmResources& r) override {
        // What the VMM builds the machine from must serialise (every string in it came from
        // a request).
        require(!r.full_config_json().dump().empty());
        require(r.boot_source().has_value());
        return fate(0, "cannot build the machine");
    }
    Result<void> pause() override { return fate(1, "cannot pause"); }
    Result<void> resume() override { return fate(2, "cannot resume"); }
    Result<void> send_ctrl_alt_del() override { return fate(3, "no power button"); }
    Result<void> update_drive(const DriveSettings& d) override {
        require(!d.drive_id.empty());
        return fate(4, "cannot update the drive");
    }
    Result<void> update_net(const NetworkSettings& n) override {
        require(!n.iface_id.empty());
        return fate(5, "cannot update the interface");
    }
    Result<void> configure_logger(const LoggerSettings&) override { return fate(6, "cannot open the log"); }
    Result<void> configure_metrics(const std::string&) override { return fate(7, "cannot open the metrics"); }
    Result<void> flush_metrics() override { return fate(7, "metrics are not configured"); }
    Result<void> create_snapshot(const SnapshotCreateParams& p) override {
        require(!p.snapshot_path.empty() && !p.mem_file_path.empty());
        return fate(1, "cannot write the snapshot");
    }
    Result<LoadedVm> load_snapshot(const SnapshotLoadParams& p) override {
        require(!p.snapshot_path.empty() && !p.mem_file_path.empty());
        if (auto r = fate(0, "not a trapeze snapshot"); !r) return r.error();
        DriveSettings d;
        d.drive_id = "rootfs";
        d.path_on_host = "/dev/null";
        return LoadedVm{MachineConfiguration{1, 128}, {d}};
    }

private:
    Result<void> fate(unsigned kind, const char* why) {
        const uint8_t bit = static_cast<uint8_t>(1U << kind);
        if ((m_fates & bit) == 0) return ok();
        m_fates = static_cast<uint8_t>(m_fates & ~bit);
        return make_error("{}", why);
    }
    uint8_t m_fates;
};

// A body that names a special file (FIFO, device, socket) other than /dev/null.
bool names_special_file(const json& j) {
    if (j.is_string()) {
        struct stat st{};
        const auto& s = j.get_ref<const std::string&>();
        if (s.empty() || s.find('\0') != std::string::npos || ::stat(s.c_str(), &st) != 0) return false;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return false;
        struct stat null{};
        return !(S_ISCHR(st.st_mode) && ::stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev);
    }
    if (j.is_structured()) {
        for (const auto& v : j) {
            if (names_special_file(v)) return true;
        }
    }
    return false;
}

std::string vm_config(FirecrackerApi& api) {
    const HttpResponse r = api.handle(HttpRequest{"GET", "/vm/config", "", true});
    require(r.status == 200);
    return r.body;
}

void check_wire(const HttpResponse& r, bool close) {
    const std::string wire = serialize(r, close);
    const std::string head = "HTTP/1.1 " + std::to_string(r.status) + " ";
    require(wire.compare(0, head.size(), head) == 0);
    const size_t end = wire.find("\r\n\r\n");
    require(end != std::string::npos);
    require(wire.compare(end + 4, std::string::npos, r.body) == 0);
    if (r.status != 204) {
        const std::string length = "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
        require(wire.find(length) != std::string::npos && wire.find(length) < end);
    }
    require((wire.find("Connection: close\r\n") < end) == close);
}

void check_fault(const HttpResponse& r) {
    require(r.status == 400);
    const json j = json::parse(r.body, nullptr, false);
    require(j.is_object() && j.size() == 1 && j.contains("fault_message"));
    require(j["fault_message"].is_string() && !j["fault_message"].get_ref<const std::string&>().empty());
}

void check_answer(const HttpRequest& req, const HttpResponse& r) {
    switch (r.status) {
        case 204: require(r.body.empty()); break;
        case 200: {
            require(req.method == "GET");
            const json j = json::parse(r.body, nullptr, false);
            require(j.is_object());
            break;
        }
        default: check_fault(r); break;
    }
    check_wire(r, !req.keep_alive);
}

const char* state_name(VmState s) {
    switch (s) {
        case VmState::NotStarted: return "Not started";
        case VmState::Running: return "Running";
        case VmState::Paused: return "Paused";
    }
    return "";
}

// One request, as the server answers it. False once the connection is to be closed.
bool serve(FirecrackerApi& api, const HttpRequest& req) {
    require(!req.method.empty());
    require(req.path.find('?') == std::string::npos);
    if (!req.body.empty()) {
        const json body = json::parse(req.body, nullptr, false);
        if (!body.is_discarded() && names_special_file(body)) return false;
    }
    const VmState before = api.state();
    const std::string config_before = vm_config(api);
    const HttpResponse r = api.handle(req);
    if (g_trace)
        std::fprintf(stderr, "%s %s -> %d %s\n", req.method.c_str(), req.path.c_str(), r.status, r.body.c_str());
    check_answer(req, r);
    if (r.status == 400) {
        require(api.state() == before);
        require(vm_config(api) == config_before);
    }
    if (r.status == 204 && req.method == "PUT" && req.path == "/actions" &&
        json::parse(req.body, nullptr, false).value("action_type", "") == "InstanceStart") {
        require(before == VmState::NotStarted && api.state() == VmState::Running);
    }
    const HttpResponse info = api.handle(HttpRequest{"GET", "/", "", true});
    require(info.status == 200);
    require(json::parse(info.body).at("state") == state_name(api.state()));
    return req.keep_alive;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Every refused request is logged: format the lines, write none.
    auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    g_trace = std::getenv("API_FUZZER_TRACE") != nullptr;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    static constexpr size_t kLimits[] = {HttpRequestReader::kDefaultMaxBody, 16, 256, 1024};
    FakeVm vm(data[0]);
    Metrics metrics;
    FirecrackerApi api("fuzz-vm", vm, metrics);
    HttpRequestReader reader(kLimits[data[1] % 4]);
    const size_t nsizes = data[2] % 8;
    size_t pos = 3;
    uint8_t sizes[8] = {};
    for (size_t i = 0; i < nsizes && pos < size; ++i) sizes[i] = data[pos++];
    const std::string_view stream(reinterpret_cast<const char*>(data + pos), size - pos);

    size_t fed = 0;
    for (size_t chunk = 0; fed < stream.size(); ++chunk) {
        const size_t n = nsizes == 0 ? stream.size() : std::max<size_t>(1, sizes[chunk % nsizes]);
        const std::string_view piece = stream.substr(fed, n);
        reader.feed(piece);
        fed += piece.size();
        for (;;) {
            const auto st = reader.next();
            if (st == HttpRequestReader::Status::NeedMore) {
                // What waits unparsed is at most an unfinished header (or chunk header).
                require(reader.pending() <= HttpRequestReader::kMaxHeader + piece.size());
                break;
            }
            if (st == HttpRequestReader::Status::Bad) {
                require(!reader.error().empty());
                if (g_trace) std::fprintf(stderr, "bad request -> 400 %s\n", reader.error().c_str());
                const HttpResponse r = HttpResponse::fault(reader.error());
                check_fault(r);
                check_wire(r, true);
                require(reader.next() == HttpRequestReader::Status::Bad);
                return 0;
            }
            require(reader.next() == HttpRequestReader::Status::Ready);  // stays ready until taken
            if (!serve(api, reader.take())) return 0;
        }
    }
    return 0;
}
