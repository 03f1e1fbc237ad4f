// RiscvMachine: the QEMU-virt-compatible RISC-V board — RAM, bus, devices, harts and
// the CPU engine — and the loop that runs it.
//
// Thread: everything here runs on the thread that calls run(); harts take turns on it.
// The HostConsole's reader thread is the only other thread.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "arch/riscv64/board.hpp"
#include "base/guest_clock.hpp"
#include "base/result.hpp"
#include "bus/mmio_bus.hpp"
#include "devices/clint.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/sifive_test.hpp"
#include "devices/uart16550.hpp"
#include "machine/host_console.hpp"
#include "machine/machine_config.hpp"
#include "machine/riscv_boot.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "machine/hart_engine.hpp"
#include "base/event_source.hpp"
#include "virtio/console/virtio_console.hpp"
#include "virtio/virtio_mmio_transport.hpp"

namespace trapeze::machine {

// How a run ended.
struct RunResult {
    enum class Kind { Poweroff, Reset, Fail, Quit } kind = Kind::Poweroff;
    int exit_code = 0;
};

class RiscvMachine {
public:
    static Result<std::unique_ptr<RiscvMachine>> create(const MachineConfig& cfg, HostConsole& console);
    RiscvMachine(const RiscvMachine&) = delete;
    RiscvMachine& operator=(const RiscvMachine&) = delete;

    RunResult run();
    uint64_t retired() const { return m_engine->retired(); }
    std::string engine_summary() const { return m_engine->summary(); }

private:
    RiscvMachine(const MachineConfig& cfg, GuestMemory mem, HostConsole& console);
    Result<void> create_engine();
    Result<void> map_devices();
    Result<void> add_virtio_devices();
    Result<void> add_virtio(std::unique_ptr<virtio::VirtioDevice> device, std::string name);
    void wire_harts();
    Result<void> boot();
    void poll_devices();
    void feed_console();
    void poll_htif();
    void sleep_until_event();
    bool all_waiting() const;
    void finish(RunResult r);

    MachineConfig m_cfg;
    GuestClock m_clock;
    GuestMemory m_mem;
    MmioBus m_bus;
    HostConsole& m_console;
    devices::Plic m_plic;
    devices::Clint m_clint;
    devices::Uart16550 m_uart;
    devices::SifiveTest m_test;
    devices::GoldfishRtc m_rtc;
    std::vector<std::unique_ptr<virtio::VirtioMmioTransport>> m_virtio;  // slot i at virtio_base(i)
    std::vector<EventSource*> m_sources;            // device backends with host input (owned by m_virtio)
    virtio::VirtioConsole* m_vconsole = nullptr;    // set with --console virtio (owned by m_virtio)
    std::vector<std::unique_ptr<rv64::Hart>> m_harts;
    std::unique_ptr<HartEngine> m_engine;
    BootPlan m_boot;
    std::optional<RunResult> m_result;
};

}  // namespace trapeze::machine
