#include "devices/plic.hpp"

#include <bit>
#include <cassert>

namespace trapeze::devices {

namespace {

constexpr uint64_t kPriorityBase = 0x000000;
constexpr uint64_t kPendingBase = 0x001000;
constexpr uint64_t kEnableBase = 0x002000;
constexpr uint64_t kEnableStride = 0x80;
constexpr uint64_t kContextBase = 0x200000;
constexpr uint64_t kContextStride = 0x1000;
constexpr uint64_t kThresholdOffset = 0x0;
constexpr uint64_t kClaimOffset = 0x4;

constexpr uint32_t bit_of(unsigned source) {
    return 1u << (source % 32);
}

// Highest priority above the threshold among enabled pending (level && !claimed) sources;
// scanning ids upwards and replacing only on a strictly higher priority gives ties to the
// lowest id.
unsigned best_of(const std::array<uint32_t, Plic::kNumSources>& priority, const Plic::Bits& level,
                 const Plic::Bits& claimed, const Plic::Bits& enable, uint32_t threshold) {
    unsigned best = 0;
    uint32_t best_priority = threshold;
    for (unsigned w = 0; w < Plic::kWords; ++w) {
        for (uint32_t bits = level[w] & ~claimed[w] & enable[w]; bits != 0; bits &= bits - 1) {
            const unsigned id = w * 32 + static_cast<unsigned>(std::countr_zero(bits));
            if (priority[id] > best_priority) {
                best = id;
                best_priority = priority[id];
            }
        }
    }
    return best;
}

void write_bits(snapshot::StateWriter& w, const Plic::Bits& bits) {
    for (const uint32_t word : bits) w.u32(word);
}

Plic::Bits read_bits(snapshot::StateReader& r) {
    Plic::Bits bits{};
    for (uint32_t& word : bits) word = r.u32();
    return bits;
}

}  // namespace

Plic::Plic(unsigned num_harts) : m_sources(kNumSources), m_contexts(2 * static_cast<size_t>(num_harts)) {
    for (unsigned n = 0; n < kNumSources; ++n)
        m_sources[n].connect([this, n](bool level) { set_source_level(n, level); });
}

IrqLine& Plic::source(unsigned n) {
    assert(n >= 1 && n < kNumSources && "PLIC source out of range: a board wiring bug");
    return n < kNumSources ? m_sources[n] : m_sources[0];  // source 0's level is ignored
}

IrqLine& Plic::context_irq(unsigned context) {
    assert(context < m_contexts.size());
    return m_contexts[context].line;
}

uint64_t Plic::mmio_read(uint64_t offset, unsigned size) {
    if (size != 4 || offset % 4 != 0) return 0;
    if (offset < kPendingBase) return read_priority(offset);
    if (offset < kEnableBase) return read_pending(offset);
    if (offset < kContextBase) return read_enable(offset);
    return read_context(offset);
}

void Plic::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0) return;
    const auto v = static_cast<uint32_t>(value);
    if (offset < kPendingBase) return write_priority(offset, v);
    if (offset < kEnableBase) return;  // pending bits are read-only
    if (offset < kContextBase) return write_enable(offset, v);
    write_context(offset, v);
}

// A level change at the gateway; pending is derived as level && !claimed.
void Plic::set_source_level(unsigned n, bool level) {
    if (n == 0 || n >= kNumSources) return;
    if (level)
        m_level[n / 32] |= bit_of(n);
    else
        m_level[n / 32] &= ~bit_of(n);
    update_outputs();
}

uint64_t Plic::read_priority(uint64_t offset) const {
    const uint64_t n = (offset - kPriorityBase) / 4;
    return n < kNumSources ? m_priority[n] : 0;
}

void Plic::write_priority(uint64_t offset, uint32_t value) {
    const uint64_t n = (offset - kPriorityBase) / 4;
    if (n == 0 || n >= kNumSources) return;  // source 0 is reserved
    m_priority[n] = value & kPriorityMask;
    update_outputs();
}

uint64_t Plic::read_pending(uint64_t offset) const {
    const uint64_t word = (offset - kPendingBase) / 4;
    return word < kWords ? pending_word(static_cast<unsigned>(word)) : 0;
}

uint64_t Plic::read_enable(uint64_t offset) const {
    const uint64_t c = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (c >= m_contexts.size() || word >= kWords) return 0;
    return m_contexts[c].enable[word];
}

void Plic::write_enable(uint64_t offset, uint32_t value) {
    const uint64_t c = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (c >= m_contexts.size() || word >= kWords) return;
    if (word == 0) value &= ~bit_of(0);  // source 0 cannot be enabled
    m_contexts[c].enable[word] = value;
    update_outputs();
}

uint64_t Plic::read_context(uint64_t offset) {
    const uint64_t c = (offset - kContextBase) / kContextStride;
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (c >= m_contexts.size()) return 0;
    if (reg == kThresholdOffset) return m_contexts[c].threshold;
    if (reg == kClaimOffset) return claim(m_contexts[c]);
    return 0;
}

void Plic::write_context(uint64_t offset, uint32_t value) {
    const uint64_t c = (offset - kContextBase) / kContextStride;
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (c >= m_contexts.size()) return;
    if (reg == kThresholdOffset) {
        m_contexts[c].threshold = value & kPriorityMask;
        update_outputs();
        return;
    }
    if (reg == kClaimOffset) complete(m_contexts[c], value);
}

// Claim: the best eligible source goes into service and its id is returned; 0 if there
// is none (PLIC spec "Interrupt Claim Process").
uint32_t Plic::claim(Context& ctx) {
    const unsigned id = best_source(ctx);
    if (id == 0) return 0;
    m_claimed[id / 32] |= bit_of(id);
    update_outputs();
    return id;
}

// Complete: "If the completion ID does not match an interrupt source that is currently
// enabled for the target, the completion is silently ignored" (PLIC spec "Interrupt
// Completion"). Linux's plic_irq_eoi re-enables a masked source around the write for this.
void Plic::complete(Context& ctx, uint32_t id) {
    if (id == 0 || id >= kNumSources) return;
    if ((ctx.enable[id / 32] & bit_of(id)) == 0) return;
    m_claimed[id / 32] &= ~bit_of(id);
    update_outputs();
}

uint32_t Plic::pending_word(unsigned word) const {
    return m_level[word] & ~m_claimed[word];
}

unsigned Plic::best_source(const Context& ctx) const {
    return best_of(m_priority, m_level, m_claimed, ctx.enable, ctx.threshold);
}

void Plic::update_outputs() {
    for (auto& ctx : m_contexts) {
        const bool eip = best_source(ctx) != 0;
        if (eip == ctx.eip) continue;
        ctx.eip = eip;
        ctx.line.set_level(eip);
    }
}

void Plic::State::write(snapshot::StateWriter& w) const {
    for (const uint32_t p : priority) w.u32(p);
    write_bits(w, level);
    write_bits(w, claimed);
    w.u32(static_cast<uint32_t>(contexts.size()));
    for (const Context& c : contexts) {
        write_bits(w, c.enable);
        w.u32(c.threshold);
        w.boolean(c.eip);
    }
}

// Source 0 does not exist: its priority, level, claim and enable bits are always 0.
Plic::State Plic::State::read(snapshot::StateReader& r) {
    State s;
    for (uint32_t& p : s.priority) {
        p = r.u32();
        if (p > kPriorityMask) r.fail(fmt::format("PLIC priority {} out of range", p));
    }
    s.level = read_bits(r);
    s.claimed = read_bits(r);
    if (s.priority[0] != 0 || ((s.level[0] | s.claimed[0]) & bit_of(0)) != 0) r.fail("PLIC source 0 is not idle");
    s.contexts.resize(r.count(kMaxContexts, sizeof(Bits) + 5));
    for (size_t i = 0; i < s.contexts.size(); ++i) {
        Context& c = s.contexts[i];
        c.enable = read_bits(r);
        c.threshold = r.u32();
        c.eip = r.boolean();
        if (c.threshold > kPriorityMask || (c.enable[0] & bit_of(0)) != 0)
            r.fail(fmt::format("PLIC context {}: threshold {} or source 0 enabled", i, c.threshold));
        if (!r.failed() && c.eip != (best_of(s.priority, s.level, s.claimed, c.enable, c.threshold) != 0))
            r.fail(fmt::format("PLIC context {}: eip does not follow from the registers", i));
    }
    return s;
}

Plic::State Plic::save() const {
    State s{m_priority, m_level, m_claimed, {}};
    for (const Context& c : m_contexts) s.contexts.push_back({c.enable, c.threshold, c.eip});
    return s;
}

Result<void> Plic::restore(const State& s) {
    if (s.contexts.size() != m_contexts.size())
        return make_error("PLIC state has {} contexts ({} harts), this machine {} ({} harts)", s.contexts.size(),
                          s.contexts.size() / 2, m_contexts.size(), m_contexts.size() / 2);
    m_priority = s.priority;
    m_level = s.level;
    m_claimed = s.claimed;
    for (size_t i = 0; i < m_contexts.size(); ++i) {
        Context& c = m_contexts[i];
        c.enable = s.contexts[i].enable;
        c.threshold = s.contexts[i].threshold;
        c.eip = best_source(c) != 0;  // read() checked the saved eip is this
        c.line.set_level(c.eip);      // the harts' pins start low: drive every line
    }
    return ok();
}

}  // namespace trapeze::devices
