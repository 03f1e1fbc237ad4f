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

class HartEngine {
public:
    virtual ~HartEngine() = default;
    virtual void attach(rv64::Hart& h) = 0;
    // Runs h for about `budget` instructions; false if it stopped early to wait in WFI.
    virtual bool run(rv64::Hart& h, uint64_t budget) = 0;
    virtual uint64_t retired() const = 0;
    virtual std::string summary() const = 0;  // engine counters, one line, for `trapeze run`'s stats
    virtual rv64::interp::CodeCache& cache() = 0;  // its decoded blocks (CodeCoherence watches them)
};

// Both engines have the same shape (attach, run -> Exit::{Budget, Wfi}, retired).
template <typename Engine>
class EngineAdapter final : public HartEngine {
public:
    explicit EngineAdapter(std::unique_ptr<Engine> engine) : m_engine(std::move(engine)) {}
    void attach(rv64::Hart& h) override { m_engine->attach(h); }
    bool run(rv64::Hart& h, uint64_t budget) override { return m_engine->run(h, budget) == Engine::Exit::Budget; }
    uint64_t retired() const override { return m_engine->retired(); }
    std::string summary() const override { return m_engine->summary(); }
    rv64::interp::CodeCache& cache() override { return m_engine->cache(); }

private:
    std::unique_ptr<Engine> m_engine;
};

}  // namespace trapeze::machine
