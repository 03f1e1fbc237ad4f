// Guest MIPS of the two RISC-V engines on a CPU-bound guest loop (integer, memory and
// branch heavy), run in the same invocation so their ratio is meaningful:
//   build-*/bench/jit_bench --benchmark_counters_tabular=true
// `MIPS` is guest instructions retired per second of wall time, in millions.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>

#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/interpreter.hpp"
#include "rv64/isa/encoding.hpp"
#include "rv64/jit/jit.hpp"

namespace trapeze::rv64 {
namespace {

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kData = kBase + 0x10000;
constexpr uint64_t kBudget = 2'000'000;  // instructions per benchmark iteration

constexpr uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
constexpr uint32_t andi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 7, rd, 0x13); }
constexpr uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 3, rd, 0x03); }
constexpr uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 3, 0x23); }
constexpr uint32_t add(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(0, rs2, rs1, 0, rd, 0x33); }
constexpr uint32_t xor_(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(0, rs2, rs1, 4, rd, 0x33); }
constexpr uint32_t mul(uint32_t rd, uint32_t rs1, uint32_t rs2) { return enc_r(1, rs2, rs1, 0, rd, 0x33); }
constexpr uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 0); }
constexpr uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 1); }

// for (;;) for (i = 0; i < 1024; ++i) { v = a[i]; s += v; v = s ^ i * k; if (v & 1) s += 3; a[i] = v; }
constexpr uint32_t kProgram[] = {
    addi(5, 0, 0),       // 0x00 outer:
    addi(12, 10, 0),     // 0x04   p = a
    addi(13, 0, 1024),   // 0x08   n
    ld(14, 12, 0),       // 0x0c inner: v = *p
    add(15, 15, 14),     // 0x10   s += v
    mul(16, 13, 11),     // 0x14   n * k
    xor_(14, 15, 16),    // 0x18   v = s ^ n * k
    andi(16, 14, 1),     // 0x1c
    beq(16, 0, 8),       // 0x20   if (v & 1)
    addi(15, 15, 3),     // 0x24     s += 3
    sd(14, 12, 0),       // 0x28   *p = v
    addi(12, 12, 8),     // 0x2c
    addi(13, 13, -1),    // 0x30
    bne(13, 0, -0x28),   // 0x34   -> inner
    enc_j(-0x38, 0),     // 0x38   -> outer
};

struct Guest {
    Guest() : mem(GuestMemory::create(Gpa(kBase), 1 << 20).value()), hart(HartConfig{0, true}, mem, bus, clock) {
        for (size_t i = 0; i < std::size(kProgram); ++i) store_le<uint32_t>(mem.span(Gpa(kBase + 4 * i), 4).data(), kProgram[i]);
        hart.s.pc = kBase;
        hart.s.x[10] = kData;
        hart.s.x[11] = 0x9e3779b97f4a7c15ull;
    }
    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
};

template <typename Engine>
void run_loop(benchmark::State& state, Guest& g, Engine& engine) {
    uint64_t retired = 0;
    for (auto _ : state) {
        const uint64_t before = engine.retired();
        engine.run(g.hart, kBudget);
        retired += engine.retired() - before;
    }
    state.counters["MIPS"] = benchmark::Counter(static_cast<double>(retired) / 1e6, benchmark::Counter::kIsRate);
}

void BM_InterpLoop(benchmark::State& state) {
    Guest g;
    interp::Interpreter engine(g.mem);
    engine.attach(g.hart);
    run_loop(state, g, engine);
}
BENCHMARK(BM_InterpLoop)->Unit(benchmark::kMillisecond);

void BM_JitLoop(benchmark::State& state) {
    Guest g;
    auto engine = jit::Jit::create(g.mem).value();
    engine->attach(g.hart);
    run_loop(state, g, *engine);
}
BENCHMARK(BM_JitLoop)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace trapeze::rv64

BENCHMARK_MAIN();
