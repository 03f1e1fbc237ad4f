// LR/SC sequences (unpriv spec §8.2, §8.3): which LRs start a sequence whose SC may succeed.
//
// SC is a compare-and-swap against the value its LR read (exec_a.cpp, the JIT's emit_sc), so
// another hart storing the same value back in between (A to B to A) does not fail it. That is
// exact when the hart itself makes no explicit memory access between the LR and the SC, and
// does not trap: an SC whose CAS still finds the value is then explained by an RVWMO execution
// in which the LR read the latest store of that value and sits just before the SC in global
// memory order (the hart's registers depend only on the value, and the CAS is a full barrier,
// so everything after it in program order is after it on the host too). Constrained sequences
// are of that kind (§8.3: at most 16 instructions; between LR and SC nothing but base-I
// computation and forward branches, or branches that leave the sequence). Any other sequence
// is unconstrained, and §8.3 lets every SC of one fail: such an LR makes no reservation at
// all. Real software (Linux, GCC's and LLVM's atomics, Go's runtime, OpenSBI) uses
// constrained sequences only.
//
// The verdict is computed once per LR and kept in its DecodedInsn::imm (an LR has no
// immediate): see kLrUnconstrained, kLrUndecided; a positive value is the byte offset of the
// SC that ends its constrained sequence.
#pragma once

#include <cstdint>
#include <span>

namespace trapeze::rv64 {

// No constrained sequence starts here: the LR loads, and leaves no reservation.
constexpr int32_t kLrUnconstrained = 0;
// Not known when the LR was decoded (decode() leaves every LR so; the code cache classifies
// only within the LR's page): the LR classifies its sequence when it runs.
constexpr int32_t kLrUndecided = -1;

// The longest constrained loop, LR and SC included (§8.3), and the bytes after a 4-byte LR
// that a classification may read.
constexpr unsigned kLrScMaxInsns = 16;
constexpr unsigned kLrScScanBytes = (kLrScMaxInsns - 1) * 4;

// Classifies the LR (`lr_len` bytes long) by the 16-bit parcels that follow it in memory:
// the offset of its SC if the sequence is constrained, else kLrUnconstrained. `parcels` may
// end before the scan does (the end of a page, a fetch that would fault): then `beyond`.
//
// Constrained here: an SC among the next 15 instructions, and before it only instructions
// that access no memory and make no loop: integer computation (RV64I, M, Zba/Zbb/Zbs, lui,
// auipc), floating-point computation (no loads or stores: they are as exact as integer ones),
// and branches and `jal x0` that go forward to one of those instructions or to the SC, or
// leave the sequence (past the SC: a compare-and-swap's failure path; to the LR or before
// it). A sequence left by a jump keeps its reservation, so code that reaches an SC after
// that without an LR of its own is compared by value again: real code has none (an LR/SC
// loop's exits and retries run no SC before the next LR).
int32_t classify_lr(unsigned lr_len, std::span<const uint16_t> parcels, int32_t beyond);

}  // namespace trapeze::rv64
