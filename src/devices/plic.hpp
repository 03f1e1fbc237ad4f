// Plic: the SiFive Platform-Level Interrupt Controller as QEMU's virt board configures it
// (RISC-V PLIC spec v1.0.0, "Memory Map" and chapters on gateways, priorities, claim):
//
//   0x000000 + 4*s            priority of source s (s = 1..95; source 0 does not exist)
//   0x001000                  pending bits, 32 sources per word (read-only)
//   0x002000 + 0x80*c         enable bits of context c
//   0x200000 + 0x1000*c       priority threshold of context c
//   0x200004 + 0x1000*c       claim (read) / complete (write) of context c
//
// Contexts: 2h is hart h in M-mode (drives MEIP), 2h+1 is hart h in S-mode (SEIP); the
// device tree's interrupts-extended lists them in that order.
//
// Gateways are level-triggered: a source is pending while its line is high and it is not
// in service. Claiming puts it in service (pending clears); completing takes it out, so a
// line that is still high is pending again. A context's output is high while one of its
// enabled pending sources has priority > threshold. Claims pick the highest priority,
// ties going to the lowest source id (spec §"Interrupt Priorities"). Priorities and
// thresholds have 3 bits (QEMU virt's 7 levels); priority 0 never interrupts.
//
// Registers take aligned 32-bit accesses; anything else reads 0 and is ignored.
//
// Snapshots: State holds every register and gateway input; restore drives each context line.
//
// Thread: all calls (MMIO, source lines) are serialised by the caller (the machine's device
// lock); the output lines' sinks must not call back into the device.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_device.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::devices {

class Plic final : public MmioDevice {
public:
    static constexpr unsigned kNumSources = 96;  // ids 1..95 usable ("riscv,ndev" = 95)
    static constexpr uint32_t kPriorityMask = 7;
    static constexpr uint64_t kWindowSize = 0x600000;  // room for QEMU virt's 512 harts
    static constexpr unsigned kMaxContexts = 1024;     // what the window's claim pages hold
    static constexpr unsigned kWords = kNumSources / 32;
    using Bits = std::array<uint32_t, kWords>;

    struct State {
        struct Context {
            Bits enable{};
            uint32_t threshold = 0;
            bool eip = false;
        };
        std::array<uint32_t, kNumSources> priority{};
        Bits level{};
        Bits claimed{};
        std::vector<Context> contexts;

        void write(snapshot::StateWriter& w) const;
        // Refuses values the registers cannot hold (priority bits, source 0) and an eip that
        // does not follow from the rest.
        static State read(snapshot::StateReader& r);
    };

    explicit Plic(unsigned num_harts);
    Plic(const Plic&) = delete;
    Plic& operator=(const Plic&) = delete;

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    // Input wire of source n (1..95): hand it to the device that raises that interrupt.
    IrqLine& source(unsigned n);

    // Output wire of context c; connect it to the hart's mip.MEIP (even c) or mip.SEIP (odd c).
    IrqLine& context_irq(unsigned context);
    IrqLine& meip(unsigned hart) { return context_irq(2 * hart); }
    IrqLine& seip(unsigned hart) { return context_irq(2 * hart + 1); }
    unsigned num_contexts() const { return static_cast<unsigned>(m_contexts.size()); }

    State save() const;
    // Refuses a State for another hart count; drives every context line to its eip.
    Result<void> restore(const State& s);

private:
    struct Context {
        Bits enable{};
        uint32_t threshold = 0;
        bool eip = false;
        IrqLine line;
    };

    void set_source_level(unsigned n, bool level);
    uint64_t read_priority(uint64_t offset) const;
    void write_priority(uint64_t offset, uint32_t value);
    uint64_t read_pending(uint64_t offset) const;
    uint64_t read_enable(uint64_t offset) const;
    void write_enable(uint64_t offset, uint32_t value);
    uint64_t read_context(uint64_t offset);
    void write_context(uint64_t offset, uint32_t value);
    uint32_t claim(Context& ctx);
    void complete(Context& ctx, uint32_t id);
    uint32_t pending_word(unsigned word) const;
    unsigned best_source(const Context& ctx) const;
    void update_outputs();

    std::array<uint32_t, kNumSources> m_priority{};
    Bits m_level{};    // gateway inputs: the source lines
    Bits m_claimed{};  // in service: claimed and not yet completed
    std::vector<IrqLine> m_sources;
    std::vector<Context> m_contexts;
};

}  // namespace trapeze::devices
