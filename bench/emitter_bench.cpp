// How fast the translator emits x86-64 for real guest code: every block of the first MiB of
// instructions in Debian's riscv64 kernel (the Image tools/fetch-guest keeps), decoded as the
// interpreter decodes them and translated one region per block, as the translator thread does
// for a block that does not loop back to itself. Run:
//   build/bench/emitter_bench [--benchmark_repetitions=5]
// `time_per_insn` is the time per guest instruction translated. The translator's speed decides
// how long a hot block runs interpreted while its translation waits in the queue (a kernel boot
// asks for tens of thousands of translations in bursts, a gcc compile for 190 K).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "base/guest_clock.hpp"
#include "bus/mmio_bus.hpp"
#include "machine/guest_cache.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/hart.hpp"
#include "rv64/interp/code_cache.hpp"
#include "rv64/jit/emitter.hpp"
#include "rv64/jit/exit_slot.hpp"
#include "rv64/jit/layout.hpp"

namespace trapeze::rv64 {
namespace {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kKernelBase = kRamBase + 0x200000;  // fw_jump's FW_JUMP_ADDR, where it runs
constexpr uint64_t kTextBytes = 1 << 20;               // the Image's first MiB: its text
constexpr size_t kSlots = size_t{1} << 22;

// TRAPEZE_GUEST_DIR, as the guest tests take it, else tools/fetch-guest's cache.
std::string kernel_image() {
    if (const char* dir = std::getenv("TRAPEZE_GUEST_DIR")) return std::string(dir) + "/Image";
    return (machine::default_guest_dir() / "Image").string();
}

// The kernel's first MiB in guest RAM, decoded into blocks back to back.
struct KernelBlocks {
    KernelBlocks() : mem(GuestMemory::create(Gpa(kRamBase), 64 << 20).value()), hart(HartConfig{0, true}, mem, bus, clock), cache(mem) {
        std::ifstream in(kernel_image(), std::ios::binary);
        std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (image.size() < kTextBytes) return;
        std::memcpy(mem.span(Gpa(kKernelBase), kTextBytes).data(), image.data(), kTextBytes);
        cache.attach(hart);
        std::lock_guard lock(cache.mutex());
        for (uint64_t pa = kKernelBase; pa < kKernelBase + kTextBytes;) {
            const interp::Block* b = cache.build(pa, hart);
            uint64_t bytes = 0;
            for (const DecodedInsn& d : b->insns) bytes += d.len;
            blocks.push_back(b);
            insns += b->insns.size();
            pa += bytes;
        }
    }
    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
    interp::CodeCache cache;
    std::vector<const interp::Block*> blocks;
    uint64_t insns = 0;
};

void BM_EmitKernelBlocks(benchmark::State& state) {
    static KernelBlocks k;
    if (k.blocks.empty()) {
        state.SkipWithError(("no kernel Image at " + kernel_image() + " (tools/fetch-guest fetches it)").c_str());
        return;
    }
    jit::SlotArena slots(kSlots);
    jit::Emitter emitter(jit::Layout::of(k.hart), slots, 65535);
    jit::Emitter::Stats stats;
    uint64_t insns = 0, bytes = 0;
    for (auto _ : state) {
        for (const interp::Block* b : k.blocks) {
            if (slots.free() < 4096) {
                state.PauseTiming();
                slots.clear();
                state.ResumeTiming();
            }
            bytes += emitter.emit_region({&b, 1}, stats).size();
        }
        insns += k.insns;
    }
    state.counters["blocks"] = static_cast<double>(k.blocks.size());
    state.counters["time_per_insn"] = benchmark::Counter(static_cast<double>(insns), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["bytes_per_insn"] = static_cast<double>(bytes) / static_cast<double>(insns);
}
BENCHMARK(BM_EmitKernelBlocks)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace trapeze::rv64

BENCHMARK_MAIN();
