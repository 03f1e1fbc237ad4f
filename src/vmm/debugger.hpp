// `trapeze run --gdb ADDRESS [--gdb-wait]`: the gdb stub beside a running machine, as QEMU's
// `-gdb tcp::1234 -S` (src/gdb/ speaks the protocol; this ties it to the CLI's machine), for
// the RISC-V board (gdb::RiscvTarget) and the x86-64 board on KVM (gdb::X86Target).
//
// Thread: the thread that builds and runs the machine.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "gdb/riscv_target.hpp"
#include "vmm/time_travel.hpp"
#include "gdb/server.hpp"
#include "machine/riscv_machine.hpp"
#include "machine/x86_machine.hpp"

namespace trapeze::vmm {

struct GdbOptions {
    std::string address;  // empty: no stub
    bool wait = false;    // every hart stopped until gdb continues (QEMU's -S)
};

class Debugger {
public:
    // Listens on the address (before the VMM thread is confined: binding needs it) and hooks
    // the machine; with `wait`, the machine runs nothing until gdb says so. Before run().
    static Result<std::unique_ptr<Debugger>> start(machine::RiscvMachine& m, const GdbOptions& options);
    static Result<std::unique_ptr<Debugger>> start(X86Machine& m, const GdbOptions& options);
    // A recording (`replayer` null) or a replay of the log at `log_path` (started at its
    // checkpoint `from`, if given): gdb's steps keep to the harts' schedule, and a replay runs
    // backwards too (TimeTravel).
    static Result<std::unique_ptr<Debugger>> start(machine::RiscvMachine& m, const GdbOptions& options,
                                                   replay::Replayer* replayer, const std::string& log_path,
                                                   std::optional<uint64_t> from);
    // After run() returned: a gdb waiting for the guest hears it ended; the stub stops.
    void machine_ended(int exit_code);

private:
    Debugger(std::unique_ptr<gdb::DebugTarget> target, gdb::RiscvTarget* riscv)
        : m_target(std::move(target)), m_riscv(riscv) {}
    static Result<std::unique_ptr<Debugger>> serve(std::unique_ptr<Debugger> d, gdb::Listener listener,
                                                   sandbox::ThreadKind confinement, bool wait);

    std::unique_ptr<TimeTravel> m_travel;  // before m_target, which uses it
    std::unique_ptr<gdb::DebugTarget> m_target;
    // The RISC-V target is told of the machine's end; the x86 one reads it from the machine.
    gdb::RiscvTarget* m_riscv;
    std::unique_ptr<gdb::GdbServer> m_server;  // after m_target: stopped before it goes
};

}  // namespace trapeze::vmm
