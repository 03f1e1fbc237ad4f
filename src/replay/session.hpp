// Session: what recording and replaying a machine have in common (Recorder, Replayer): the
// machine's position, guest time as a function of it, and the running hash of console output.
//
// Guest time (docs/replay.md, "Time"): ticks = tick base + icount / instructions per tick, so
// it depends on nothing but the position and the idle warps, which add to the tick base. The
// division is of the absolute position, so a replay started at a checkpoint computes exactly
// the ticks the recording did (its tick base: the checkpoint's clock less icount / rate).
//
// Thread: the machine's run loop.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "machine/host_inputs.hpp"
#include "snapshot/crc64.hpp"

namespace trapeze::replay {

// Guest time advances one 10 MHz tick per this many instructions retired: a guest runs as on a
// 1000-MIPS machine, whatever the engine's real speed (the interpreter's guest time then runs
// slower than the host's, the translator's faster).
inline constexpr uint64_t kInstructionsPerTick = 100;

class Session : public machine::HostInputs {
public:
    uint64_t start_icount() const override { return m_start_icount; }
    uint64_t ticks_at(uint64_t icount) const override { return m_tick_base + icount / m_instructions_per_tick; }
    uint64_t tick_base() const override { return m_tick_base; }
    uint64_t instructions_per_tick() const override { return m_instructions_per_tick; }
    uint64_t wall_clock_start_ns() const override { return m_wall_start_ns; }
    std::span<const uint8_t> boot_seed() const override { return m_boot_seed; }
    void output(std::span<const uint8_t> bytes) override {
        m_output_hash = snapshot::crc64(bytes, m_output_hash);
        m_output_bytes += bytes.size();
    }

    uint64_t icount() const { return m_icount; }
    uint64_t output_hash() const { return m_output_hash; }
    uint64_t output_bytes() const { return m_output_bytes; }

protected:
    Session(uint64_t start_icount, uint64_t tick_base, uint64_t instructions_per_tick, uint64_t wall_start_ns,
            std::vector<uint8_t> boot_seed)
        : m_start_icount(start_icount),
          m_tick_base(tick_base),
          m_instructions_per_tick(instructions_per_tick),
          m_wall_start_ns(wall_start_ns),
          m_boot_seed(std::move(boot_seed)),
          m_icount(start_icount) {}

    void record_position(uint64_t icount, bool round_end) {
        m_icount = icount;
        m_round_end = round_end;
    }

    uint64_t m_start_icount;
    uint64_t m_tick_base;  // plus the warps so far
    uint64_t m_instructions_per_tick;
    uint64_t m_wall_start_ns;
    std::vector<uint8_t> m_boot_seed;
    uint64_t m_icount;
    bool m_round_end = false;
    uint64_t m_output_hash = 0;
    uint64_t m_output_bytes = 0;
};

}  // namespace trapeze::replay
