#include "rv64/debug_points.hpp"

#include <algorithm>

namespace trapeze::rv64 {

namespace {

bool applies(WatchKind kind, bool write) {
    return kind == WatchKind::Access || (kind == WatchKind::Write) == write;
}

bool same(const Watchpoint& a, const Watchpoint& b) { return a.addr == b.addr && a.len == b.len && a.kind == b.kind; }

}  // namespace

bool DebugPoints::add_breakpoint(uint64_t va) {
    if (!m_breakpoints.insert(va).second) return false;
    const size_t offset = (va & 0xfff) >> 1;
    ++m_at_offset[offset];
    m_offsets.set(offset);
    ++m_breakpoint_gen;
    return true;
}

bool DebugPoints::remove_breakpoint(uint64_t va) {
    if (m_breakpoints.erase(va) == 0) return false;
    const size_t offset = (va & 0xfff) >> 1;
    if (--m_at_offset[offset] == 0) m_offsets.reset(offset);
    ++m_breakpoint_gen;
    return true;
}

bool DebugPoints::add_watchpoint(const Watchpoint& w) {
    if (w.len == 0) return false;
    if (std::any_of(m_watchpoints.begin(), m_watchpoints.end(), [&](const Watchpoint& o) { return same(o, w); }))
        return false;
    m_watchpoints.push_back(w);
    ++m_watchpoint_gen;
    return true;
}

bool DebugPoints::remove_watchpoint(const Watchpoint& w) {
    const auto it = std::find_if(m_watchpoints.begin(), m_watchpoints.end(), [&](const Watchpoint& o) { return same(o, w); });
    if (it == m_watchpoints.end()) return false;
    m_watchpoints.erase(it);
    ++m_watchpoint_gen;
    return true;
}

void DebugPoints::clear() {
    if (!m_breakpoints.empty()) ++m_breakpoint_gen;
    if (!m_watchpoints.empty()) ++m_watchpoint_gen;
    m_breakpoints.clear();
    m_watchpoints.clear();
    m_offsets.reset();
    m_at_offset.fill(0);
}

bool DebugPoints::is_breakpoint(uint64_t va) const {
    return m_breakpoints.contains(va);
}

// Ranges are compared as [addr, addr+len) with the sums wrapping past the top of the
// address space treated as reaching it (gdb may watch the last bytes).
const Watchpoint* DebugPoints::watch_hit(uint64_t va, uint64_t size, bool write) const {
    for (const Watchpoint& w : m_watchpoints) {
        if (!applies(w.kind, write)) continue;
        const uint64_t w_last = w.addr + (w.len - 1);
        const uint64_t a_last = va + (size - 1);
        if (va <= w_last && w.addr <= a_last) return &w;
    }
    return nullptr;
}

bool DebugPoints::watches_page(uint64_t va, bool write) const {
    const uint64_t page = va & ~0xfffull;
    return watch_hit(page, 0x1000, write) != nullptr;
}

}  // namespace trapeze::rv64
