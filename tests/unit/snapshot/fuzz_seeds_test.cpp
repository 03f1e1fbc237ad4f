// The snapshot fuzzer's seeds (tests/fuzz/corpus/snapshot_fuzzer, input format in
// tests/fuzz/snapshot_fuzzer.cpp): each must still parse and restore, or the fuzzer would start
// from inputs its restore refuses at the first check and never reach the components.
//
// The seeds are real snapshots of the tiny machine (machine_fixture.hpp), two of them edited to
// hold an active virtio device with a request in its rings. To write them afresh (after a State
// layout changes), run this from the source directory and commit the result:
//   TRAPEZE_WRITE_SNAPSHOT_SEEDS=tests/fuzz/corpus/snapshot_fuzzer
//       build/tests/unit/snapshot/snapshot_test --gtest_filter='SnapshotFuzzSeeds.*'
// (one command line).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "machine_fixture.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_spec.hpp"

#ifndef TRAPEZE_SOURCE_DIR
#error "TRAPEZE_SOURCE_DIR must name the source tree (tests/unit/snapshot/CMakeLists.txt)"
#endif

namespace trapeze::snapshot::test {
namespace {

constexpr uint8_t kReseal = 1, kOwnConfig = 2;  // the fuzzer's flag byte
constexpr uint64_t kDesc = kEntry + 0x1000, kAvail = kEntry + 0x2000, kUsed = kEntry + 0x3000;
constexpr uint64_t kBuffers = kEntry + 0x4000;
constexpr uint16_t kQueue = 16;

std::string seed_dir() { return std::string(TRAPEZE_SOURCE_DIR) + "/tests/fuzz/corpus/snapshot_fuzzer"; }

// RAM from kEntry: one descriptor chain per queue q, made available: queue q's rings at
// kDesc/kAvail/kUsed + q * 0x400, its buffer at kBuffers + q * 0x100.
std::vector<uint8_t> rings_image(const std::vector<std::pair<uint16_t, std::string>>& chains) {
    std::vector<uint8_t> ram(kBuffers + 0x1000 - kEntry);
    auto at = [&](uint64_t gpa) { return ram.data() + (gpa - kEntry); };
    for (size_t q = 0; q < chains.size(); ++q) {
        const auto& [flags, data] = chains[q];
        const uint64_t buffer = kBuffers + q * 0x100;
        store_le<uint64_t>(at(kDesc + q * 0x400), buffer);
        store_le<uint32_t>(at(kDesc + q * 0x400 + 8), static_cast<uint32_t>(std::max<size_t>(data.size(), 64)));
        store_le<uint16_t>(at(kDesc + q * 0x400 + 12), flags);
        store_le<uint16_t>(at(kAvail + q * 0x400 + 2), 1);  // idx 1, ring[0] = descriptor 0
        std::memcpy(at(buffer), data.data(), data.size());
    }
    return ram;
}

// An active transport of device `id` whose queues are all ready on the rings above.
virtio::VirtioMmioTransport::State active_transport(uint32_t id, size_t queues, std::vector<uint8_t> device_state) {
    virtio::VirtioMmioTransport::State s;
    s.device_id = id;
    s.driver_features = virtio::feature_bit(virtio::VIRTIO_F_VERSION_1);
    s.status = 0xf;  // ACKNOWLEDGE DRIVER FEATURES_OK DRIVER_OK
    s.activated = true;
    for (size_t q = 0; q < queues; ++q) {
        virtio::VirtioMmioTransport::State::Queue queue;
        queue.num = kQueue;
        queue.ready = true;
        queue.layout = {kQueue, Gpa(kDesc + q * 0x400), Gpa(kAvail + q * 0x400), Gpa(kUsed + q * 0x400)};
        queue.positions = virtio::QueuePositions{};
        s.queues.push_back(queue);
    }
    s.device = std::move(device_state);
    return s;
}

std::vector<uint8_t> with_flags(uint8_t flags, const std::vector<uint8_t>& file) {
    std::vector<uint8_t> out(file.size() + 1, flags);
    std::copy(file.begin(), file.end(), out.begin() + 1);
    return out;
}

// The snapshot of a tiny machine of `cfg`, with `virtio0` (if given) and RAM image (if any) edited in.
std::vector<uint8_t> seed_of(const MachineConfig& cfg, const TempDir& dir, const std::string& tag,
                             const virtio::VirtioMmioTransport::State* virtio0 = nullptr,
                             const std::vector<uint8_t>& ram = {}) {
    NullConsole out;
    auto m = RiscvMachine::create(cfg, out.console);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (!m.ok()) return {};
    const machine::SnapshotTarget t{dir.path(tag + ".state"), dir.path(tag + ".mem")};
    {
        Runner runner(**m, out.console);
        save_while_running(**m, cfg.cpus, t);
    }
    Sections sections = split_sections(read_bytes(t.state_path));
    if (virtio0 != nullptr) {
        StateWriter w;
        virtio0->write(w);
        *find_section(sections, "virtio0") = w.take();
    }
    if (!ram.empty()) {
        StateWriter w;
        w.bytes(ram);
        sections.emplace_back("fuzz.ram", w.take());
    }
    return join_sections(sections);
}

// Writes the seeds into $TRAPEZE_WRITE_SNAPSHOT_SEEDS when it is set (see the top of this file).
void write_seeds_if_asked() {
    const char* out = std::getenv("TRAPEZE_WRITE_SNAPSHOT_SEEDS");
    if (out == nullptr || *out == '\0') return;
    std::filesystem::create_directories(out);
    TempDir dir;
    const std::string kernel = dir.path("count.elf");
    write_bytes(kernel, elf_of(counting_program()));
    const auto path = [&](const char* name) { return std::string(out) + "/" + name; };

    const auto rng1 = seed_of(tiny_config(kernel), dir, "rng1");
    write_bytes(path("rng-1hart"), with_flags(kReseal | kOwnConfig, rng1));
    write_bytes(path("rng-1hart-checksum-as-is"), with_flags(0, rng1));

    auto cfg2 = tiny_config(kernel, machine::Engine::Interp, 2);
    cfg2.console = machine::ConsoleKind::Virtio;
    write_bytes(path("console-rng-2harts"), with_flags(kReseal | kOwnConfig, seed_of(cfg2, dir, "cons2")));

    // virtio-rng: one request for 64 bytes of entropy, served by the kick after restore.
    const auto rng_active = active_transport(virtio::VIRTIO_ID_RNG, 1, {0});
    write_bytes(path("rng-active-request"),
                with_flags(kReseal | kOwnConfig, seed_of(tiny_config(kernel), dir, "rngreq", &rng_active,
                                                         rings_image({{virtio::VIRTQ_DESC_F_WRITE, ""}}))));

    // virtio-console: a receive buffer, "hello" to transmit, and saved input waiting for the guest.
    StateWriter console_state;
    console_state.bytes(bytes_of("typed"));
    console_state.boolean(false);
    const auto console_active = active_transport(3, 2, console_state.take());
    auto cfg1 = tiny_config(kernel);
    cfg1.console = machine::ConsoleKind::Virtio;
    write_bytes(path("console-active-io"),
                with_flags(kReseal | kOwnConfig,
                           seed_of(cfg1, dir, "consreq", &console_active,
                                   rings_image({{virtio::VIRTQ_DESC_F_WRITE, ""}, {0, "hello"}}))));
}

// What the fuzzer does with a seed up to restore, without the fuzzer's decoders: the flag byte,
// the CRC, the configuration the file describes, RAM from the "fuzz.ram" section. Then, for a
// seed with rings in RAM, every request made available (avail idx 1) must have been served by
// the kick after restore (used idx 1), which a snapshot of the restored machine shows.
Result<void> restore_seed(const std::vector<uint8_t>& input, const TempDir& dir) {
    if (input.empty()) return make_error("empty seed");
    std::vector<uint8_t> file(input.begin() + 1, input.end());
    if ((input[0] & kReseal) != 0) reseal(file);
    TRAPEZE_TRY_ASSIGN(snap, parse_snapshot(file));
    TRAPEZE_TRY_ASSIGN(header, peek_machine_header(snap));
    if (header.arch == "x86_64") return ok();  // an x86 seed: the fuzzer only decodes its sections
    TRAPEZE_TRY_ASSIGN(cfg, RiscvMachine::snapshot_config(snap));
    cfg.engine = machine::Engine::Interp;
    cfg.deterministic = true;
    std::vector<uint8_t> ram;
    if (snap.has("fuzz.ram")) {
        TRAPEZE_TRY_ASSIGN(r, snap.section("fuzz.ram"));
        ram = r.bytes(header.ram_size);
        TRAPEZE_TRY(r.finish());
    }
    const UniqueFd fd(::memfd_create("seed-ram", MFD_CLOEXEC));
    if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(header.ram_size)) != 0) return make_error("memfd");
    if (!ram.empty() && ::pwrite(fd.get(), ram.data(), ram.size(), 0) != static_cast<ssize_t>(ram.size()))
        return make_error("pwrite");
    NullConsole out;
    TRAPEZE_TRY_ASSIGN(m, RiscvMachine::restore(cfg, out.console, snap, fd.get()));
    if (ram.empty()) return ok();

    m->pause();
    const machine::SnapshotTarget t{dir.path("served.state"), dir.path("served.mem")};
    TRAPEZE_TRY(m->save_snapshot(t));
    const auto mem = read_bytes(t.memory_path);
    unsigned requests = 0;
    for (uint64_t q = 0; q < 4; ++q) {
        const uint64_t avail_idx = kAvail + q * 0x400 + 2 - kEntry, used_idx = kUsed + q * 0x400 + 2 - kEntry;
        if (load_le<uint16_t>(ram.data() + avail_idx) != 1) continue;
        ++requests;
        if (load_le<uint16_t>(mem.data() + used_idx) != 1)
            return make_error("queue {}: the request made available was not served after restore", q);
    }
    if (requests == 0) return make_error("a seed with RAM but no request in it");
    return ok();
}

// Every committed seed restores (the state file format and the seeds agree), and there are some.
TEST(SnapshotFuzzSeeds, EverySeedRestores) {
    write_seeds_if_asked();
    TempDir dir;
    size_t seeds = 0;
    for (const auto& e : std::filesystem::directory_iterator(seed_dir())) {
        SCOPED_TRACE(e.path().filename().string());
        auto r = restore_seed(read_bytes(e.path().string()), dir);
        EXPECT_TRUE(r.ok()) << r.error().message;
        ++seeds;
    }
    EXPECT_GE(seeds, 5u);
}

}  // namespace
}  // namespace trapeze::snapshot::test
