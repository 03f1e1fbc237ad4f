#include "vmm/debugger.hpp"

#include <fmt/format.h>

#include "gdb/x86_target.hpp"

namespace trapeze::vmm {

Result<std::unique_ptr<Debugger>> Debugger::start(machine::RiscvMachine& m, const GdbOptions& options) {
    auto listener = gdb::Listener::open(options.address);
    if (!listener) return std::move(listener).context("--gdb").error();
    if (options.wait) m.pause_before_run();
    TRAPEZE_TRY_ASSIGN(target, gdb::RiscvTarget::create(m, options.wait));
    gdb::RiscvTarget* riscv = target.get();
    std::unique_ptr<Debugger> d(new Debugger(std::move(target), riscv));
    return serve(std::move(d), std::move(*listener), sandbox::ThreadKind::Debugger, options.wait);
}

Result<std::unique_ptr<Debugger>> Debugger::start(machine::RiscvMachine& m, const GdbOptions& options,
                                                  replay::Replayer* replayer, const std::string& log_path,
                                                  std::optional<uint64_t> from) {
    auto listener = gdb::Listener::open(options.address);
    if (!listener) return std::move(listener).context("--gdb").error();
    std::unique_ptr<TimeTravel> travel;
    if (replayer != nullptr) {
        auto t = TimeTravel::create(m, *replayer, log_path, from);
        if (!t) return t.error();
        travel = std::move(*t);
    }
    if (options.wait) m.pause_before_run();
    TRAPEZE_TRY_ASSIGN(target, gdb::RiscvTarget::create(m, options.wait));
    target->set_replay(travel.get());
    gdb::RiscvTarget* riscv = target.get();
    std::unique_ptr<Debugger> d(new Debugger(std::move(target), riscv));
    d->m_travel = std::move(travel);
    return serve(std::move(d), std::move(*listener), sandbox::ThreadKind::Debugger, options.wait);
}

Result<std::unique_ptr<Debugger>> Debugger::start(X86Machine& m, const GdbOptions& options) {
    auto listener = gdb::Listener::open(options.address);
    if (!listener) return std::move(listener).context("--gdb").error();
    if (options.wait) m.pause_before_run();
    TRAPEZE_TRY_ASSIGN(target, gdb::X86Target::create(m, options.wait, gdb::X86Target::host_fires_data_breakpoints()));
    std::unique_ptr<Debugger> d(new Debugger(std::move(target), nullptr));
    return serve(std::move(d), std::move(*listener), sandbox::ThreadKind::X86Debugger, options.wait);
}

Result<std::unique_ptr<Debugger>> Debugger::serve(std::unique_ptr<Debugger> d, gdb::Listener listener,
                                                  sandbox::ThreadKind confinement, bool wait) {
    const std::string where = listener.description();
    TRAPEZE_TRY_ASSIGN(server, gdb::GdbServer::start(std::move(listener), *d->m_target, confinement));
    d->m_server = std::move(server);
    fmt::print(stderr, "trapeze: gdb stub on {}{}\r\n", where, wait ? ", the guest waits for gdb" : "");
    return d;
}

void Debugger::machine_ended(int exit_code) {
    if (m_riscv != nullptr) m_riscv->machine_ended(exit_code);
    m_server->stop();
}

}  // namespace trapeze::vmm
