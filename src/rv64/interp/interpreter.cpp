#include "rv64/interp/interpreter.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/decoder.hpp"

namespace trapeze::rv64::interp {

Interpreter::Interpreter(GuestMemory& mem) : m_cache(mem) {
    // Device DMA and loaders write RAM behind the harts' backs: drop the decoded code there.
    mem.set_write_observer([this](Gpa gpa, uint64_t len) { m_cache.invalidate_range(gpa.value, len); });
    const char* trace = std::getenv("TRAPEZE_TRACE");
    m_trace = trace != nullptr && *trace == '1';
}

std::string Interpreter::summary() const {
    return fmt::format("interp: {} blocks decoded, {} code invalidations", m_cache.built(), m_cache.generation());
}

void Interpreter::attach(Hart& h) {
    h.set_code_watch(&m_cache);
    m_cache.attach(h);
    m_contexts.push_back(std::make_unique<HartContext>());
    h.engine.context = m_contexts.back().get();
}

uint64_t Interpreter::retired() const {
    uint64_t n = 0;
    for (const auto& c : m_contexts) n += c->retired.load(std::memory_order_relaxed);
    return n;
}

void Interpreter::account(Hart& h, uint64_t n) {
    account_retired(h, n);
    std::atomic<uint64_t>& r = context(h).retired;
    r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // only h's thread writes it
}

Block* Interpreter::lookup(Hart& h) {
    uint64_t pa = 0;
    if (!h.translate_fetch(h.s.pc, pa)) {
        h.clear_trapped();
        return nullptr;
    }
    JumpCacheEntry& j = context(h).jump_cache[(pa >> 1) % kJumpCacheSize];
    const uint64_t gen = m_cache.generation();  // before the lookup: a drop meanwhile makes the entry stale
    if (j.pa == pa && j.gen == gen && j.block != nullptr) return j.block;
    Block* b = m_cache.find_or_build(pa, h);
    j = JumpCacheEntry{pa, gen, b};
    return b;
}

uint64_t Interpreter::execute(Hart& h, const Block& b) {
    if (m_trace) [[unlikely]]
        return execute_traced(h, b);
    return execute_block(h, b);
}

// The same as execute(), printing each instruction before it runs (TRAPEZE_TRACE=1).
uint64_t Interpreter::execute_traced(Hart& h, const Block& b) {
    uint64_t n = 0;
    for (const DecodedInsn& d : b.insns) {
        fmt::print(stderr, "hart{} {} {:016x}: {}\n", h.s.mhartid, static_cast<int>(h.s.priv), h.s.pc, disassemble(d));
        if (!d.fn(h, d)) {
            const bool trapped = h.trapped();
            h.clear_trapped();
            if (trapped) fmt::print(stderr, "  trap -> {:016x} mcause={:#x} scause={:#x}\n", h.s.pc, h.s.mcause, h.s.scause);
            return n + (trapped ? 0 : 1);
        }
        h.s.pc += d.len;
        ++n;
    }
    return n;
}

Interpreter::Exit Interpreter::run(Hart& h, uint64_t budget) {
    m_cache.exclusive().enter();
    const Exit exit = run_blocks(h, budget);
    m_cache.exclusive().leave();
    return exit;
}

// Dropped blocks piled up in the arena: they go (with the live ones) once no hart can be
// running one, this one included (it is between blocks). Every jump cache is then stale
// (the generation moved).
void Interpreter::maintain() {
    if (!m_cache.wants_flush()) return;
    m_cache.exclusive().run_exclusive([this] {
        std::lock_guard lock(m_cache.mutex());
        if (!m_cache.wants_flush()) return;
        m_cache.flush();
        m_cache.reap();
    });
}

void Interpreter::flush_code() {
    std::lock_guard lock(m_cache.mutex());
    m_cache.flush();
    m_cache.reap();
}

Interpreter::Exit Interpreter::run_blocks(Hart& h, uint64_t budget) {
    maintain();
    m_cache.sync_breakpoints();
    uint64_t done = 0;
    Block* prev = nullptr;
    uint64_t prev_page = 0;  // the link_page in which prev was entered
    while (done < budget) {
        if (m_cache.exclusive().checkpoint()) prev = nullptr;  // another hart flushed the cache
        if (h.debug_stopped()) return Exit::Debug;  // a watchpoint stopped the last block
        if (h.s.wfi) {
            if (!h.wfi_wakeup()) return Exit::Wfi;
            h.s.wfi = false;
        }
        h.take_attention();  // a load or store leaves its block when a line rises after it (dispatch.cpp)
        if ((h.mip() & h.s.mie) != 0 && h.check_interrupts()) prev = nullptr;
        const uint64_t page = link_page(h);
        const bool same_page = page == prev_page;
        Block* b = prev != nullptr ? m_cache.follow_link(*prev, h, same_page) : nullptr;
        if (b == nullptr) {
            b = lookup(h);
            if (b == nullptr) {
                // A fetch fault, already taken. Faults count against the budget too, so a
                // trap storm still ends the slice.
                ++done;
                prev = nullptr;
                continue;
            }
            if (prev != nullptr) m_cache.link(*prev, h, same_page, b);
        }
        if (m_cache.stops_at_breakpoint(*b, h)) return Exit::Debug;
        const uint64_t context = h.context_gen();
        const uint64_t n = execute(h, *b);
        account(h, n);
        done += std::max<uint64_t>(n, 1);
        // A block that changed translation (sfence.vma, satp, ...) starts no chain: the next
        // fetch must see the new mapping even within the same page.
        prev = h.context_gen() == context ? b : nullptr;
        prev_page = page;
    }
    return Exit::Budget;
}

}  // namespace trapeze::rv64::interp
