// Record and replay on the RISC-V board (machine::HostInputs, issue 24): which devices take
// their host input through it, where the run loop stands when it does, and how an idle machine
// moves guest time. The loop itself is run_in_turn (riscv_machine.cpp); a machine with inputs
// always runs its harts in turn.
#include <algorithm>
#include <cassert>

#include "machine/riscv_machine.hpp"

namespace trapeze::machine {

// Guest time follows the instructions retired; the RTC reads the recorded wall clock plus guest
// time; console output is hashed; disk reads, entropy and network frames go through the inputs.
void RiscvMachine::wire_inputs() {
    HostInputs& in = *m_inputs;
    m_clock.set_manual(in.ticks_at(icount()));
    m_rtc.set_host_clock([this] { return m_inputs->wall_clock_start_ns() + m_clock.ticks() * (1'000'000'000 / GuestClock::kHz); });
    m_console.set_output_tap([this](std::span<const uint8_t> bytes) { m_inputs->output(bytes); });
    for (size_t slot = 0; slot < m_virtio.size(); ++slot) {
        const auto source = static_cast<uint16_t>(slot);
        virtio::VirtioDevice& d = m_virtio[slot]->device();
        if (auto* blk = dynamic_cast<virtio::VirtioBlk*>(&d)) {
            blk->set_input_hook(
                [&in, source](uint64_t offset, const virtio::ByteSpans& data, const virtio::VirtioBlk::HostRead& host) {
                    return in.disk_read(source, offset, data, host);
                },
                in.disk_writes());
        } else if (auto* rng = dynamic_cast<virtio::VirtioRng*>(&d)) {
            rng->set_entropy([&in, source](std::span<uint8_t> out) {
                return in.entropy(source, out, &virtio::VirtioRng::host_entropy);
            });
        }
    }
}

uint64_t RiscvMachine::icount() const {
    return (m_inputs != nullptr ? m_inputs->start_icount() : 0) + m_engine->retired();
}

// Before a slice, and at a round's end before its inputs: the inputs learn where the machine
// is, and the guest clock reads what it reads there (time moves only between slices, so every
// engine sees it move at the same instructions).
void RiscvMachine::inputs_position(bool round_end) {
    const uint64_t at = icount();
    m_inputs->position(at, round_end);
    m_clock.set_manual(m_inputs->ticks_at(at));
}

// Every hart waits: guest time moves to the earliest timer deadline or until host input came
// (a recording sleeps in host time meanwhile; a replay takes the recorded step at once).
void RiscvMachine::idle_with_inputs() {
    uint64_t deadline = UINT64_MAX;
    {
        std::lock_guard lock(m_devices);
        deadline = m_clint.next_deadline();
    }
    for (const auto& h : m_harts) deadline = std::min(deadline, h->next_timer_tick());
    const uint64_t now = m_clock.ticks();
    const uint64_t until = deadline > now ? deadline - now : 0;
    // At most 50 ms at a time, as an idle machine without inputs: a long wait is several steps.
    static constexpr uint64_t kMaxSleepNs = 50'000'000;
    m_inputs->idle(until, [this](uint64_t ns) { wait_for_io(std::min(ns, kMaxSleepNs)); });
    m_clock.set_manual(m_inputs->ticks_at(icount()));
}

// Under the device lock, at a round's end.
void RiscvMachine::feed_console_from_inputs() {
    const auto terminal = [this](uint8_t& b) { return m_console.pop(b); };
    uint8_t byte = 0;
    if (m_vconsole != nullptr) {
        while (m_vconsole->can_accept_input() && m_inputs->console_byte(byte, terminal)) m_vconsole->push_input(byte);
        return;
    }
    while (m_uart.can_accept_input() && m_inputs->console_byte(byte, terminal)) m_uart.push_input(byte);
}

// A replay that reached the recording's end, or left it, stops here (a recording never does).
bool RiscvMachine::inputs_stop_here() {
    std::string why;
    if (!m_inputs->stop_here(why)) return false;
    std::lock_guard lock(m_devices);
    m_console.flush();
    m_stop_message = why;
    const bool complete = why.rfind("replay complete", 0) == 0;
    finish({complete ? RunResult::Kind::Quit : RunResult::Kind::Fail, complete ? 0 : 1});
    return true;
}

Result<snapshot::MemorySaveStats> RiscvMachine::save_snapshot_in_loop(const SnapshotTarget& target) {
    assert(m_inputs != nullptr);
    // The loop stands between rounds: no hart runs, as if paused (the clock is the inputs').
    {
        std::lock_guard control(m_control);
        ++m_pauses;
    }
    auto saved = save_snapshot(target);
    std::lock_guard control(m_control);
    --m_pauses;
    return saved;
}

}  // namespace trapeze::machine
