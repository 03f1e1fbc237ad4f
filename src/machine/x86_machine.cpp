#include "machine/x86_machine.hpp"

#include <elf.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

#include "arch/x86_64/acpi_tables.hpp"
#include "arch/x86_64/bzimage.hpp"
#include "arch/x86_64/cpu_state.hpp"
#include "arch/x86_64/cpuid.hpp"
#include "arch/x86_64/layout.hpp"
#include "arch/x86_64/pvh.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "loader/elf_image.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze {
namespace {

constexpr int kKickSignal = SIGUSR1;
// With a CPU quota: a vCPU thread is kicked out of KVM_RUN after every kQuotaKickNs of CPU it
// uses, to be charged (the host's scheduler tick makes it coarser: 4 ms at HZ=250).
constexpr uint64_t kQuotaKickNs = 5'000'000;

uint64_t load_le(std::span<const uint8_t> data) {
    uint64_t v = 0;
    std::memcpy(&v, data.data(), std::min(data.size(), sizeof v));
    return v;
}

void store_le(std::span<uint8_t> data, uint64_t v) { std::memcpy(data.data(), &v, std::min(data.size(), sizeof v)); }

void install_kick_handler() {
    // The handler does nothing: delivery alone makes a blocked KVM_RUN return EINTR, which the
    // kernel never restarts (KVM returns -EINTR, not -ERESTARTSYS). SA_RESTART is for the other
    // system calls a vCPU thread makes on its I/O exits (a console write to a pipe): with the
    // quota's CPU-time kicks, a kick can land in one of them.
    struct sigaction sa{};
    sa.sa_handler = [](int) {};
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(kKickSignal, &sa, nullptr);
}

// A POSIX timer on the calling thread's CPU clock (time in the guest included) that sends the
// thread the kick signal after every `interval_ns` of CPU it uses. A vCPU that sleeps, or
// halts in the guest, uses no CPU and is not kicked.
class CpuTimeKick {
public:
    static Result<CpuTimeKick> start(uint64_t interval_ns) {
        sigevent sev{};
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = kKickSignal;
        sev._sigev_un._tid = gettid();  // sigev_notify_thread_id, which glibc does not define
        timer_t timer{};
        if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0)
            return make_error("CPU quota: timer_create: {}", strerror(errno));
        CpuTimeKick kick(timer);
        const timespec every{static_cast<time_t>(interval_ns / 1'000'000'000),
                             static_cast<long>(interval_ns % 1'000'000'000)};
        const itimerspec spec{every, every};
        if (timer_settime(timer, 0, &spec, nullptr) != 0)
            return make_error("CPU quota: timer_settime: {}", strerror(errno));
        return kick;
    }
    CpuTimeKick(CpuTimeKick&& o) noexcept : m_timer(o.m_timer), m_armed(std::exchange(o.m_armed, false)) {}
    CpuTimeKick& operator=(CpuTimeKick&&) = delete;
    ~CpuTimeKick() {
        if (m_armed) timer_delete(m_timer);
    }

private:
    explicit CpuTimeKick(timer_t timer) : m_timer(timer), m_armed(true) {}
    timer_t m_timer;
    bool m_armed;
};

std::vector<x86::E820Entry> e820_map(uint64_t ram_size) {
    return {
        {0, x86::kEbdaStart, x86::E820Type::Ram},
        {x86::kEbdaStart, x86::kHighRamStart - x86::kEbdaStart, x86::E820Type::Reserved},
        {x86::kHighRamStart, ram_size - x86::kHighRamStart, x86::E820Type::Ram},
    };
}

Result<void> check_config(const X86Config& config) {
    if (config.memory_mib < 16 || config.memory_mib > (x86::kMmioHoleStart >> 20))
        return make_error("x86 guest memory must be between 16 MiB and {} MiB, not {} MiB", x86::kMmioHoleStart >> 20,
                          config.memory_mib);
    if (config.cpus == 0 || config.cpus > 64) return make_error("--cpus must be between 1 and 64");
    if (config.disks.size() > x86::kVirtioGsis.size())
        return make_error("at most {} virtio disks", x86::kVirtioGsis.size());
    return ok();
}

}  // namespace

int exit_status(X86ExitReason reason) {
    switch (reason) {
    case X86ExitReason::PowerOff: return 0;
    case X86ExitReason::Reset: return 2;
    case X86ExitReason::TripleFault: return 3;
    case X86ExitReason::Error: return 4;
    case X86ExitReason::Stopped: return 0;
    }
    return 4;
}

const char* to_string(X86ExitReason reason) {
    switch (reason) {
    case X86ExitReason::PowerOff: return "guest powered off";
    case X86ExitReason::Reset: return "guest requested a reset";
    case X86ExitReason::TripleFault: return "guest triple-faulted";
    case X86ExitReason::Error: return "vCPU error";
    case X86ExitReason::Stopped: return "stopped";
    }
    return "?";
}

Result<std::unique_ptr<X86Machine>> X86Machine::create(const X86Config& config) {
    TRAPEZE_TRY(check_config(config));
    auto mem = GuestMemory::create(Gpa(0), config.memory_mib << 20);
    if (!mem.ok()) return mem.error();
    TRAPEZE_TRY_ASSIGN(m, build(config, std::move(*mem)));
    TRAPEZE_TRY(m->load_kernel());
    return m;
}

Result<std::unique_ptr<X86Machine>> X86Machine::build(const X86Config& config, GuestMemory memory) {
    TRAPEZE_TRY(check_config(config));
    auto sys = kvm::KvmSystem::open();
    if (!sys.ok()) return sys.error();
    auto vm = kvm::KvmVm::create(*sys);
    if (!vm.ok()) return vm.error();
    const uint64_t ram = memory.size();
    std::unique_ptr<X86Machine> m(new X86Machine(config, std::move(*sys), std::move(*vm), std::move(memory)));
    TRAPEZE_TRY(m->m_vm.map_memory(0, Gpa(0), ram, m->m_memory.host_base(), m->m_config.track_dirty_pages));
    TRAPEZE_TRY(m->setup_devices());
    // The notify thread also wakes rate-limited disks when their limiter has refilled.
    const bool limited = std::any_of(config.disks.begin(), config.disks.end(), [](const virtio::BlkConfig& d) {
        return d.rate_limiter && d.rate_limiter->limits();
    });
    if (config.ioeventfd || limited) TRAPEZE_TRY(m->setup_ioeventfds());
    TRAPEZE_TRY(m->setup_vcpus());
    return m;
}

X86Machine::X86Machine(const X86Config& config, kvm::KvmSystem sys, kvm::KvmVm vm, GuestMemory memory)
    : m_config(config),
      m_sys(std::move(sys)),
      m_vm(std::move(vm)),
      m_memory(std::move(memory)),
      m_quota(config.cpu_quota_percent),
      m_debug_exits(config.cpus) {}

X86Machine::~X86Machine() = default;

Result<void> X86Machine::setup_devices() {
    // Device IRQ sinks only call KVM_IRQ_LINE, which KVM serialises; they never call back in.
    m_com1_irq.connect([this](bool level) { (void)m_vm.set_irq_line(x86::kCom1Gsi, level); });
    auto out = m_config.console_out;
    if (!out) out = [](uint8_t b) { (void)!::write(STDOUT_FILENO, &b, 1); };
    m_uart = std::make_unique<devices::Uart16550>(m_com1_irq, std::move(out));
    TRAPEZE_TRY(m_pio.map(x86::kCom1Port, 8, *m_uart, "com1"));

    m_power = std::make_unique<x86::PowerControl>([this](x86::PowerEvent e) {
        finish(e == x86::PowerEvent::PowerOff ? X86ExitReason::PowerOff : X86ExitReason::Reset, {});
    });
    TRAPEZE_TRY(m_pio.map(x86::kSleepControlPort, 2, *m_power, "acpi-sleep"));
    TRAPEZE_TRY(m_pio.map(x86::kI8042CommandPort, 1, m_power->i8042(), "i8042"));

    for (size_t i = 0; i < m_config.disks.size(); ++i) {
        auto blk = virtio::VirtioBlk::create(m_config.disks[i]);
        if (!blk.ok()) return blk.error();
        const uint32_t gsi = x86::kVirtioGsis[i];
        m_virtio_irqs.push_back(std::make_unique<IrqLine>([this, gsi](bool level) { (void)m_vm.set_irq_line(gsi, level); }));
        m_sources.push_back(blk->get());
        m_blks.push_back(blk->get());
        m_virtio.push_back(std::make_unique<virtio::VirtioMmioTransport>(m_memory, *m_virtio_irqs.back(), std::move(*blk)));
        TRAPEZE_TRY(m_mmio.map(Gpa(x86::kVirtioBase + i * x86::kVirtioStride), virtio::VirtioMmioTransport::kWindowSize,
                               *m_virtio.back(), fmt::format("virtio-blk{}", i)));
    }
    return ok();
}

Result<void> X86Machine::setup_ioeventfds() {
    for (size_t i = 0; m_config.ioeventfd && i < m_virtio.size(); ++i) {
        const Gpa notify(x86::kVirtioBase + i * x86::kVirtioStride + x86::kVirtioQueueNotify);
        for (uint16_t q = 0; q < m_virtio[i]->device().queue_count(); ++q) {
            UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
            if (!fd.valid()) return make_error("eventfd: {}", strerror(errno));
            TRAPEZE_TRY(m_vm.add_mmio_ioeventfd(fd.get(), notify, 4, q));
            m_notify_routes.push_back({std::move(fd), m_virtio[i].get(), q});
        }
    }
    m_notify_stop = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m_notify_stop.valid()) return make_error("eventfd: {}", strerror(errno));
    return ok();
}

void X86Machine::notify_thread() {
    pthread_setname_np(pthread_self(), "trapeze-notify");  // for top -H, gdb and the sandbox
    if (auto confined = sandbox::confine_this_thread(sandbox::ThreadKind::IoNotifier); !confined)
        return finish(X86ExitReason::Error, confined.error().message);
    std::vector<pollfd> fds;
    for (const auto& r : m_notify_routes) fds.push_back({r.eventfd.get(), POLLIN, 0});
    fds.push_back({m_notify_stop.get(), POLLIN, 0});
    // Until the first disk's rate limiter has the tokens for the request it holds back.
    const auto timeout_ms = [this] {
        std::lock_guard lock(m_io_lock);
        uint64_t ns = EventSource::kNoTimeout;
        for (EventSource* src : m_sources) ns = std::min(ns, src->next_timeout_ns());
        if (ns == EventSource::kNoTimeout) return -1;
        return static_cast<int>(std::min<uint64_t>((ns + 999'999) / 1'000'000, INT_MAX));
    };
    for (;;) {
        if (::poll(fds.data(), fds.size(), timeout_ms()) < 0) continue;  // EINTR
        if (fds.back().revents != 0) return;
        for (size_t i = 0; i < m_notify_routes.size(); ++i) {
            uint64_t count = 0;
            if (fds[i].revents == 0 || ::read(fds[i].fd, &count, sizeof count) != sizeof count) continue;
            std::lock_guard lock(m_io_lock);
            m_notify_routes[i].transport->mmio_write(x86::kVirtioQueueNotify, m_notify_routes[i].queue, 4);
        }
        std::lock_guard lock(m_io_lock);
        for (EventSource* src : m_sources) src->poll();  // serves what a limiter let go
    }
}

Result<void> X86Machine::setup_vcpus() {
    auto supported = m_sys.supported_cpuid();
    if (!supported.ok()) return supported.error();
    for (uint32_t id = 0; id < m_config.cpus; ++id) {
        auto vcpu = kvm::KvmVcpu::create(m_sys, m_vm, id);
        if (!vcpu.ok()) return vcpu.error();
        TRAPEZE_TRY(vcpu->set_cpuid(x86::filter_cpuid(*supported, {id, m_config.cpus})));
        m_vcpus.push_back(std::move(*vcpu));
    }
    return ok();
}

Result<void> X86Machine::load_kernel() {
    auto data = read_file(m_config.kernel);
    if (!data.ok()) return std::move(data).context("kernel").error();
    if (const auto entry = x86::find_pvh_entry(*data)) return boot_pvh(std::move(*data), *entry);
    if (x86::looks_like_bzimage(*data)) return boot_bzimage(*data);
    return make_error("kernel '{}' is neither an ELF file with a Xen PVH entry note nor a bzImage", m_config.kernel);
}

std::string X86Machine::kernel_cmdline() const {
    std::string cmdline = m_config.cmdline;
    for (size_t i = 0; i < m_config.disks.size(); ++i)
        cmdline += fmt::format(" virtio_mmio.device=4K@{:#x}:{}", x86::kVirtioBase + i * x86::kVirtioStride,
                               x86::kVirtioGsis[i]);
    return cmdline;
}

Result<std::optional<std::pair<uint64_t, uint64_t>>> X86Machine::load_initrd(uint64_t kernel_end, uint64_t limit) {
    using Placed = std::optional<std::pair<uint64_t, uint64_t>>;
    if (m_config.initrd.empty()) return Placed{};
    auto initrd = read_file(m_config.initrd);
    if (!initrd.ok()) return std::move(initrd).context("initrd").error();
    // As high as RAM and the kernel's limit allow, page-aligned, above the kernel.
    const uint64_t top = std::min(m_memory.size(), limit);
    const uint64_t at = (top - std::min<uint64_t>(top, initrd->size())) & ~uint64_t{0xfff};
    if (initrd->size() > top || at < kernel_end)
        return make_error("initrd '{}' ({} bytes) does not fit in guest RAM above the kernel", m_config.initrd,
                          initrd->size());
    (void)m_memory.write(Gpa(at), *initrd);
    return Placed{std::pair{at, uint64_t{initrd->size()}}};
}

Result<void> X86Machine::boot_pvh(std::vector<uint8_t> data, uint64_t entry) {
    auto elf = loader::ElfImage::parse(std::move(data), EM_X86_64);
    if (!elf.ok()) return std::move(elf).context(fmt::format("kernel '{}'", m_config.kernel)).error();
    const auto [lo, hi] = elf->extent();
    if (lo < x86::kHighRamStart) return make_error("kernel '{}' loads at {:#x}, below 1 MiB", m_config.kernel, lo);
    TRAPEZE_TRY(std::move(elf->load(m_memory)).context(fmt::format("kernel '{}'", m_config.kernel)));

    x86::PvhBootInfo info;
    info.memmap = e820_map(m_memory.size());
    info.cmdline = kernel_cmdline();
    auto initrd = load_initrd(hi, m_memory.size());
    if (!initrd.ok()) return initrd.error();
    info.initrd = *initrd;
    info.rsdp = write_acpi_tables();
    TRAPEZE_TRY(x86::write_pvh_start_info(m_memory, info));

    auto& bsp = m_vcpus.front();
    auto sregs = bsp.get_sregs();
    if (!sregs.ok()) return sregs.error();
    kvm_regs regs{};
    x86::set_pvh_entry_state(*sregs, regs, entry, x86::kStartInfoAddr);
    TRAPEZE_TRY(bsp.set_sregs(*sregs));
    return bsp.set_regs(regs);
}

Result<void> X86Machine::boot_bzimage(std::span<const uint8_t> data) {
    auto bz = x86::parse_bzimage(data);
    if (!bz.ok()) return std::move(bz).context(fmt::format("kernel '{}'", m_config.kernel)).error();
    x86::LinuxBootInfo info;
    info.e820 = e820_map(m_memory.size());
    info.cmdline = kernel_cmdline();
    auto initrd = load_initrd(bz->load_address + bz->init_size, uint64_t{bz->initrd_addr_max} + 1);
    if (!initrd.ok()) return initrd.error();
    info.initrd = *initrd;
    info.rsdp = write_acpi_tables();
    auto entry = x86::load_bzimage(m_memory, *bz, info);
    if (!entry.ok()) return std::move(entry).context(fmt::format("kernel '{}'", m_config.kernel)).error();
    TRAPEZE_TRY(x86::write_boot_page_tables_and_gdt(m_memory));

    auto& bsp = m_vcpus.front();
    auto sregs = bsp.get_sregs();
    if (!sregs.ok()) return sregs.error();
    kvm_regs regs{};
    x86::set_linux64_entry_state(*sregs, regs, *entry, x86::kZeroPageAddr);
    TRAPEZE_TRY(bsp.set_sregs(*sregs));
    return bsp.set_regs(regs);
}

uint64_t X86Machine::write_acpi_tables() {
    x86::AcpiConfig acpi;
    acpi.cpus = m_config.cpus;
    for (size_t i = 0; i < m_virtio.size(); ++i)
        acpi.virtio.push_back({x86::kVirtioBase + i * x86::kVirtioStride,
                               static_cast<uint32_t>(virtio::VirtioMmioTransport::kWindowSize), x86::kVirtioGsis[i]});
    const auto tables = x86::build_acpi_tables(acpi, x86::kAcpiBase);
    // At most 8 slots and 64 CPUs keep the tables far below the 128 KiB up to kAcpiEnd.
    assert(tables.bytes.size() <= x86::kAcpiEnd - x86::kAcpiBase);
    (void)m_memory.write(Gpa(tables.base), tables.bytes);
    return tables.rsdp;
}

X86Exit X86Machine::run() {
    install_kick_handler();
    m_quota.restart();  // loading the kernel was not the guest's CPU time
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(m_pause_lock);
        m_live_vcpus = m_vcpus.size();  // before they start: pause() must wait for each of them
    }
    {
        // Threads record their handles under the lock finish() and pause() kick them with.
        std::lock_guard lock(m_exit_lock);
        m_threads.assign(m_vcpus.size(), pthread_t{});
        for (size_t i = 0; i < m_vcpus.size(); ++i) {
            threads.emplace_back([this, i] { vcpu_thread(i); });
            m_threads[i] = threads.back().native_handle();
        }
    }
    std::thread notifier;
    if (m_notify_stop.valid()) notifier = std::thread([this] { notify_thread(); });
    // The calling thread's own filter goes on once the threads that need more than it does run
    // (a thread inherits its creator's filter, as Firecracker's VMM thread confines itself
    // after starting its vCPUs); from here it only waits for them and tears the machine down.
    if (auto confined = sandbox::confine_this_thread(sandbox::ThreadKind::Vmm); !confined)
        finish(X86ExitReason::Error, confined.error().message);
    for (auto& t : threads) t.join();
    if (notifier.joinable()) {
        const uint64_t one = 1;
        (void)!::write(m_notify_stop.get(), &one, sizeof one);
        notifier.join();
    }
    std::lock_guard lock(m_exit_lock);
    return m_exit.value_or(X86Exit{X86ExitReason::Error, "every vCPU stopped without a reason"});
}

void X86Machine::vcpu_thread(size_t index) {
    run_vcpu_thread(index);
    vcpu_ended(index);
}

// Its handle goes first: a later pause() must not signal a thread run() may have joined.
void X86Machine::vcpu_ended(size_t index) {
    {
        std::lock_guard lock(m_exit_lock);
        m_threads[index] = pthread_t{};
    }
    {
        std::lock_guard lock(m_pause_lock);
        --m_live_vcpus;
    }
    m_pause_cv.notify_all();
}

void X86Machine::run_vcpu_thread(size_t index) {
    std::optional<CpuTimeKick> kick;
    if (m_quota.enabled()) {
        auto started = CpuTimeKick::start(kQuotaKickNs);
        if (!started.ok()) return finish(X86ExitReason::Error, started.error().message);
        kick.emplace(std::move(*started));
    }
    const std::string name = fmt::format("trapeze-vcpu{}", index);  // for top -H, perf, gdb and the sandbox
    pthread_setname_np(pthread_self(), name.c_str());
    if (auto confined = sandbox::confine_this_thread(sandbox::ThreadKind::Vcpu); !confined)
        return finish(X86ExitReason::Error, fmt::format("vCPU {}: {}", index, confined.error().message));
    interrupted(m_vcpus[index]);  // parks here if paused before run() (pause_before_run)
    auto result = kvm::run_vcpu(m_vcpus[index], *this, m_stop);
    if (!result.ok()) return finish(X86ExitReason::Error, result.error().message);
    const auto& e = *result;
    switch (e.kind) {
    case kvm::VcpuExitKind::Stopped: return;
    case kvm::VcpuExitKind::Shutdown: return finish(X86ExitReason::TripleFault, e.detail);
    case kvm::VcpuExitKind::SystemEvent:
        return finish(m_vcpus[index].run_area().system_event.type == KVM_SYSTEM_EVENT_RESET ? X86ExitReason::Reset
                                                                                            : X86ExitReason::PowerOff,
                      e.detail);
    default:
        return finish(X86ExitReason::Error, fmt::format("vCPU {}: {}: {}", index, kvm::to_string(e.kind), e.detail));
    }
}

void X86Machine::finish(X86ExitReason reason, std::string detail) {
    {
        std::lock_guard lock(m_exit_lock);
        if (m_exit) return;
        m_exit = X86Exit{reason, std::move(detail)};
        // Kick before setting m_stop: no vCPU thread can end (and be joined, invalidating its
        // pthread_t) before it sees m_stop, and it cannot see it before every kick was sent.
        // Until then a kicked vCPU just returns from KVM_RUN at once (immediate_exit) and retries.
        kick_vcpus();
        // Ordering: release, pairing with run_vcpu's acquire load.
        m_stop.store(true, std::memory_order_release);
        { std::lock_guard throttle(m_throttle_lock); }  // a vCPU between its look at m_stop and its sleep
        m_throttle_cv.notify_all();
    }
    { std::lock_guard pause(m_pause_lock); }  // a parked vCPU between its look at m_stop and its wait
    m_pause_cv.notify_all();
    notify_debugger();
}

void X86Machine::kick_vcpus() {
    for (size_t i = 0; i < m_vcpus.size(); ++i) kick_vcpu(i);
}

void X86Machine::kick_vcpu(size_t index) {
    m_vcpus[index].request_exit();
    if (index < m_threads.size() && m_threads[index] != pthread_t{}) pthread_kill(m_threads[index], kKickSignal);
}

void X86Machine::pause() {
    std::unique_lock lock(m_pause_lock);
    ++m_pauses;
    m_pause_requested.store(true, std::memory_order_release);
    {
        std::lock_guard exit(m_exit_lock);  // m_threads, and no vCPU clears a kick in between
        kick_vcpus();
    }
    { std::lock_guard throttle(m_throttle_lock); }  // a vCPU sleeping off its CPU quota wakes
    m_throttle_cv.notify_all();
    m_pause_cv.wait(lock, [this] { return m_parked == m_live_vcpus; });
}

void X86Machine::pause_before_run() {
    std::lock_guard lock(m_pause_lock);
    ++m_pauses;
    m_pause_requested.store(true, std::memory_order_release);
}

void X86Machine::resume() {
    {
        std::lock_guard lock(m_pause_lock);
        if (m_pauses == 0 || --m_pauses > 0) return;
        m_pause_requested.store(false, std::memory_order_release);
    }
    m_pause_cv.notify_all();
}

bool X86Machine::paused() const {
    std::lock_guard lock(m_pause_lock);
    return m_pause_requested.load(std::memory_order_relaxed) && m_parked == m_live_vcpus;
}

bool X86Machine::quiescent() const {
    std::lock_guard lock(m_pause_lock);
    return m_parked == m_live_vcpus && (m_live_vcpus == 0 || m_pause_requested.load(std::memory_order_relaxed));
}

// Every EINTR comes here; most are CPU-quota kicks, which set no immediate_exit and need nothing.
void X86Machine::interrupted(kvm::KvmVcpu& vcpu) {
    if (!m_pause_requested.load(std::memory_order_acquire) && !vcpu.exit_requested()) return;
    std::unique_lock lock(m_pause_lock);
    if (must_park(vcpu.id())) park(lock, vcpu.id());
    // Under m_pause_lock no pause() can kick in between; under m_exit_lock no finish() can.
    std::lock_guard exit(m_exit_lock);
    if (!m_exit) vcpu.clear_exit_request();
}

// Paused, unless it is the vCPU a debugger runs alone; or stopped on a debug exit not yet taken.
bool X86Machine::must_park(size_t index) const {
    return (m_pause_requested.load(std::memory_order_relaxed) && m_solo != index) || m_debug_exits[index].has_value();
}

void X86Machine::park(std::unique_lock<std::mutex>& lock, size_t index) {
    ++m_parked;
    m_pause_cv.notify_all();
    m_pause_cv.wait(lock, [this, index] { return !must_park(index) || m_stop.load(std::memory_order_acquire); });
    --m_parked;
}

// Over the CPU quota: sleeps until the next period, charges again, and returns early when the
// VM ends or pauses.
void X86Machine::before_run() {
    for (uint64_t ns = m_quota.charge(); ns != 0; ns = m_quota.charge()) {
        std::unique_lock lock(m_throttle_lock);
        const auto stopped = [this] {
            return m_stop.load(std::memory_order_acquire) || m_pause_requested.load(std::memory_order_acquire);
        };
        if (m_throttle_cv.wait_for(lock, std::chrono::nanoseconds(ns), stopped)) return;
    }
}

bool X86Machine::console_input(uint8_t byte) {
    std::lock_guard lock(m_io_lock);
    if (!m_uart->can_accept_input()) return false;
    m_uart->push_input(byte);  // raises GSI 4 through the IrqLine if the guest enabled RX interrupts
    return true;
}

void X86Machine::pio_read(uint16_t port, std::span<uint8_t> data) {
    std::lock_guard lock(m_io_lock);
    const auto size = static_cast<unsigned>(data.size());
    store_le(data, m_pio.read(port, size).value_or(~uint64_t{0}));  // nothing there: the bus floats high
}

void X86Machine::pio_write(uint16_t port, std::span<const uint8_t> data) {
    std::lock_guard lock(m_io_lock);
    (void)m_pio.write(port, load_le(data), static_cast<unsigned>(data.size()));
}

void X86Machine::mmio_read(uint64_t gpa, std::span<uint8_t> data) {
    std::lock_guard lock(m_io_lock);
    store_le(data, m_mmio.read(Gpa(gpa), static_cast<unsigned>(data.size())).value_or(~uint64_t{0}));
}

void X86Machine::mmio_write(uint64_t gpa, std::span<const uint8_t> data) {
    std::lock_guard lock(m_io_lock);
    (void)m_mmio.write(Gpa(gpa), load_le(data), static_cast<unsigned>(data.size()));
}

Result<int> run_x86_machine(const X86Config& config) {
    auto machine = X86Machine::create(config);
    if (!machine.ok()) return machine.error();
    const X86Exit e = (*machine)->run();
    if (e.detail.empty())
        fmt::print(stderr, "trapeze: {}\n", to_string(e.reason));
    else
        fmt::print(stderr, "trapeze: {}: {}\n", to_string(e.reason), e.detail);
    return exit_status(e.reason);
}

}  // namespace trapeze
