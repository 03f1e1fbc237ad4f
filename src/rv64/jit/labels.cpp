#include "rv64/jit/labels.hpp"

#include <cassert>

namespace trapeze::rv64::jit {

namespace {

bool fits_rel8(int64_t disp) {
    return disp >= INT8_MIN && disp <= INT8_MAX;
}

}  // namespace

void Labels::start() {
    m_targets.clear();
    m_jumps.clear();
    m_sites.clear();
    m_split = SIZE_MAX;
    m_unresolved = 0;
    ++m_epoch;
}

Labels::Target& Labels::target(const Label& l) {
    if (l.m_id == 0) {
        m_targets.emplace_back();
        l.m_id = static_cast<uint32_t>(m_targets.size());
        l.m_epoch = m_epoch;
    }
    // A label kept from an earlier translation would name another one's place: a bug.
    assert(l.m_epoch == m_epoch && l.m_id <= m_targets.size());
    return m_targets[l.m_id - 1];
}

void Labels::place(const Label& l) {
    Target& t = target(l);
    if (t.at >= 0) {
        Xbyak::local::SetError(Xbyak::ERR_LABEL_IS_REDEFINED);
        return;
    }
    t.at = static_cast<int64_t>(m_code.getSize());
    for (int32_t j = t.first; j >= 0; j = m_jumps[static_cast<size_t>(j)].next) {
        const Jump& jump = m_jumps[static_cast<size_t>(j)];
        const int64_t disp = t.at - static_cast<int64_t>(jump.end);
        if (jump.size == 1 && !fits_rel8(disp)) Xbyak::local::SetError(Xbyak::ERR_LABEL_IS_TOO_FAR);
        m_code.rewrite(jump.end - jump.size, static_cast<uint64_t>(disp), jump.size);
        --m_unresolved;
    }
    t.first = -1;
}

void Labels::jump(const Label& l, Xbyak::CodeGenerator::LabelType type, Opcodes op) {
    if (type == Xbyak::CodeGenerator::T_FAR) {
        Xbyak::local::SetError(Xbyak::ERR_NOT_SUPPORTED);
        return;
    }
    Target& t = target(l);
    const int64_t here = static_cast<int64_t>(m_code.getSize());
    if (t.at >= 0) {  // backward: the short form if it reaches (CodeGenerator::makeJmp)
        const int64_t short_disp = t.at - (here + 2);
        const bool across = static_cast<size_t>(t.at) < m_split && static_cast<size_t>(here) >= m_split;
        if (type != Xbyak::CodeGenerator::T_NEAR && fits_rel8(short_disp) && !across) {
            m_code.db(op.short_op);
            m_code.db(static_cast<int>(short_disp & 0xff));
            record(l, 1);
            return;
        }
        if (type == Xbyak::CodeGenerator::T_SHORT) {
            Xbyak::local::SetError(Xbyak::ERR_LABEL_IS_TOO_FAR);
            return;
        }
        if (op.near_prefix != 0) m_code.db(op.near_prefix);
        m_code.db(op.near_op);
        m_code.dd(static_cast<uint32_t>(t.at - (static_cast<int64_t>(m_code.getSize()) + 4)));
        record(l, 4);
        return;
    }
    // Forward: a displacement of the form asked for, filled in by place.
    const bool near = type == Xbyak::CodeGenerator::T_NEAR;
    if (near) {
        if (op.near_prefix != 0) m_code.db(op.near_prefix);
        m_code.db(op.near_op);
        m_code.dd(0);
    } else {
        m_code.db(op.short_op);
        m_code.db(0);
    }
    m_jumps.push_back({m_code.getSize(), static_cast<uint8_t>(near ? 4 : 1), t.first});
    record(l, near ? 4 : 1);
    t.first = static_cast<int32_t>(m_jumps.size() - 1);
    ++m_unresolved;
}

bool Labels::crossing(std::vector<uint32_t>& cross) const {
    for (const Site& s : m_sites) {
        const int64_t at = m_targets[s.target].at;
        assert(at >= 0);
        if ((s.end <= m_split) == (static_cast<size_t>(at) < m_split)) continue;
        if (s.size != 4) return false;
        cross.push_back(static_cast<uint32_t>(s.end - 4));
    }
    return true;
}

}  // namespace trapeze::rv64::jit
