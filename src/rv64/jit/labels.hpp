// Jump targets within one translation. Xbyak's own labels keep every label, every copy of one
// and every jump not yet resolved in hash maps (LabelManager): a fifth of the emitter's time
// went there (build/bench/emitter_bench's profile), for regions that use a few dozen labels
// each, most jumped to once. Here a label is a number into a vector that start() empties
// for each translation, its unresolved jumps a list threaded through a second vector, and a
// copy is two integers. The bytes emitted are Xbyak's: the same encodings and the same choice
// of short and near forms (Labels::jump).
#pragma once

// As everywhere the emitter includes xbyak (emitter_impl.hpp): errors are values.
#define XBYAK_NO_EXCEPTION
#include <xbyak/xbyak.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trapeze::rv64::jit {

// A place in the translation being emitted, jumped to before or after it is placed. As with
// Xbyak's labels, a label gets its number when first placed or jumped to, and a copy made
// after that names the same place (the emitter captures labels in its cold-code closures).
class Label {
public:
    Label() = default;

private:
    friend class Labels;
    mutable uint32_t m_id = 0;     // 0 until first used; then 1 + its index in Labels
    mutable uint32_t m_epoch = 0;  // the Labels::start it was numbered after
};

class Labels {
public:
    // The short and near forms of one jump: `jmp` is EB rel8 / E9 rel32, a jcc 7x rel8 /
    // 0F 8x rel32 (Intel SDM vol. 2A, "Jcc", "JMP").
    struct Opcodes {
        uint8_t short_op;
        uint8_t near_op;
        uint8_t near_prefix;  // 0: none
    };

    explicit Labels(Xbyak::CodeArray& code) : m_code(code) {}

    // A new translation, at the code array's start: the previous one's labels are done with.
    void start();
    // `l` is here (the code array's current size). Placing a label twice is an error
    // (ERR_LABEL_IS_REDEFINED), as is a short jump to it from more than 127 bytes away.
    void place(const Label& l);
    // A jump to `l`: to a placed label, the short form where it reaches unless `type` is
    // T_NEAR; to one not placed yet, the near form if `type` is T_NEAR, else the short one.
    void jump(const Label& l, Xbyak::CodeGenerator::LabelType type, Opcodes op);
    // Gives `l` its number now, so that copies taken before its first jump or placement (by
    // closures emitted later) name the same place.
    void name(const Label& l) { target(l); }
    // Every label jumped to since start() has been placed.
    bool resolved() const { return m_unresolved == 0; }
    // The code from here on is to be placed apart from the code before (the split): jumps
    // back to labels placed before here take the near form.
    void split_here() { m_split = m_code.getSize(); }
    // With every label placed: the offsets of the rel32 displacements of the jumps that cross
    // the split (from code before it to a label at or after it, or the other way), appended
    // to `cross`; false if a short jump crosses it (its rel8 could not reach when the two
    // sides are placed apart). None without a split.
    bool crossing(std::vector<uint32_t>& cross) const;

private:
    struct Target {
        int64_t at = -1;     // its offset, once placed
        int32_t first = -1;  // its first unresolved jump (an index into m_jumps), or -1
    };
    struct Jump {
        size_t end;    // offset just after the jump's displacement
        uint8_t size;  // of the displacement: 1 or 4
        int32_t next;  // the target's next unresolved jump, or -1
    };

    // Every jump emitted since start(), resolved or not (crossing).
    struct Site {
        size_t end;
        uint8_t size;
        uint32_t target;  // an index into m_targets
    };

    Target& target(const Label& l);
    void record(const Label& l, uint8_t size) { m_sites.push_back({m_code.getSize(), size, l.m_id - 1}); }

    Xbyak::CodeArray& m_code;
    std::vector<Target> m_targets;
    std::vector<Jump> m_jumps;
    std::vector<Site> m_sites;
    size_t m_split = SIZE_MAX;  // split_here
    size_t m_unresolved = 0;
    uint32_t m_epoch = 1;
};

}  // namespace trapeze::rv64::jit
