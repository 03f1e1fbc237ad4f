// HartEngine: the one interface the RISC-V machine needs from a CPU engine — the
// interpreter (rv64::interp::Interpreter) or the translator (rv64::jit::Jit) — so the
// board, its devices and its run loop are the same whichever engine runs the harts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::machine {

// Why HartEngine::run returned: its budget was used, the hart waits in WFI, or it stopped
// for the debugger (rv64::Hart::debug_event).
enum class EngineExit : uint8_t { Budget, Wfi, Debug };

class HartEngine {
public:
    virtual ~HartEngine() = default;
    virtual void attach(rv64::Hart& h) = 0;
    // Runs h for about `budget` instructions, or until it waits in WFI or stops for the debugger.
    virtual EngineExit run(rv64::Hart& h, uint64_t budget) = 0;
    virtual uint64_t retired() const = 0;
    virtual std::string summary() const = 0;  // engine counters, one line, for `trapeze run`'s stats
    virtual rv64::interp::CodeCache& cache() = 0;  // its decoded blocks, shared by every hart
    // Forgets every decoded block and translation (RAM was replaced: a rewind). No hart runs.
    virtual void flush_code() = 0;
};

// Both engines have the same shape (attach, run -> Exit::{Budget, Wfi, Debug}, retired).
template <typename Engine>
class EngineAdapter final : public HartEngine {
public:
    explicit EngineAdapter(std::unique_ptr<Engine> engine) : m_engine(std::move(engine)) {}
    void attach(rv64::Hart& h) override { m_engine->attach(h); }
    EngineExit run(rv64::Hart& h, uint64_t budget) override {
        switch (m_engine->run(h, budget)) {
            case Engine::Exit::Budget: return EngineExit::Budget;
            case Engine::Exit::Wfi: return EngineExit::Wfi;
            case Engine::Exit::Debug: return EngineExit::Debug;
        }
        return EngineExit::Budget;
    }
    uint64_t retired() const override { return m_engine->retired(); }
    std::string summary() const override { return m_engine->summary(); }
    rv64::interp::CodeCache& cache() override { return m_engine->cache(); }
    void flush_code() override { m_engine->flush_code(); }

private:
    std::unique_ptr<Engine> m_engine;
};

}  // namespace trapeze::machine
