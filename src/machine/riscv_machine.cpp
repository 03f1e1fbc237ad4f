#include "machine/riscv_machine.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cerrno>
#include <cstring>

#include "arch/riscv64/fdt_builder.hpp"
#include "base/host_random.hpp"
#include "base/log.hpp"
#include "rv64/interp/interpreter.hpp"
#include "rv64/jit/jit.hpp"
#include <poll.h>
#include <sys/eventfd.h>

#include <fmt/format.h>

#include "virtio/net/virtio_net.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_rng.hpp"

namespace trapeze::machine {

using namespace arch::riscv64;

namespace {

// Instructions a hart runs before the machine polls devices and switches harts: ~100 µs at
// the engine's speed (the interpreter's ~300 MIPS, the translator's ~2000), which bounds
// timer and console latency. Harts take turns on one thread, so with several a hart spinning
// on a lock another one holds wastes at most its slice; a single hart runs longer slices. Each
// return to the machine loop costs more than the poll: the translator's page memos start
// over, and the dispatcher looks the block up. With the interpreter's slices the translator
// spent ~5% of a boot between slices (1.43 s against 1.36 s with its own).
struct Slices {
    uint64_t smp;
    uint64_t single;
};
constexpr Slices kInterpSlices{10'000, 40'000};
constexpr Slices kJitSlices{50'000, 200'000};
// Longest sleep of an idle machine before it re-polls everything.
constexpr uint64_t kMaxIdleNs = 50'000'000;
// Parallel harts: how often the I/O thread looks at what has no fd to wake it (console
// output waiting in its buffer, HTIF's tohost), so the terminal lags the guest by this at most.
constexpr uint64_t kIoTickNs = 5'000'000;
constexpr uint64_t kHtifTickNs = 1'000'000;

// What the harts implement, in the order the ISA naming rules want (unpriv spec ch. 29: the
// single letters in IMAFDQLCBKJTPVH order, so the hypervisor's "h" follows "c").
std::vector<std::string> isa_extensions(bool hypervisor) {
    std::vector<std::string> ext = {"i", "m", "a", "f", "d", "c"};
    if (hypervisor) ext.emplace_back("h");
    for (const char* z : {"zicntr", "zicsr", "zifencei", "zba", "zbb", "zbs", "zicbom", "zicboz", "sstc"}) ext.emplace_back(z);
    return ext;
}

std::string isa_string(bool hypervisor) {
    return fmt::format("rv64imafdc{}_zicntr_zicsr_zifencei_zba_zbb_zbs_zicbom_zicboz_sstc", hypervisor ? "h" : "");
}

}  // namespace

RiscvMachine::RiscvMachine(const MachineConfig& cfg, GuestMemory mem, HostConsole& console, HostInputs* inputs)
    : m_cfg(cfg),
      m_mem(std::move(mem)),
      m_console(console),
      m_plic(cfg.cpus),
      m_clint(m_clock, cfg.cpus),
      m_uart(m_plic.source(kUartIrq), [this](uint8_t b) { m_console.write(b); }),
      m_test([this](devices::SifiveTest::Event e, uint16_t code) {
          using E = devices::SifiveTest::Event;
          if (e == E::Poweroff) finish({RunResult::Kind::Poweroff, 0});
          if (e == E::Reset) finish({RunResult::Kind::Reset, 0});
          if (e == E::Fail) finish({RunResult::Kind::Fail, code == 0 ? 1 : code});
      }),
      m_rtc(m_plic.source(kRtcIrq)),
      m_inputs(inputs) {}

Result<std::unique_ptr<RiscvMachine>> RiscvMachine::create(const MachineConfig& cfg, HostConsole& console,
                                                          HostInputs* inputs) {
    auto mem = GuestMemory::create(Gpa(kRamBase), cfg.memory_mib << 20);
    if (!mem) return mem.error();
    if (cfg.ram_prefault) mem->start_prefaulting();  // the harts' soft-TLB fills tell it where the guest goes
    auto m = build(cfg, console, std::move(*mem), inputs);
    if (!m) return m.error();
    TRAPEZE_TRY((*m)->boot());
    return m;
}

// The board with its devices and harts, in reset state, around `mem`; create() boots it,
// restore() loads a snapshot into it.
Result<std::unique_ptr<RiscvMachine>> RiscvMachine::build(const MachineConfig& cfg, HostConsole& console,
                                                          GuestMemory mem, HostInputs* inputs) {
    std::unique_ptr<RiscvMachine> m(new RiscvMachine(cfg, std::move(mem), console, inputs));
    m->m_bus.set_lock(&m->m_devices);
    m->m_io_wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m->m_io_wake.valid()) return make_error("eventfd: {}", std::strerror(errno));
    TRAPEZE_TRY(m->create_engine());
    TRAPEZE_TRY(m->map_devices());
    TRAPEZE_TRY(m->add_virtio_devices());
    m->wire_harts();
    if (inputs != nullptr) m->wire_inputs();
    return m;
}

Result<void> RiscvMachine::map_devices() {
    TRAPEZE_TRY(m_bus.map(Gpa(kTestBase), kTestSize, m_test, "sifive-test"));
    TRAPEZE_TRY(m_bus.map(Gpa(kRtcBase), kRtcSize, m_rtc, "goldfish-rtc"));
    TRAPEZE_TRY(m_bus.map(Gpa(kClintBase), kClintSize, m_clint, "clint"));
    TRAPEZE_TRY(m_bus.map(Gpa(kPlicBase), kPlicSize, m_plic, "plic"));
    TRAPEZE_TRY(m_bus.map(Gpa(kUartBase), kUartSize, m_uart, "uart"));
    return ok();
}

// One engine for every hart: its decoded blocks and translations are shared, whether the
// harts take turns on this thread or each runs on a thread of its own. In parallel,
// CodeCoherence tells harts to drop write entries for pages that become code (see there).
Result<void> RiscvMachine::create_engine() {
    if (m_cfg.engine == Engine::Jit) {
        rv64::jit::JitConfig jit_cfg;
        jit_cfg.background = true;  // translations on the host's other core
        jit_cfg.prompt_interrupts = parallel();  // other threads raise pins while code runs
        auto jit = rv64::jit::Jit::create(m_mem, jit_cfg);
        if (!jit) return std::move(jit).context("--engine jit").error();
        m_engine = std::make_unique<EngineAdapter<rv64::jit::Jit>>(std::move(*jit));
    } else {
        m_engine = std::make_unique<EngineAdapter<rv64::interp::Interpreter>>(
            std::make_unique<rv64::interp::Interpreter>(m_mem));
    }
    if (!m_cfg.hart_affinity.empty()) {
        if (!parallel())
            return make_error("--hart-affinity pins the harts' own threads: it needs --cpus 2 or more, without "
                              "--deterministic, --record or --replay (their harts take turns on one thread)");
        if (m_cfg.hart_affinity.size() != m_cfg.cpus)
            return make_error("--hart-affinity gives {} list(s) of CPUs for {} harts", m_cfg.hart_affinity.size(),
                              m_cfg.cpus);
    }
    if (parallel()) {
        m_coherence = std::make_unique<rv64::CodeCoherence>(m_engine->cache(), m_cfg.cpus);
        m_engine->cache().set_page_listener(m_coherence.get());
        runloop::HartLoop& loop = *this;  // a private base: converted here, where it is accessible
        auto quota = std::make_unique<runloop::CpuQuota>(m_cfg.cpu_quota_percent);
        m_threads = std::make_unique<runloop::HartThreads>(m_cfg.cpus, loop, std::move(quota), m_cfg.hart_affinity);
        m_clint.set_timer_observer([this](unsigned hart) { m_threads->wake(hart); });
    }
    return ok();
}

uint64_t RiscvMachine::retired() const {
    // With inputs some instructions run outside the engine (the ends of exact slices).
    return m_inputs != nullptr ? m_icount - m_inputs->start_icount() : m_engine->retired();
}

std::string RiscvMachine::engine_summary() const {
    std::string out = m_engine->summary();
    if (const RamPrefaulter* p = m_mem.prefaulter(); p != nullptr) {
        const RamPrefaulter::Stats s = p->stats();
        constexpr uint64_t kMiB = RamPrefaulter::kChunk >> 20;
        out += fmt::format("; RAM: {} MiB populated ahead of the guest, {} MiB of them used since (of {} MiB used)",
                           s.populated * kMiB, s.used * kMiB, s.guest * kMiB);
    }
    return out;
}

// Disks first, in command-line order (the first is vda), then the entropy device.
Result<void> RiscvMachine::add_virtio_devices() {
    for (const DiskConfig& d : m_cfg.disks) {
        auto blk = virtio::VirtioBlk::create(virtio::BlkConfig{d.path, d.read_only, d.id, d.rate_limiter});
        if (!blk) return make_error("--disk '{}': {}", d.path, blk.error().message);
        m_sources.push_back(blk->get());  // its rate limiter's timer
        m_blks.push_back(blk->get());
        TRAPEZE_TRY(add_virtio(std::move(*blk), "virtio-blk"));
    }
    for (const virtio::NetConfig& n : m_cfg.nets) {
        auto host = [&n] { return virtio::make_net_backend(n); };
        auto backend = m_inputs != nullptr ? m_inputs->net_backend(static_cast<uint16_t>(m_virtio.size()), host) : host();
        if (!backend) return make_error("--net: {}", backend.error().message);
        auto net = std::make_unique<virtio::VirtioNet>(n, std::move(*backend));
        m_sources.push_back(net.get());
        m_nets.push_back(net.get());
        TRAPEZE_TRY(add_virtio(std::move(net), "virtio-net"));
    }
    if (m_cfg.console == ConsoleKind::Virtio) {
        auto console = std::make_unique<virtio::VirtioConsole>(
            [this](std::span<const uint8_t> bytes) { m_console.write(bytes); });
        m_vconsole = console.get();
        m_sources.push_back(console.get());
        TRAPEZE_TRY(add_virtio(std::move(console), "virtio-console"));
    }
    if (m_cfg.rng) {
        auto rng = std::make_unique<virtio::VirtioRng>(m_cfg.rng_rate_limiter);
        m_sources.push_back(rng.get());  // its rate limiter's timer
        m_rng = rng.get();
        TRAPEZE_TRY(add_virtio(std::move(rng), "virtio-rng"));
    }
    return ok();
}

Result<void> RiscvMachine::add_virtio(std::unique_ptr<virtio::VirtioDevice> device, std::string name) {
    const auto slot = static_cast<unsigned>(m_virtio.size());
    if (slot >= kVirtioCount) return make_error("too many virtio devices: the board has {} slots", kVirtioCount);
    auto transport = std::make_unique<virtio::VirtioMmioTransport>(m_mem, m_plic.source(virtio_irq(slot)),
                                                                    std::move(device));
    TRAPEZE_TRY(m_bus.map(Gpa(virtio_base(slot)), virtio::VirtioMmioTransport::kWindowSize, *transport,
                          fmt::format("{}@{}", name, slot)));
    m_virtio.push_back(std::move(transport));
    return ok();
}

void RiscvMachine::wire_harts() {
    for (unsigned i = 0; i < m_cfg.cpus; ++i) {
        auto hart = std::make_unique<rv64::Hart>(rv64::HartConfig{i, true, m_cfg.hypervisor}, m_mem, m_bus, m_clock);
        wire_hart(i, *hart);
        m_engine->attach(*hart);
        if (m_coherence) m_coherence->join(i, *hart);
        m_harts.push_back(std::move(hart));
    }
}

// The interrupt controllers' outputs into hart i's pins; with harts on threads, a rising pin
// also wakes the hart from WFI.
void RiscvMachine::wire_hart(unsigned i, rv64::Hart& h) {
    auto pin = [this, i, &h](uint64_t bit) {
        return [this, i, &h, bit](bool level) {
            h.set_irq_pin(bit, level);
            if (level && m_threads) m_threads->wake(i);
        };
    };
    m_clint.msip(i).connect(pin(rv64::csr::MIP_MSIP));
    m_clint.mtip(i).connect(pin(rv64::csr::MIP_MTIP));
    m_plic.meip(i).connect(pin(rv64::csr::MIP_MEIP));
    m_plic.seip(i).connect(pin(rv64::csr::MIP_SEIP));
}

// A recording's seed (so its replays boot the same guest), else fresh from the host's pool at
// every boot, a reboot's too, as QEMU draws a new one at each reset.
Result<std::vector<uint8_t>> RiscvMachine::boot_seed() const {
    if (m_inputs != nullptr) {
        const std::span<const uint8_t> recorded = m_inputs->boot_seed();
        return std::vector<uint8_t>(recorded.begin(), recorded.end());
    }
    return host_random_bytes(kRngSeedBytes).context("the device tree's rng-seed");
}

Result<void> RiscvMachine::boot() {
    BoardConfig board;
    board.ram_size = m_mem.size();
    board.num_harts = m_cfg.cpus;
    board.isa = isa_string(m_cfg.hypervisor);
    board.isa_extensions = isa_extensions(m_cfg.hypervisor);
    TRAPEZE_TRY(arch::riscv64::check_bootargs(m_cfg.append));
    board.bootargs = m_cfg.append;
    board.virtio_slots = static_cast<unsigned>(m_virtio.size());
    TRAPEZE_TRY_ASSIGN(seed, boot_seed());
    board.rng_seed = std::move(seed);
    auto plan = load_boot_images(m_cfg, m_mem, board);
    if (!plan) return plan.error();
    m_boot = *plan;
    auto fdt = build_fdt(board);
    if (!fdt) return std::move(fdt).context("device tree").error();
    if (fdt->size() > kFdtMaxSize) return make_error("device tree is {} bytes, above {}", fdt->size(), kFdtMaxSize);
    if (!m_mem.write(Gpa(m_boot.fdt_addr), *fdt)) return make_error("device tree does not fit in guest RAM");
    // Every hart starts at the entry in M-mode with a0 = hartid, a1 = FDT (QEMU's reset vector
    // convention); OpenSBI picks the boot hart and parks the others until HSM starts them.
    for (auto& h : m_harts) {
        h->reset(m_boot.entry);
        h->s.x[10] = h->s.mhartid;
        h->s.x[11] = m_boot.fdt_addr;
    }
    return ok();
}

// Under the device lock. Harts on threads stop at their next instruction boundary.
void RiscvMachine::finish(RunResult r) {
    if (m_result) return;
    m_result = r;
    m_finished.store(true, std::memory_order_release);
    if (m_threads) m_threads->request_stop();
    wake_io();
}

void RiscvMachine::wake_io() {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_io_wake.get(), &one, sizeof one);  // full: already woken
}

// With inputs, this is a round's end: the only point where host input enters (see HostInputs).
void RiscvMachine::poll_devices() {
    if (m_inputs != nullptr) inputs_position(true);
    std::lock_guard lock(m_devices);
    m_clint.update();
    for (auto& h : m_harts) h->update_sstc();
    m_inputs_open = true;
    poll_io();
    m_inputs_open = false;
}

// What has host input or host time behind it; under the device lock. With inputs, outside a
// round's end (paused, stopped for the debugger) no input is taken: it waits for the next.
void RiscvMachine::poll_io() {
    const bool input = m_inputs == nullptr || m_inputs_open;
    if (input) {
        m_rtc.update();
        feed_console();
        for (EventSource* src : m_sources) src->poll();
        if (m_boot.tohost) poll_htif();
    }
    if (m_console.quit_requested()) finish({RunResult::Kind::Quit, 0});
    m_console.flush();
}

// Terminal input goes to whichever device is the guest console.
void RiscvMachine::feed_console() {
    if (m_inputs != nullptr) {
        feed_console_from_inputs();
        return;
    }
    uint8_t byte = 0;
    if (m_vconsole != nullptr) {
        while (m_vconsole->can_accept_input() && m_console.pop(byte)) m_vconsole->push_input(byte);
        return;
    }
    while (m_uart.can_accept_input() && m_console.pop(byte)) m_uart.push_input(byte);
}

// Spike's HTIF convention for bare-metal tests: tohost = 1 passes, (n << 1) | 1 fails
// test n; device 1 command 1 prints a character and is acknowledged through fromhost.
void RiscvMachine::poll_htif() {
    auto span = m_mem.span(Gpa(*m_boot.tohost), 8);
    if (span.empty()) return;
    const uint64_t v = load_le<uint64_t>(span.data());
    if (v == 0) return;
    const uint64_t device = v >> 56, command = (v >> 48) & 0xff;
    if (device == 0 && (v & 1) != 0) {
        const uint64_t code = (v & ((1ull << 48) - 1)) >> 1;
        finish({code == 0 ? RunResult::Kind::Poweroff : RunResult::Kind::Fail, static_cast<int>(std::min<uint64_t>(code, 255))});
    } else if (device == 1 && command == 1) {
        m_console.write(static_cast<uint8_t>(v));
        if (m_boot.fromhost) {
            auto from = m_mem.span(Gpa(*m_boot.fromhost), 8);
            if (!from.empty()) store_le<uint64_t>(from.data(), (1ull << 56) | (1ull << 48) | 1);
            m_mem.mark_dirty(Gpa(*m_boot.fromhost), 8);
        }
    }
    store_le<uint64_t>(span.data(), 0);
    m_mem.mark_dirty(Gpa(*m_boot.tohost), 8);
}

// A hart the debugger holds waits too: nothing it is owed makes it run.
bool RiscvMachine::all_waiting() const {
    for (unsigned i = 0; i < m_harts.size(); ++i) {
        if (!held(i) && (!m_harts[i]->s.wfi || m_harts[i]->wfi_wakeup())) return false;
    }
    return true;
}

// Harts in turn, all in WFI: until the earliest hart timer, or host input.
void RiscvMachine::sleep_until_event() {
    uint64_t tick = UINT64_MAX;
    {
        std::lock_guard lock(m_devices);
        tick = m_clint.next_deadline();
    }
    for (const auto& h : m_harts) tick = std::min(tick, h->next_timer_tick());
    wait_for_io(std::min(m_clock.ns_until(tick), kMaxIdleNs));
}

// Sleeps at most `ns`, less if a device's timer (RTC alarm, a backend's protocol timer) comes
// first, until console input, a backend's fd or finish() wakes it.
void RiscvMachine::wait_for_io(uint64_t ns) {
    std::vector<pollfd> fds{{m_console.wake_fd(), POLLIN, 0}, {m_io_wake.get(), POLLIN, 0}};
    {
        std::lock_guard lock(m_devices);
        ns = std::min(ns, m_rtc.ns_until_alarm());
        for (EventSource* src : m_sources) {
            src->fill_pollfds(fds);
            ns = std::min(ns, src->next_timeout_ns());
        }
    }
    if (ns == 0) return;
    ::poll(fds.data(), fds.size(), static_cast<int>((ns + 999'999) / 1'000'000));
    m_console.drain_wake();
    uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(m_io_wake.get(), &count, sizeof count);
}

RunResult RiscvMachine::run() {
    if (m_inputs != nullptr) return run_with_inputs();
    return parallel() ? run_parallel() : run_in_turn();
}

RunResult RiscvMachine::run_in_turn() {
    const bool smp = m_harts.size() > 1;
    const Slices slices = m_cfg.engine == Engine::Jit ? kJitSlices : kInterpSlices;
    HartEngine& engine = *m_engine;
    runloop::CpuQuota quota(m_cfg.cpu_quota_percent);
    {
        std::lock_guard control(m_control);
        m_turn_loop_started = true;
    }
    while (!m_finished.load(std::memory_order_acquire)) {
        // First, so that a machine paused before run() (a snapshot loaded without resume_vm)
        // runs no instruction until resumed.
        if (m_pause_requested.load(std::memory_order_acquire)) {
            park_in_turn();
            continue;
        }
        if (m_debug_stop.load(std::memory_order_acquire)) {
            // A hart stopped for the debugger, which pauses the machine next: serve host
            // input meanwhile, run no hart.
            {
                std::lock_guard lock(m_devices);
                poll_io();
            }
            wait_for_io(kIoTickNs);
            continue;
        }
        for (unsigned i = 0; i < m_harts.size(); ++i) {
            if (held(i)) continue;
            rv64::Hart& h = *m_harts[i];
            sync_debug(i);
            const EngineExit exit = engine.run(h, smp ? slices.smp : slices.single);
            if (exit == EngineExit::Debug) {
                debug_stopped(i);
                break;
            }
            if (exit == EngineExit::Budget && smp) {
                // Harts take turns: a reservation cannot survive another hart's slice, which
                // may have stored to it (unpriv spec §8.2 allows failing the SC).
                for (auto& other : m_harts) {
                    if (other.get() != &h) other->s.reservation_valid = false;
                }
            }
        }
        poll_devices();
        if (const uint64_t ns = quota.charge()) wait_for_io(ns);  // over the CPU quota: sleep out the period
        if (!m_finished.load(std::memory_order_acquire) && all_waiting()) {
            sleep_until_event();
            poll_devices();
        }
    }
    std::lock_guard lock(m_devices);
    return *m_result;
}

// Harts in turn, paused: the loop runs no hart but keeps serving host input (so Ctrl-A x, a
// signal and network backends still work) until the last resume().
void RiscvMachine::park_in_turn() {
    {
        std::lock_guard control(m_control);
        m_turn_parked = true;
    }
    m_control_cv.notify_all();
    while (m_pause_requested.load(std::memory_order_acquire) && !loop_ending()) {
        {
            std::lock_guard lock(m_devices);
            poll_io();
        }
        wait_for_io(kIoTickNs);
    }
    std::lock_guard control(m_control);
    m_turn_parked = false;
}

void RiscvMachine::pause() {
    std::unique_lock control(m_control);
    if (m_pauses++ != 0) return;
    if (m_threads) {
        m_threads->pause();  // hart threads never take m_control: no deadlock
    } else {
        m_pause_requested.store(true, std::memory_order_release);
        wake_io();
        // finish() (on the run loop, possibly a device's doing) does not take m_control: look
        // at m_finished again now and then instead of waiting for its notification.
        // Before run() there is no loop to wait for: it parks before its first slice.
        while (m_turn_loop_started && !m_turn_parked && !loop_ending())
            m_control_cv.wait_for(control, std::chrono::milliseconds(10));
    }
    m_clock.pause();
}

void RiscvMachine::pause_before_run() {
    std::lock_guard control(m_control);
    assert(!m_turn_loop_started);
    if (m_pauses++ == 0) {
        if (m_threads) m_threads->pause_before_start();
        else m_pause_requested.store(true, std::memory_order_release);
        m_clock.pause();
    }
}

void RiscvMachine::resume() {
    std::lock_guard control(m_control);
    assert(m_pauses > 0);
    if (--m_pauses != 0) return;
    m_clock.resume();
    if (m_threads) {
        m_threads->resume();
        return;
    }
    m_pause_requested.store(false, std::memory_order_release);
    wake_io();
}

Result<void> RiscvMachine::update_disk(size_t index, const std::optional<std::string>& path,
                                       const std::optional<ratelimit::RateLimiterConfig>& limiter) {
    std::lock_guard lock(m_devices);
    if (index >= m_blks.size()) return make_error("no disk {}", index);
    if (path) {
        TRAPEZE_TRY(m_blks[index]->replace_backing(*path));
        m_cfg.disks[index].path = *path;  // what a snapshot records and a restore opens
    }
    if (limiter) m_blks[index]->update_rate_limiter(*limiter);
    return ok();
}

Result<void> RiscvMachine::update_net(size_t index, const std::optional<ratelimit::RateLimiterConfig>& rx,
                                      const std::optional<ratelimit::RateLimiterConfig>& tx) {
    std::lock_guard lock(m_devices);
    if (index >= m_nets.size()) return make_error("no network interface {}", index);
    // A limiter left out of the request keeps its buckets (an empty config changes nothing).
    m_nets[index]->update_rate_limiters(rx.value_or(ratelimit::RateLimiterConfig{}),
                                        tx.value_or(ratelimit::RateLimiterConfig{}));
    return ok();
}

void RiscvMachine::report_counters(const std::function<void(std::string_view, std::string_view, uint64_t)>& out) {
    std::lock_guard lock(m_devices);
    virtio::VirtioBlk::Stats blk{};
    for (const auto* b : m_blks) {
        const auto& s = b->stats();
        blk.read_count += s.read_count;
        blk.read_bytes += s.read_bytes;
        blk.write_count += s.write_count;
        blk.write_bytes += s.write_bytes;
        blk.flush_count += s.flush_count;
        blk.io_errors += s.io_errors;
    }
    out("block", "read_count", blk.read_count);
    out("block", "read_bytes", blk.read_bytes);
    out("block", "write_count", blk.write_count);
    out("block", "write_bytes", blk.write_bytes);
    out("block", "flush_count", blk.flush_count);
    out("block", "io_errors", blk.io_errors);
    virtio::VirtioNet::Stats net{};
    for (const auto* n : m_nets) {
        net.rx_frames += n->stats().rx_frames;
        net.tx_frames += n->stats().tx_frames;
        net.rx_dropped += n->stats().rx_dropped;
        net.tx_malformed += n->stats().tx_malformed;
    }
    out("net", "rx_packets_count", net.rx_frames);
    out("net", "tx_packets_count", net.tx_frames);
    out("net", "rx_fails", net.rx_dropped);
    out("net", "tx_malformed_frames", net.tx_malformed);
    if (m_rng != nullptr) {
        out("entropy", "entropy_bytes", m_rng->entropy_bytes());
        out("entropy", "entropy_event_count", m_rng->entropy_event_count());
    }
    out("vcpu", "exit_mmio_read", m_bus.reads());
    out("vcpu", "exit_mmio_write", m_bus.writes());
}

bool RiscvMachine::paused() const {
    std::lock_guard control(m_control);
    return m_pauses != 0;
}

// --- parallel harts ---------------------------------------------------------------------------

// The calling thread becomes the I/O thread until a device, HTIF or the console ends the run.
RunResult RiscvMachine::run_parallel() {
    if (auto started = m_threads->start(); !started) {
        fmt::print(stderr, "trapeze: {}\n", started.error().message);
        std::lock_guard lock(m_devices);
        finish({RunResult::Kind::Fail, 1});
    }
    while (!m_finished.load(std::memory_order_acquire)) {
        {
            std::lock_guard lock(m_devices);
            poll_io();
        }
        wait_for_io(m_boot.tohost ? kHtifTickNs : kIoTickNs);
    }
    m_threads->stop();
    std::lock_guard lock(m_devices);
    m_console.flush();
    return *m_result;
}

// A hart that stopped for the debugger (or any hart after that, until the debugger has paused
// the machine), or one the debugger holds, runs no slice: it sleeps as in WFI until the pause
// wakes it.
bool RiscvMachine::run_slice(unsigned hart) {
    if (m_debug_stop.load(std::memory_order_acquire) || held(hart)) return false;
    sync_debug(hart);
    const uint64_t budget = m_cfg.engine == Engine::Jit ? kJitSlices.single : kInterpSlices.single;
    switch (m_engine->run(*m_harts[hart], budget)) {
        case EngineExit::Budget: return true;
        case EngineExit::Wfi: return false;
        case EngineExit::Debug: debug_stopped(hart); return false;
    }
    return true;
}

void RiscvMachine::between_slices(unsigned hart) {
    m_coherence->service(hart);
    {
        std::lock_guard lock(m_devices);
        m_clint.update();
    }
    m_harts[hart]->update_sstc();
}

bool RiscvMachine::wants_to_run(unsigned hart) {
    return !m_debug_stop.load(std::memory_order_acquire) && !held(hart) && m_harts[hart]->wfi_wakeup();
}

uint64_t RiscvMachine::ns_until_timer(unsigned hart) {
    if (m_debug_stop.load(std::memory_order_acquire) || held(hart)) return kMaxIdleNs;  // the pause wakes it
    uint64_t tick = m_harts[hart]->next_timer_tick();
    {
        std::lock_guard lock(m_devices);
        tick = std::min(tick, m_clint.deadline(hart));
    }
    return std::min(m_clock.ns_until(tick), kMaxIdleNs);
}

}  // namespace trapeze::machine
