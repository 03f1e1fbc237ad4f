// Interpreter: the `--engine interp` CPU engine. Runs harts block by block from the
// CodeCache, taking interrupts at block boundaries.
//
// Thread: the machine's hart thread; harts of one machine take turns on it.
#pragma once

#include <cstdint>

#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"

namespace trapeze::rv64::interp {

class Interpreter {
public:
    enum class Exit { Budget, Wfi };

    explicit Interpreter(GuestMemory& mem);

    void attach(Hart& h);
    // Runs h for about `budget` instructions, or until it waits in WFI.
    Exit run(Hart& h, uint64_t budget);

    uint64_t retired() const { return m_retired; }
    CodeCache& cache() { return m_cache; }

private:
    struct Lookup {
        Block* block;
        bool faulted;
    };
    Lookup lookup(Hart& h);
    uint64_t execute(Hart& h, const Block& b);
    uint64_t execute_traced(Hart& h, const Block& b);
    uint64_t step_crossing(Hart& h);
    void account(Hart& h, uint64_t n);

    CodeCache m_cache;
    uint64_t m_retired = 0;
    bool m_trace = false;
};

}  // namespace trapeze::rv64::interp
