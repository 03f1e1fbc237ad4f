#include "rv64/jit/jit.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>

#include <unistd.h>

#include <fmt/format.h>

#include "base/relaxed.hpp"
#include "rv64/interp/dispatch.hpp"
#include "rv64/isa/decoder.hpp"
#include "rv64/isa/op.hpp"
#include "rv64/jit/layout.hpp"
#include "rv64/jit/successors.hpp"

namespace trapeze::rv64::jit {

Result<std::unique_ptr<Jit>> Jit::create(GuestMemory& mem, const JitConfig& cfg) {
    auto code = CodeBuffer::create(cfg.code_bytes);
    if (!code) return code.error();
    if (cfg.code_bytes < 4 * kMaxBlockBytes) return make_error("JIT code buffer of {} bytes is too small", cfg.code_bytes);
    return std::unique_ptr<Jit>(new Jit(mem, std::move(*code), cfg));
}

Jit::Jit(GuestMemory& mem, CodeBuffer code, const JitConfig& cfg)
    : m_cache(mem),
      m_code(std::move(code)),
      m_slots(std::max<size_t>(cfg.exit_slots, 4 * kMaxBlockSlots)),
      m_translate_after(cfg.translate_after),
      m_steal_after(std::max(cfg.steal_after, cfg.translate_after)),
      m_background(cfg.background),
      m_prompt_interrupts(cfg.prompt_interrupts),
      m_translator_naps_for(cfg.translator_naps_for) {
    // Device DMA and loaders write RAM behind the harts' backs: drop the code there.
    mem.set_write_observer([this](Gpa gpa, uint64_t len) { m_cache.invalidate_range(gpa.value, len); });
    m_cache.set_drop_observer([this](interp::Block& b) { on_drop(b); });
    if (const char* v = std::getenv("TRAPEZE_PERF_MAP"); v != nullptr && *v == '1') open_perf_files();
}

// Opened here, before the sandbox forbids opening files.
void Jit::open_perf_files() {
    const std::string map = fmt::format("/tmp/perf-{}.map", ::getpid());
    const std::string code = fmt::format("/tmp/perf-{}.code", ::getpid());
    m_perf_map = std::fopen(map.c_str(), "a");
    m_perf_code = std::fopen(code.c_str(), "a");
    if (m_perf_map == nullptr || m_perf_code == nullptr) {
        fmt::print(stderr, "trapeze: TRAPEZE_PERF_MAP: cannot write {} and {}\n", map, code);
        if (m_perf_map != nullptr) std::fclose(m_perf_map);
        if (m_perf_code != nullptr) std::fclose(m_perf_code);
        m_perf_map = m_perf_code = nullptr;
    }
}

Jit::~Jit() {
    m_translator.reset();  // before the blocks and slots it reads
    if (m_perf_map != nullptr) std::fclose(m_perf_map);
    if (m_perf_code != nullptr) std::fclose(m_perf_code);
}

uint64_t Jit::sum(std::atomic<uint64_t> Counters::* c) const {
    uint64_t n = 0;
    for (const auto& ctx : m_contexts) n += (ctx->counters.*c).load(std::memory_order_relaxed);
    return n;
}

Emitter::Stats Jit::stats() const {
    std::lock_guard lock(const_cast<interp::CodeCache&>(m_cache).mutex());
    return m_stats;
}

std::string Jit::summary() const {
    const Emitter::Stats s = stats();
    const Translator::Waits w = translator_waits();
    const double mean_ms = w.started == 0 ? 0.0 : static_cast<double>(w.total_ns) / static_cast<double>(w.started) / 1e6;
    return fmt::format(
        "jit: {} translations ({} of loops over several blocks; {} instructions native, {} through the "
        "interpreter, {} loads and stores sharing a TLB probe, {} through a loop's page memo, {} one-block loops "
        "keeping a memo's addend in a register, {} caching ten registers), {} blocks entering a loop translated with another head, {} block runs "
        "interpreted before translation ({} translations taken back from the queue by a hart, {} placed in the code "
        "buffer by the translator thread, which a hart woke {} times; its jobs waited {:.1f} ms on average to be "
        "started, {} of them over {} ms), {} dispatcher entries ({} to link an exit), {} blocks looked up by pc, {} code invalidations, {} flushes",
        s.blocks, s.regions, s.translated, s.fallbacks, s.shared_probes, s.memo_accesses, s.pinned_memos, s.wide,
        side_entries(), sum(&Counters::interpreted), stolen(), placed(), translator_wakeups(), mean_ms, w.long_ones,
        Translator::kLongWait.count(), dispatches(), sum(&Counters::fills), lookups(), m_cache.generation(), flushes());
}

// Each hart gets its dispatcher's state; its cross-page exit slots and jump cache are reserved
// whole (slots are found by index) and cost memory only where used.
void Jit::attach(Hart& h) {
    h.set_code_watch(&m_cache);
    m_cache.attach(h);
    if (m_emitter == nullptr) init(h);
    auto ctx = std::make_unique<HartContext>();
    ctx->hart = &h;
    auto slots = HugeRegion::map(m_slots.capacity() * sizeof(ExitSlot));
    auto jumps = HugeRegion::map(kJumpCacheSize * sizeof(ExitSlot));
    if (!slots || !jumps) throw std::bad_alloc();  // as SlotArena's own reservation
    ctx->exit_slots = std::move(*slots);
    ctx->jump_cache = std::move(*jumps);
    h.engine = Hart::EngineData{ctx.get(), ctx->exit_slots.data(), ctx->jump_cache.data()};
    m_contexts.push_back(std::move(ctx));
}

// The layout of Hart is the same for every hart: the first one measures it, and the
// entry trampoline goes to the start of the code buffer, where flushes keep it.
void Jit::init(Hart& h) {
    m_emitter = std::make_unique<Emitter>(Layout::of(h), m_slots, kJumpCacheSize - 1);
    const Emitter::Trampoline tramp = m_emitter->emit_trampoline();
    const uint8_t* at = m_code.append(tramp.code);
    if (at == nullptr) std::abort();  // create() guarantees the room
    m_enter = reinterpret_cast<EnterFn>(reinterpret_cast<uintptr_t>(at));
    m_link_stub = at + tramp.link_stub_offset;
    m_emitter->set_trampoline(at + tramp.epilogue_offset, m_link_stub, at + tramp.recheck_offset);
    m_code_base = m_code.mark();
    if (m_background) {
        try {
            m_translator = std::make_unique<Translator>(
                *m_emitter, [this](std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross) { return place(code, hot, cross); },
                [this] { m_cache.prepare_chunk(); }, m_translator_naps_for);
            m_hart_emitter = std::make_unique<Emitter>(Layout::of(h), m_slots, kJumpCacheSize - 1);
            m_hart_emitter->set_trampoline(at + tramp.epilogue_offset, m_link_stub, at + tramp.recheck_offset);
        } catch (const std::system_error& e) {  // no thread to be had: translate in line
            fmt::print(stderr, "trapeze: jit: translating on the hart thread ({})\n", e.what());
        }
    }
}

bool Jit::needs_flush() const {
    return m_code.free() < kKeepFree || m_slots.free() < kMaxBlockSlots || m_cache.wants_flush();
}

// Every translation, slot and block dies at once, so no hart may hold one: inside the code
// cache's ExclusiveSection, with the translator idle. Dropping every block resets every filled
// slot (to the link stub) and every block-cache entry; the harts' own slots keep their other
// fields, which an unfilled slot may hold (see ExitSlot). The caller holds no block.
void Jit::flush(bool always) {
    m_cache.exclusive().run_exclusive([this, always] {
        if (m_translator != nullptr) m_translator->cancel_all();  // before the blocks it reads go
        std::lock_guard lock(m_cache.mutex());
        if (!always && !needs_flush()) return;  // another hart's flush came first
        m_cache.flush();
        m_cache.reap();
        m_code.truncate(m_code_base);
        m_slots.clear();
        m_flushes.fetch_add(1, std::memory_order_relaxed);
    });
}

// h is at b's pc. For an Op::crossing block the upper half is read now, without faulting,
// through the fetch TLB (if it has no entry for that page the block stays interpreted).
void Jit::prepare_crossing(interp::Block& b, const Hart& h) {
    if (static_cast<Op>(b.insns.front().op) != Op::crossing || b.crossing) return;
    uintptr_t addend = 0;
    if (Layout::fetch_addend(h, h.s.pc + 2, addend)) {
        uint16_t hi = 0;
        std::memcpy(&hi, reinterpret_cast<const void*>(h.s.pc + 2 + addend), 2);
        DecodedInsn full = decode(static_cast<uint32_t>(hi) << 16 | (b.insns.front().raw & 0xffff));
        full.fn = interp::exec_for(full);
        b.crossing = full;
    }
}

// b (at h's pc) has run often enough (wants_translation): its region is translated now, or
// handed to the Translator (b runs interpreted until the code is installed). A block whose job
// is still queued after steal_after runs is taken back and translated here (the job the thread
// may already be making is not installed: its head has code by then). Under the mutex; b may
// have been dropped (by another hart) since it was looked up, and then is left alone.
void Jit::translate(interp::Block& b, Hart& h) {
    std::lock_guard lock(m_cache.mutex());
    if (b.code() != nullptr || b.dropped || !wants_translation(b)) return;
    const bool queued = b.queued.load(std::memory_order_relaxed);
    if (!queued) prepare_crossing(b, h);  // (a queued job's blocks are the Translator's to read)
    if (m_translator != nullptr && !queued) {
        b.queued.store(true, std::memory_order_relaxed);
        m_translator->submit(&b, region(b), m_cache.generation());
        return;
    }
    if (queued && m_translator->withdraw(&b)) b.queued.store(false, std::memory_order_relaxed);
    Emitter& emitter = queued ? *m_hart_emitter : *m_emitter;
    const std::vector<const interp::Block*> blocks = region(b);
    const auto bytes = emitter.emit_region(blocks, m_stats);
    if (bytes.empty()) std::abort();  // a region always fits in kMaxBlockBytes
    install(b, {bytes, emitter.hot_size(), emitter.cross(), emitter.patches(), emitter.entries(), blocks.size()});
    if (queued) {
        // Finished jobs installed in the same turn of the dispatcher may have used the room
        // dispatch() keeps: then b stays interpreted until the flush that follows.
        m_stolen.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (b.code() == nullptr) std::abort();  // dispatch() keeps kMaxBlockBytes free
}

// b has no code and has run often enough to be translated, or to be taken back from the
// Translator's queue (JitConfig::steal_after).
bool Jit::wants_translation(const interp::Block& b) const {
    const uint32_t runs = b.run_count();
    if (runs < m_translate_after || b.debug_check) return false;
    return !b.queued.load(std::memory_order_relaxed) || runs >= m_steal_after;
}

// Under the mutex. The region's other blocks that have no code yet get its entries at them
// (Emitter::entries); they are of head's page, so they are dropped with it. The code is in the
// buffer before a block's host_code leads to it (release).
void Jit::install(interp::Block& head, const Translation& t) {
    const bool placed = t.placed.hot != nullptr;
    const size_t size = placed ? t.size : t.code.size();
    if (size > kMaxBlockBytes) std::abort();  // the bound dispatch() keeps free
    const CodeBuffer::Placed at = placed ? t.placed : m_code.place_split(t.code, t.hot_size, t.cross);
    const uint8_t* code = at.hot;
    if (code == nullptr) return;
    if (placed) m_placed.fetch_add(1, std::memory_order_relaxed);
    for (const Emitter::Patch& p : t.patches) {
        p.slot->patch = at.at(p.offset);
        p.slot->unlinked = CodeBuffer::rel32_target(p.slot->patch);  // its cold way out, as placed
        link_new_slot(*p.slot, (head.pa & ~uint64_t{0xfff}) | p.target_page_off);
    }
    head.host_code.store(code, std::memory_order_release);
    link_waiting(head);
    for (const Emitter::Entry& e : t.entries) {
        interp::Block* b = m_cache.find(e.pa);
        if (b == nullptr || b->code() != nullptr || b->debug_check) continue;
        b->host_code.store(at.at(e.offset), std::memory_order_release);
        link_waiting(*b);
        m_side_entries.fetch_add(1, std::memory_order_relaxed);
    }
    if (m_perf_map != nullptr) write_perf_map(head, at, size, t.blocks);
}

// The Translator's Placer, on its thread: the code goes into the buffer now if that leaves
// kMaxBlockBytes free besides, the room a hart's own translation needs (dispatch() flushes
// below it), so the Translator never takes that room; else the job carries the code. The room
// is claimed without the code cache's mutex (CodeBuffer::reserve: a hart appending at the same
// time gets other room), and mapping a fresh MiB of the buffer, a millisecond or more on a
// nested host, no longer holds up a hart that wants the mutex meanwhile. The copy needs no
// lock, as nothing runs the room's code before the job is installed and no flush comes while
// the thread is busy with the job (Translator::cancel_all).
CodeBuffer::Placed Jit::place(std::span<const uint8_t> code, size_t hot, std::span<const uint32_t> cross) {
    return m_code.place_split(code, hot, cross, kKeepFree);
}

// The Translator's finished regions whose blocks are all still the code cache's (none was
// dropped by a store to its page, a DMA write or an sfence since it was asked for: otherwise
// the code may be stale, and the head is asked for again when it next runs often enough).
void Jit::install_finished() {
    std::lock_guard lock(m_cache.mutex());
    m_translator->take_finished(m_finished_jobs);
    for (Translator::Job& job : m_finished_jobs) {
        job.head->queued.store(false, std::memory_order_relaxed);
        if (job.size == 0) std::abort();  // a region always fits in kMaxBlockBytes
        const bool current = job.generation == m_cache.generation() ||
                             std::all_of(job.blocks.begin(), job.blocks.end(),
                                         [](const interp::Block* b) { return !b->dropped; });
        // A head that has code meanwhile is entered through another region that covers it.
        // (A placed translation left out stays dead in the buffer until the next flush.)
        if (!current || job.head->code() != nullptr) continue;
        if (job.placed.hot == nullptr && CodeBuffer::room_for(job.code.size()) > m_code.free()) continue;
        m_stats += job.stats;
        install(*job.head, {job.code, job.hot_size, job.cross, job.patches, job.entries, job.blocks.size(), job.size, job.placed});
    }
    m_translator->recycle(m_finished_jobs);
}

// What one translation covers: b, and the blocks of b's page that ran before (they are in the
// cache), are reached from b by static jumps within the page and lead back to b: the loops
// through b, which then run with their registers in host registers (Emitter::emit_region).
// At most kMaxRegionInsns instructions (or the head alone), so a translation's bounds hold.
std::vector<const interp::Block*> Jit::region(const interp::Block& b) {
    std::vector<const interp::Block*> reached{&b};
    size_t insns = b.insns.size();
    for (size_t i = 0; i < reached.size(); ++i) {
        for (uint64_t pa : static_successors(*reached[i])) {
            const interp::Block* s = m_cache.linked_block_at(*reached[i], pa);
            if (s == nullptr) s = m_cache.find(pa);
            if (s == nullptr || std::find(reached.begin(), reached.end(), s) != reached.end()) continue;
            if (static_cast<Op>(s->insns.front().op) == Op::crossing || s->debug_check) continue;
            if (insns + s->insns.size() > kMaxRegionInsns) continue;
            insns += s->insns.size();
            reached.push_back(s);
        }
    }
    // Keep those from which b is reached again (b first: the translation's entry).
    std::vector<const interp::Block*> kept{&b};
    for (bool grew = true; grew;) {
        grew = false;
        for (const interp::Block* s : reached) {
            if (std::find(kept.begin(), kept.end(), s) != kept.end()) continue;
            for (uint64_t pa : static_successors(*s)) {
                if (std::any_of(kept.begin(), kept.end(), [&](const interp::Block* k) { return k->pa == pa; })) {
                    kept.push_back(s);
                    grew = true;
                    break;
                }
            }
        }
    }
    return kept;
}

// perf's JIT symbol file (tools/perf/Documentation/jit-interface.txt): one line per
// translation, "START SIZE name", named by the block's guest-physical address and its first
// instruction, so `perf report` attributes host time to guest code. The code file gets the
// translation's bytes, in the same order (START and SIZE as two little-endian 64-bit words, then
// SIZE bytes), so that tools/jit-profile --annotate can disassemble what the samples hit.
// A translation placed in two parts (CodeBuffer::place_split) has two lines, the cold part's
// name ending in "_cold".
void Jit::write_perf_map(const interp::Block& b, const CodeBuffer::Placed& code, size_t size, size_t blocks) {
    const std::string name = fmt::format("guest_{:x}_{}insns_{}blocks_{}", b.pa, b.insns.size(), blocks, disassemble(b.insns.front()));
    write_perf_part(name, code.hot, std::min(size, code.hot_size));
    if (size > code.hot_size) write_perf_part(name + "_cold", code.cold, size - code.hot_size);
}

void Jit::write_perf_part(const std::string& name, const void* code, size_t size) {
    const auto start = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(code));
    fmt::print(m_perf_map, "{:x} {:x} {}\n", start, size, name);
    const std::array<uint64_t, 2> header{start, size};  // x86-64 hosts only: little-endian
    std::fwrite(header.data(), sizeof(uint64_t), header.size(), m_perf_code);
    std::fwrite(code, 1, size, m_perf_code);
    std::fflush(m_perf_code);  // the code first: a reader that sees the map line finds its bytes
    std::fflush(m_perf_map);
}

// A miss fills the entry under the mutex, so a thread dropping the block after that finds
// the entry to reset it.
Jit::BlockCacheEntry* Jit::lookup(Hart& h) {
    HartContext& ctx = context(h);
    add(ctx.counters.lookups, 1);
    uint64_t pa = 0;
    if (!h.translate_fetch(h.s.pc, pa)) {
        h.clear_trapped();
        return nullptr;
    }
    BlockCacheEntry& e = ctx.block_cache[block_cache_index(pa)];
    if (relaxed_load(e.pa) == pa && relaxed_load(e.block) != nullptr) return &e;
    std::lock_guard lock(m_cache.mutex());
    interp::Block* b = m_cache.find(pa);
    if (b == nullptr) b = m_cache.build(pa, h);
    relaxed_store(e.pa, pa);
    relaxed_store(e.block, b);
    relaxed_store(e.code, b->code());
    return &e;
}

// The entry's code, once its block has some (translated now if it ran often enough).
// A block at a breakpoint's offset stays interpreted, to be checked every time.
const void* Jit::code_for(BlockCacheEntry& e, Hart& h) {
    const void* code = relaxed_load(e.code);
    if (code != nullptr) return code;
    interp::Block* b = relaxed_load(e.block);
    if (b == nullptr) return nullptr;  // dropped meanwhile
    if (b->code() == nullptr && wants_translation(*b)) translate(*b, h);
    code = b->code();
    if (code != nullptr) relaxed_store(e.code, code);
    return code;
}

// Under the mutex. See ExitSlot for when a filled slot is followed. Without a fetch-TLB entry
// for the pc (a page PMP splits) a cross-page slot stays unfilled, and so does any slot whose
// block was dropped since the hart looked it up (it must not join a dead block's list).
void Jit::fill(ExitSlot& slot, const Hart& h, interp::Block& b) {
    const void* code = b.code();
    if (code == nullptr || b.dropped) return;
    if (attach(slot, h, b)) lead_to(slot, code);
}

// Under the mutex: h left translated code through `slot` for b, which has no code yet (it runs
// interpreted). The slot joins b's incoming list as fill() would leave it, still leading to the
// link stub, so that b's translation is linked to it when installed (link_waiting) instead of
// at the slot's next use, one more trip through the dispatcher (the Translator installs
// translations while their predecessors' exits run into the dispatcher: a gcc compile's 450K
// fills went to 403K, its dispatcher entries from 2.15M to 2.02M).
// A slot already on a list stays there: it waits already, or it is a jump-cache slot that
// leads to another pc's code, which a block not yet translated (and maybe never) must not evict.
void Jit::wait_for_code(ExitSlot& slot, const Hart& h, interp::Block& b) {
    if (b.dropped || b.code() != nullptr || slot.pprev != nullptr) return;
    attach(slot, h, b);
}

// Under the mutex: the slot is taken off any list, records h's pc (and, across pages, the
// fetch key and addend it is valid under) and joins b's incoming list, leading to the link
// stub. False (and the slot left unfilled) without a fetch-TLB entry for the pc.
bool Jit::attach(ExitSlot& slot, const Hart& h, interp::Block& b) {
    unlink(slot);
    if (!slot.same_page) {
        if (!Layout::fetch_addend(h, h.s.pc, slot.addend)) return false;
        slot.key = h.fetch_key();
    }
    slot.pc = h.s.pc;
    join(slot, b);
    return true;
}

// Under the mutex: the slot, on no list, joins b's incoming list.
void Jit::join(ExitSlot& slot, interp::Block& b) {
    slot.next = b.incoming;
    if (slot.next != nullptr) slot.next->pprev = &slot.next;
    slot.pprev = &b.incoming;
    b.incoming = &slot;
}

// Under the mutex, while its translation is installed: a new exit to a successor in the same
// page is linked now if the code cache has the successor's block (at target_pa, as the
// dispatcher's lookup would find it through any hart's translation of the page, see ExitSlot),
// to its code or, without code yet, to wait for it; else it is filled at its first use, a trip
// through the dispatcher (a gcc compile's fills went from 403K to 288K with this, its
// dispatcher entries from 2.02M to 1.82M; a boot's fills from 34K to 17K).
void Jit::link_new_slot(ExitSlot& slot, uint64_t target_pa) {
    interp::Block* b = m_cache.find(target_pa);
    if (b == nullptr || b->dropped) return;
    join(slot, *b);
    if (b->code() != nullptr) lead_to(slot, b->code());
}

// Under the mutex: an attached slot leads to `code`. A waiting slot's hart may be running
// the code that reads it (another hart installs): `code` is stored whole, after the code
// itself (release), and a same-page slot's jump is one atomic patch.
void Jit::lead_to(ExitSlot& slot, const void* code) {
    std::atomic_ref<const void*>(slot.code).store(code, std::memory_order_release);
    if (slot.patch != nullptr) m_code.patch_rel32(slot.patch, code);
}

// Under the mutex, b's code just installed: the slots waiting for it (wait_for_code) lead to it.
void Jit::link_waiting(const interp::Block& b) {
    const void* code = b.code();
    for (ExitSlot* s = b.incoming; s != nullptr; s = s->next) lead_to(*s, code);
}

// Under the mutex. `code` is the one field another hart's emitted code may be reading while
// this runs (the slot's hart between its key check and its jump): it is stored whole, and the
// link stub it then leads to is safe from any slot.
void Jit::unlink(ExitSlot& slot) {
    if (slot.pprev != nullptr) {
        *slot.pprev = slot.next;
        if (slot.next != nullptr) slot.next->pprev = slot.pprev;
    }
    slot.next = nullptr;
    slot.pprev = nullptr;
    std::atomic_ref<const void*>(slot.code).store(m_link_stub, std::memory_order_relaxed);
    if (slot.patch != nullptr) m_code.patch_rel32(slot.patch, slot.unlinked);
}

// Under the mutex: the code cache dropped b (a store to its page, a DMA write, a flush):
// nothing may lead to its code any more, in any hart. Its own slots are left alone: they die
// with the next flush.
void Jit::on_drop(interp::Block& b) {
    while (b.incoming != nullptr) unlink(*b.incoming);
    for (const auto& ctx : m_contexts) {
        BlockCacheEntry& e = ctx->block_cache[block_cache_index(b.pa)];
        if (relaxed_load(e.block) != &b) continue;
        relaxed_store(e.pa, ~uint64_t{0});
        relaxed_store(e.block, static_cast<interp::Block*>(nullptr));
        relaxed_store(e.code, static_cast<const void*>(nullptr));
    }
}

Jit::Exit Jit::run(Hart& h, uint64_t budget) {
    m_cache.exclusive().enter();
    const Exit exit = dispatch(h, budget);
    m_cache.exclusive().leave();
    return exit;
}

// The dispatcher: the same loop as Interpreter::run, except that translated code runs
// many blocks per entry and comes back only when a successor is not linked yet, the budget
// (with prompt interrupts, the part of it one entry may use) is used up, an interrupt is
// pending, or a block ended in a system instruction or a trap.
Jit::Exit Jit::dispatch(Hart& h, uint64_t budget) {
    HartContext& ctx = context(h);
    m_cache.sync_breakpoints();
    RunState st{0, 0, budget};
    ExitSlot* pending = nullptr;    // where to link the next block's code
    interp::Block* prev = nullptr;  // the block just run through the interpreter, if any
    uint64_t prev_page = 0;         // the link_page prev was entered in
    while (st.done < budget) {
        // Where this hart holds no block: another hart's flush may happen here.
        if (m_cache.exclusive().checkpoint() || needs_flush()) {
            if (needs_flush()) flush();
            pending = nullptr;
            prev = nullptr;
        }
        if (h.debug_stopped()) return Exit::Debug;  // a watchpoint stopped the last block
        if (h.s.wfi) {
            if (!h.wfi_wakeup()) return Exit::Wfi;
            h.s.wfi = false;
        }
        h.take_attention();
        if ((h.mip() & h.s.mie) != 0 && h.check_interrupts()) {
            pending = nullptr;
            prev = nullptr;
        }
        if (m_translator != nullptr && m_translator->has_finished()) install_finished();
        // After a block run by the interpreter, its links lead to the next one as they do in
        // the interpreter: no fetch translation and no block-cache probe (a cache miss each).
        const uint64_t page = interp::link_page(h);
        // A successor with code leads into it the same way: that is the lookup's answer, without
        // the lookup's probe of the block cache (a host cache miss each).
        interp::Block* next = prev != nullptr ? m_cache.follow_link(*prev, h, page == prev_page) : nullptr;
        if (const void* code = next != nullptr ? next->code() : nullptr; code != nullptr) {
            prev = nullptr;
            pending = enter(h, code, budget, st);
            continue;
        }
        if (next != nullptr && !wants_translation(*next)) {
            if (m_cache.stops_at_breakpoint(*next, h)) return Exit::Debug;
            prev = interpret(h, *next, st);
            prev_page = page;
            continue;
        }
        BlockCacheEntry* e = lookup(h);
        if (e == nullptr) {
            // A fetch fault, already taken. Faults count against the budget too, so a trap
            // storm still ends the slice.
            ++st.done;
            pending = nullptr;
            prev = nullptr;
            continue;
        }
        // The common case touches only the entry: the Block is needed to interpret, translate
        // or link (the Blocks are scattered over the heap, so each is a cache miss).
        interp::Block* block = relaxed_load(e->block);
        const void* code = code_for(*e, h);
        if (block == nullptr) continue;  // dropped by another hart since the lookup: look again
        if (code == nullptr) {
            if (m_cache.stops_at_breakpoint(*block, h)) return Exit::Debug;
            if (pending != nullptr) {
                std::lock_guard lock(m_cache.mutex());
                wait_for_code(*pending, h, *block);
            }
            if (prev != nullptr) m_cache.link(*prev, h, page == prev_page, block);
            prev = interpret(h, *block, st);
            prev_page = page;
            pending = nullptr;
            continue;
        }
        // Linked as an interpreted successor is, so that the next run of prev finds the code
        // by its link.
        if (prev != nullptr) m_cache.link(*prev, h, page == prev_page, block);
        prev = nullptr;
        if (pending != nullptr) {
            std::lock_guard lock(m_cache.mutex());
            fill(*pending, h, *block);
            add(ctx.counters.fills, 1);
        }
        pending = enter(h, code, budget, st);
    }
    return Exit::Budget;
}

// Runs translated code from h's pc (code is its block's) until it comes back to the
// dispatcher, within dispatch()'s budget; returns the exit slot it left through, if any.
ExitSlot* Jit::enter(Hart& h, const void* code, uint64_t budget, RunState& st) {
    HartContext& ctx = context(h);
    add(ctx.counters.dispatches, 1);
    // Another thread may raise a pin meanwhile, which only the loop's next turn looks at.
    if (m_prompt_interrupts) st.budget = std::min(budget, st.done + kPromptUnits);
    ExitSlot* const pending = m_enter(&h, code, &st);
    add(ctx.counters.retired, st.retired);
    st.retired = 0;
    return pending;
}

// b through the interpreter's semantics, until it is translated. Returns b if its links may
// lead on: not after it changed translation (sfence.vma, satp, ...), as in Interpreter::run.
interp::Block* Jit::interpret(Hart& h, interp::Block& b, RunState& st) {
    HartContext& ctx = context(h);
    const uint64_t context = h.context_gen();
    b.count_run();
    const uint64_t n = interp::execute_block(h, b);
    interp::account_retired(h, n);
    add(ctx.counters.retired, n);
    st.done += std::max<uint64_t>(n, 1);
    add(ctx.counters.interpreted, 1);
    return h.context_gen() == context ? &b : nullptr;
}

}  // namespace trapeze::rv64::jit
