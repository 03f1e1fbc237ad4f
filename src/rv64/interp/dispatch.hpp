// Maps decoded instructions to their semantics, and says which ones end a block.
#pragma once

#include "rv64/decoded_insn.hpp"

namespace trapeze::rv64 {
class Hart;
}

namespace trapeze::rv64::interp {

struct Block;

// Runs b with threaded dispatch; returns how many of its instructions retired (one that
// trapped did not; its trap is taken).
uint64_t execute_block(Hart& h, const Block& b);
// Adds n retired instructions to mcycle and minstret unless mcountinhibit stops them
// (priv spec §3.1.12; cycles = instructions here).
void account_retired(Hart& h, uint64_t n);

ExecFn exec_for(const DecodedInsn& d);

// Threaded dispatch: each instruction's handler runs it and jumps straight to the next
// instruction's handler (one indirect jump per handler, which the host predicts far better
// than one shared call site). `last` selects the variant that ends the block.
ExecFn threaded_for(const DecodedInsn& d, bool last);

// Control transfers, traps and anything that may change translation or privilege end a
// block, so the dispatcher re-checks interrupts and the TLB view. CSR instructions end
// theirs only when the write calls for it (exec_system.cpp: csr_op).
bool ends_block(const DecodedInsn& d);

// CSR instructions also start a block, so every instruction before them has been
// counted in minstret/mcycle when they read or write the counters.
bool starts_block(const DecodedInsn& d);

}  // namespace trapeze::rv64::interp
