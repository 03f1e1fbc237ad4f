#include "devices/clint.hpp"

namespace trapeze::devices {

namespace {

constexpr uint64_t kMsipBase = 0x0000;
constexpr uint64_t kMtimecmpBase = 0x4000;
constexpr uint64_t kMtimeOffset = 0xbff8;
constexpr uint64_t kMtimecmpEnd = kMtimeOffset;  // mtimecmp slots run up to mtime

// A 32-bit access to either half or an aligned 64-bit access to a 64-bit register at
// `reg_offset` (the offset within that register: 0..7). Returns false for anything else.
bool valid_reg64_access(uint64_t reg_offset, unsigned size) {
    if (size == 8) return reg_offset == 0;
    return size == 4 && (reg_offset == 0 || reg_offset == 4);
}

uint64_t read_half(uint64_t reg, uint64_t reg_offset, unsigned size) {
    if (size == 8) return reg;
    return reg_offset == 0 ? (reg & 0xffff'ffffull) : (reg >> 32);
}

uint64_t merge_half(uint64_t reg, uint64_t reg_offset, uint64_t value, unsigned size) {
    if (size == 8) return value;
    const uint64_t v = value & 0xffff'ffffull;
    return reg_offset == 0 ? ((reg & ~0xffff'ffffull) | v) : ((reg & 0xffff'ffffull) | (v << 32));
}

}  // namespace

Clint::Clint(const GuestClock& clock, unsigned num_harts) : m_clock(clock), m_harts(num_harts) {}

uint64_t Clint::mmio_read(uint64_t offset, unsigned size) {
    if (offset < kMtimecmpBase) return read_msip(offset, size);
    if (offset < kMtimecmpEnd) return read_mtimecmp(offset, size);
    return read_mtime(offset, size);
}

void Clint::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
    if (offset < kMtimecmpBase) return write_msip(offset, value, size);
    if (offset < kMtimecmpEnd) return write_mtimecmp(offset, value, size);
    // mtime writes are ignored: see the class comment.
}

void Clint::update() {
    const uint64_t now = m_clock.ticks();
    for (auto& h : m_harts) update_mtip(h, now);
}

uint64_t Clint::deadline(unsigned hart) const {
    assert(hart < m_harts.size());
    const uint64_t cmp = m_harts[hart].mtimecmp;
    return cmp > m_clock.ticks() ? cmp : UINT64_MAX;
}

uint64_t Clint::next_deadline() const {
    const uint64_t now = m_clock.ticks();
    uint64_t earliest = UINT64_MAX;
    for (const auto& h : m_harts) {
        if (h.mtimecmp > now && h.mtimecmp < earliest) earliest = h.mtimecmp;
    }
    return earliest;
}

uint64_t Clint::read_msip(uint64_t offset, unsigned size) const {
    const uint64_t hart = (offset - kMsipBase) / 4;
    if (size != 4 || offset % 4 != 0 || hart >= m_harts.size()) return 0;
    return m_harts[hart].msip ? 1 : 0;
}

// Only bit 0 of msip is writable (FU540 manual §9.2); the rest is hardwired to zero.
void Clint::write_msip(uint64_t offset, uint64_t value, unsigned size) {
    const uint64_t hart = (offset - kMsipBase) / 4;
    if (size != 4 || offset % 4 != 0 || hart >= m_harts.size()) return;
    HartTimer& h = m_harts[hart];
    const bool level = (value & 1) != 0;
    if (level == h.msip) return;
    h.msip = level;
    h.msip_line.set_level(level);
}

uint64_t Clint::read_mtimecmp(uint64_t offset, unsigned size) const {
    const uint64_t hart = (offset - kMtimecmpBase) / 8;
    const uint64_t reg_offset = (offset - kMtimecmpBase) % 8;
    if (!valid_reg64_access(reg_offset, size) || hart >= m_harts.size()) return 0;
    return read_half(m_harts[hart].mtimecmp, reg_offset, size);
}

// MTIP follows the new compare value at once: a timer handler lowers its interrupt by
// writing a future mtimecmp and returns expecting it gone (priv spec §3.2.1).
void Clint::write_mtimecmp(uint64_t offset, uint64_t value, unsigned size) {
    const uint64_t hart = (offset - kMtimecmpBase) / 8;
    const uint64_t reg_offset = (offset - kMtimecmpBase) % 8;
    if (!valid_reg64_access(reg_offset, size) || hart >= m_harts.size()) return;
    HartTimer& h = m_harts[hart];
    h.mtimecmp = merge_half(h.mtimecmp, reg_offset, value, size);
    update_mtip(h, m_clock.ticks());
    if (m_timer_observer) m_timer_observer(static_cast<unsigned>(hart));
}

uint64_t Clint::read_mtime(uint64_t offset, unsigned size) const {
    if (offset < kMtimeOffset) return 0;
    const uint64_t reg_offset = offset - kMtimeOffset;
    if (!valid_reg64_access(reg_offset, size)) return 0;
    return read_half(m_clock.ticks(), reg_offset, size);
}

void Clint::update_mtip(HartTimer& h, uint64_t now) {
    const bool level = now >= h.mtimecmp;
    if (level == h.mtip) return;
    h.mtip = level;
    h.mtip_line.set_level(level);
}

void Clint::State::write(snapshot::StateWriter& w) const {
    w.u32(static_cast<uint32_t>(harts.size()));
    for (const Hart& h : harts) {
        w.u64(h.mtimecmp);
        w.boolean(h.msip);
    }
}

Clint::State Clint::State::read(snapshot::StateReader& r) {
    State s;
    s.harts.resize(r.count(kMaxHarts, 9));
    for (Hart& h : s.harts) {
        h.mtimecmp = r.u64();
        h.msip = r.boolean();
    }
    return s;
}

Clint::State Clint::save() const {
    State s;
    for (const HartTimer& h : m_harts) s.harts.push_back({h.mtimecmp, h.msip});
    return s;
}

Result<void> Clint::restore(const State& s) {
    if (s.harts.size() != m_harts.size())
        return make_error("CLINT state has {} harts, this machine {}", s.harts.size(), m_harts.size());
    const uint64_t now = m_clock.ticks();
    for (size_t i = 0; i < m_harts.size(); ++i) {
        HartTimer& h = m_harts[i];
        h.mtimecmp = s.harts[i].mtimecmp;
        h.msip = s.harts[i].msip;
        h.mtip = now >= h.mtimecmp;
        // IrqLine has no memory: the harts' pins start low, so drive both levels.
        h.msip_line.set_level(h.msip);
        h.mtip_line.set_level(h.mtip);
    }
    return ok();
}

}  // namespace trapeze::devices
