// `trapeze run --gdb ADDRESS [--gdb-wait]`: the gdb stub beside a running machine, as QEMU's
// `-gdb tcp::1234 -S` (src/gdb/ speaks the protocol; this ties it to the CLI's machine).
//
// Thread: the thread that builds and runs the machine.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "gdb/riscv_target.hpp"
#include "gdb/server.hpp"
#include "machine/riscv_machine.hpp"

namespace trapeze::vmm {

struct GdbOptions {
    std::string address;  // empty: no stub
    bool wait = false;    // every hart stopped until gdb continues (QEMU's -S)
};

class RiscvDebugger {
public:
    // Listens on the address (before the VMM thread is confined: binding needs it) and
    // enables the machine's debugger; with `wait`, the machine runs nothing until gdb says so.
    // Before run().
    static Result<std::unique_ptr<RiscvDebugger>> start(machine::RiscvMachine& m, const GdbOptions& options);
    // After run() returned: a gdb waiting for the guest hears it ended; the stub stops.
    void machine_ended(int exit_code);

private:
    RiscvDebugger(std::unique_ptr<gdb::RiscvTarget> target) : m_target(std::move(target)) {}

    std::unique_ptr<gdb::RiscvTarget> m_target;
    std::unique_ptr<gdb::GdbServer> m_server;  // after m_target: stopped before it goes
};

}  // namespace trapeze::vmm
