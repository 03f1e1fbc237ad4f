// X86Target: the gdb stub's view of an X86Machine, through KVM's guest debugging (KVM API doc
// §4.87 KVM_SET_GUEST_DEBUG, §5 KVM_EXIT_DEBUG). One gdb thread per vCPU; gdb has control
// while the machine is paused (X86Machine::pause; the vCPUs are parked outside KVM_RUN).
//
// * Registers: KVM_GET/SET_REGS and SREGS, cached per vCPU while stopped (X86Registers).
// * Memory: guest RAM, virtual addresses through the vCPU's page tables (x86::translate_linear).
// * Z0: an int3 (0xCC) written into guest RAM, the original byte kept and shown to gdb's reads;
//   while one is in, KVM_GUESTDBG_USE_SW_BP makes every int3 exit, and one that is not ours
//   goes back to the guest (KVM_GUESTDBG_INJECT_BP). The address translates when inserted,
//   through the current paging (before a kernel turns its paging on, use Z1: `hbreak`).
// * Z1, Z2, Z4: the four debug registers (KVM_GUESTDBG_USE_HW_BP with debugreg[]): an
//   execution breakpoint each, a watchpoint as 1 to 4 of them (aligned 1, 2, 4, 8-byte pieces).
//   x86 has no read-only watchpoint, so no Z3. Data watchpoints only where the host's KVM fires
//   them (not PVM: see supports()).
// * Step: KVM_GUESTDBG_SINGLESTEP on one vCPU while the others stay parked
//   (X86Machine::run_alone), KVM_GUESTDBG_BLOCKIRQ unless StepFlags::take_interrupts. A step
//   or continue from an address with one of our breakpoints runs the original instruction (the
//   point is lifted for that one step).
//
// What the PVM flavour of KVM (kvm_pvm, this project's test host) does, found with the test
// guest and Debian's kernel: in guest ring 0, which it runs with KVM's instruction emulator,
// single step, int3 (through vcpu_loop's emulation-failure conversion) and execution
// breakpoints work, all through a Linux boot; data breakpoints never fire; once the test guest
// has run in its ring 3, nothing of guest debugging has an effect any more (a step runs on).
// vcpu_loop.cpp and step_hlt() work around two of its bugs (a step over port I/O, over HLT).
//
// Thread: the session's thread, except notify_stop() (the machine's debug listener: a vCPU's
// thread, or the thread that ended the VM), which only signals stop_fd().
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "gdb/target.hpp"
#include "gdb/x86_registers.hpp"
#include "machine/x86_machine.hpp"

namespace trapeze::gdb {

class X86Target final : public DebugTarget {
public:
    // Hooks the machine's debug listener (before or after run()). `paused`: the machine was
    // paused for gdb (--gdb-wait: pause_before_run()), and that pause is this target's to resume.
    // `data_watchpoints`: whether the host's KVM fires data breakpoints (host_fires_data_breakpoints()).
    static Result<std::unique_ptr<X86Target>> create(X86Machine& m, bool paused, bool data_watchpoints);
    // False under the PVM flavour of KVM (its module, kvm_pvm, is loaded), whose guests never
    // stop on a data breakpoint. It stat()s /sys/module/kvm_pvm: call it before the calling
    // thread is sandboxed.
    static bool host_fires_data_breakpoints();
    ~X86Target() override;
    X86Target(const X86Target&) = delete;
    X86Target& operator=(const X86Target&) = delete;

    unsigned threads() const override { return static_cast<unsigned>(m_machine.vcpu_count()); }
    std::optional<std::string> feature_document(std::string_view annex) const override;
    unsigned g_register_count() const override { return X86Registers::kCount; }
    std::string thread_info(unsigned thread) const override;

    StopReason attach() override;
    void detach() override;
    void kill() override;

    std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) override;
    bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) override;
    size_t read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) override;
    size_t write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) override;
    bool supports(PointType type) const override;
    bool insert_point(PointType type, uint64_t addr, uint64_t kind) override;
    bool remove_point(PointType type, uint64_t addr, uint64_t kind) override;
    StopReason step(unsigned thread, StepFlags flags) override;
    std::optional<std::string> monitor(std::string_view command) override;

    // Every vCPU runs, even those `run` leaves out (not yet held apart as the RISC-V target
    // does): gdb steps x86 in hardware (`vCont;s:N`, one vCPU run alone), so only a
    // scheduler-locked continue meets the difference.
    void resume(const ThreadSet& run) override;
    int stop_fd() const override { return m_stop_fd.get(); }
    std::optional<StopReason> take_stop() override;
    StopReason interrupt() override;

private:
    struct Breakpoint {  // Z0
        uint64_t addr;
        Gpa gpa;
        uint8_t original;
    };
    struct Slot {  // one debug register: DR0-DR3 and its DR7 bits
        PointType type;
        uint64_t addr;        // this register's (aligned) piece
        uint64_t len;         // 1, 2, 4 or 8
        uint64_t point_addr;  // the Z packet's address and kind, to remove the point
        uint64_t point_kind;
    };

    X86Target(X86Machine& m, UniqueFd stop_fd, bool paused, bool data_watchpoints);
    void notify_stop();
    void drain_stop_fd();
    void hold();     // pause the machine, if this target does not hold a pause yet
    void release();  // resume it, if this target holds the pause

    X86VcpuRegisters* registers(unsigned thread);  // cached; nullptr if KVM refused
    uint64_t pc(unsigned thread);                  // linear (CS base + rip)
    std::optional<Gpa> locate(unsigned thread, uint64_t addr, bool physical);

    bool insert_breakpoint(uint64_t addr);
    bool remove_breakpoint(uint64_t addr);
    Breakpoint* breakpoint_at(uint64_t addr);
    bool our_int3_at(unsigned thread, uint64_t addr);
    bool insert_slots(PointType type, uint64_t addr, uint64_t kind);
    bool remove_slots(PointType type, uint64_t addr, uint64_t kind);
    bool exec_slot_at(uint64_t addr) const;

    // KVM_SET_GUEST_DEBUG for `thread`'s next run: our points, a step (lifting an execution
    // breakpoint at `step_from`), and a #BP handed back to the guest.
    kvm_guest_debug guest_debug(unsigned thread, bool step, bool take_interrupts, uint64_t step_from) const;
    bool apply_guest_debug(unsigned thread, bool step, bool take_interrupts, uint64_t step_from);
    std::optional<X86Machine::DebugExit> step_raw(unsigned thread, bool take_interrupts);
    std::optional<X86Machine::DebugExit> step_hlt(unsigned thread);
    std::optional<StopReason> stop_of(unsigned thread, const X86Machine::DebugExit& exit);
    void give_back_int3(unsigned thread, const X86Machine::DebugExit& exit);
    std::optional<StopReason> collect_stops();
    std::optional<StopReason> exited() const;
    void run_all();

    X86Machine& m_machine;
    UniqueFd m_stop_fd;  // eventfd
    bool m_holding;      // this target holds the machine's pause
    bool m_data_watchpoints;
    std::vector<Breakpoint> m_breakpoints;
    std::array<std::optional<Slot>, 4> m_slots;
    std::vector<std::optional<X86VcpuRegisters>> m_registers;  // while stopped
    std::vector<bool> m_give_back;                             // a #BP to hand back to the guest on the vCPU's next run
    std::deque<StopReason> m_pending;                          // stops found with the one reported, for the next resume
    unsigned m_current = 0;                                    // the thread of the last stop reported
};

}  // namespace trapeze::gdb
