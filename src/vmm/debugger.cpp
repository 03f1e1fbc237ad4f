#include "vmm/debugger.hpp"

#include <fmt/format.h>

namespace trapeze::vmm {

Result<std::unique_ptr<RiscvDebugger>> RiscvDebugger::start(machine::RiscvMachine& m, const GdbOptions& options) {
    auto listener = gdb::Listener::open(options.address);
    if (!listener) return std::move(listener).context("--gdb").error();
    if (options.wait) m.pause_before_run();
    TRAPEZE_TRY_ASSIGN(target, gdb::RiscvTarget::create(m, options.wait));
    std::unique_ptr<RiscvDebugger> d(new RiscvDebugger(std::move(target)));
    const std::string where = listener->description();
    TRAPEZE_TRY_ASSIGN(server, gdb::GdbServer::start(std::move(*listener), *d->m_target));
    d->m_server = std::move(server);
    fmt::print(stderr, "trapeze: gdb stub on {}{}\r\n", where, options.wait ? ", the guest waits for gdb" : "");
    return d;
}

void RiscvDebugger::machine_ended(int exit_code) {
    m_target->machine_ended(exit_code);
    m_server->stop();
}

}  // namespace trapeze::vmm
