// X86Machine's debugger hooks (the "debugger" section of x86_machine.hpp): debug exits park
// their vCPU, one vCPU runs alone for a single step, register access and the page walk for a
// paused machine. The parking itself (park(), must_park()) is the pause's, in x86_machine.cpp.
#include <cassert>
#include <utility>

#include "arch/x86_64/page_walk.hpp"
#include "machine/x86_machine.hpp"

namespace trapeze {

void X86Machine::set_debug_listener(std::function<void()> listener) {
    std::lock_guard lock(m_pause_lock);
    m_debug_listener = std::move(listener);
}

// Under the lock, so that once set_debug_listener() replaced a listener, it is not called.
void X86Machine::notify_debugger() {
    std::lock_guard lock(m_pause_lock);
    if (m_debug_listener) m_debug_listener();
}

// The vCPU's thread, out of KVM_RUN with nothing left to complete (a debug exit is no I/O
// exit), so its state is whole while it is parked. The exit is recorded before the listener
// hears of it: a debugger woken by the listener finds it once every vCPU is parked.
void X86Machine::debug_exit(kvm::KvmVcpu& vcpu, const kvm::DebugExit& exit) {
    const size_t index = vcpu.id();
    bool solo = false;
    {
        std::lock_guard lock(m_pause_lock);
        m_debug_exits[index] = exit;
        solo = m_solo == index;
    }
    m_pause_cv.notify_all();  // run_alone() waits for it
    if (!solo) notify_debugger();
    std::unique_lock lock(m_pause_lock);
    if (must_park(index)) park(lock, index);
}

std::vector<std::optional<X86Machine::DebugExit>> X86Machine::take_debug_exits() {
    std::lock_guard lock(m_pause_lock);
    std::vector<std::optional<DebugExit>> exits(m_debug_exits.size());
    std::swap(exits, m_debug_exits);
    m_pause_cv.notify_all();  // those vCPUs may leave their park once the machine resumes
    return exits;
}

std::optional<X86Exit> X86Machine::exit_record() const {
    std::lock_guard lock(m_exit_lock);
    return m_exit;
}

Result<kvm_regs> X86Machine::vcpu_regs(size_t index) const {
    return m_vcpus.at(index).get_regs();
}

Result<void> X86Machine::set_vcpu_regs(size_t index, const kvm_regs& regs) {
    return m_vcpus.at(index).set_regs(regs);
}

Result<kvm_sregs> X86Machine::vcpu_sregs(size_t index) const {
    return m_vcpus.at(index).get_sregs();
}

Result<void> X86Machine::set_vcpu_sregs(size_t index, const kvm_sregs& sregs) {
    return m_vcpus.at(index).set_sregs(sregs);
}

Result<kvm_mp_state> X86Machine::vcpu_mp_state(size_t index) const {
    return m_vcpus.at(index).get_mp_state();
}

Result<void> X86Machine::set_guest_debug(size_t index, const kvm_guest_debug& dbg) {
    return m_vcpus.at(index).set_guest_debug(dbg);
}

// The others stay parked: must_park() exempts only m_solo from the pause. On time-out the vCPU
// is kicked out of KVM_RUN like a pause() kicks it, and parks in interrupted().
std::optional<X86Machine::DebugExit> X86Machine::run_alone(size_t index, std::chrono::milliseconds limit) {
    std::unique_lock lock(m_pause_lock);
    assert(m_pause_requested.load(std::memory_order_relaxed) && !m_solo && index < m_vcpus.size());
    m_debug_exits[index].reset();
    m_solo = index;
    m_pause_cv.notify_all();
    const auto stepped = [this, index] {
        return m_debug_exits[index].has_value() || m_stop.load(std::memory_order_acquire);
    };
    if (!m_pause_cv.wait_for(lock, limit, stepped)) {
        m_solo.reset();
        {
            std::lock_guard exit(m_exit_lock);
            kick_vcpu(index);
        }
        m_pause_cv.wait(lock, [this] { return m_parked == m_live_vcpus || m_stop.load(std::memory_order_acquire); });
    }
    m_solo.reset();
    return std::exchange(m_debug_exits[index], std::nullopt);
}

Result<std::optional<Gpa>> X86Machine::translate(size_t index, Gva linear) const {
    auto sregs = m_vcpus.at(index).get_sregs();
    if (!sregs.ok()) return sregs.error();
    return x86::translate_linear(m_memory, {sregs->cr0, sregs->cr3, sregs->cr4, sregs->efer}, linear);
}

}  // namespace trapeze
