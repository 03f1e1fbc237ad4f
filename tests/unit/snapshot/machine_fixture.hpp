// A tiny RISC-V machine for snapshot tests: a bare-metal ELF (--bios none) whose harts each
// count in a word of RAM forever, 4 MiB of RAM, the interpreter or the JIT, harts in turn.
// Used by the machine tests and to write the snapshot fuzzer's seeds.
#pragma once

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arch/riscv64/board.hpp"
#include "base/bits.hpp"
#include "machine/host_console.hpp"
#include "machine/machine_config.hpp"
#include "machine/riscv_machine.hpp"
#include "rv64/isa/encoding.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {

using machine::MachineConfig;
using machine::RiscvMachine;

inline constexpr uint64_t kEntry = arch::riscv64::kRamBase;
inline constexpr uint64_t kCounters = kEntry + 0x10000;  // hart i counts in the u64 at + 8 * i
inline constexpr uint64_t kMachineMib = 4;

// Hart i (a0 = hartid at reset) increments the u64 at kCounters + 8 * i in a loop.
inline std::vector<uint32_t> counting_program() {
    using namespace rv64;
    return {
        (0x10u << 12) | (5u << 7) | 0x17,  // auipc t0, 0x10        t0 = kCounters
        enc_i(3, 10, 1, 11, 0x13),          // slli  a1, a0, 3
        enc_r(0, 11, 5, 0, 5, 0x33),        // add   t0, t0, a1
        enc_i(0, 5, 3, 6, 0x03),            // loop: ld t1, 0(t0)
        enc_i(1, 6, 0, 6, 0x13),            //       addi t1, t1, 1
        enc_s(0, 6, 5, 3, 0x23),            //       sd t1, 0(t0)
        enc_j(-12, 0),                      //       j loop
    };
}

// An ELF64 RISC-V executable with one PT_LOAD of `code` at kEntry.
inline std::vector<uint8_t> elf_of(const std::vector<uint32_t>& code) {
    std::vector<uint8_t> payload(code.size() * 4);
    for (size_t i = 0; i < code.size(); ++i) store_le<uint32_t>(payload.data() + 4 * i, code[i]);
    const uint64_t ph_off = sizeof(Elf64_Ehdr), data_off = ph_off + sizeof(Elf64_Phdr);
    std::vector<uint8_t> f(data_off + payload.size());
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_RISCV;
    eh.e_version = EV_CURRENT;
    eh.e_entry = kEntry;
    eh.e_phoff = ph_off;
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = PF_R | PF_X;
    ph.p_offset = data_off;
    ph.p_vaddr = kEntry;
    ph.p_paddr = kEntry;
    ph.p_filesz = payload.size();
    ph.p_memsz = payload.size();
    std::memcpy(f.data(), &eh, sizeof eh);
    std::memcpy(f.data() + ph_off, &ph, sizeof ph);
    std::memcpy(f.data() + data_off, payload.data(), payload.size());
    return f;
}

// The board the tests build: no disks, no network, virtio-rng unless told otherwise.
inline MachineConfig tiny_config(const std::string& kernel, machine::Engine engine = machine::Engine::Interp,
                                 unsigned cpus = 1, bool rng = true) {
    MachineConfig cfg;
    cfg.engine = engine;
    cfg.kernel = kernel;
    cfg.bios = std::nullopt;
    cfg.memory_mib = kMachineMib;
    cfg.cpus = cpus;
    cfg.deterministic = true;  // harts in turn on run()'s thread
    cfg.rng = rng;
    cfg.stats = false;
    return cfg;
}

// Guest output goes to /dev/null; the console is never start()ed, so nothing reads stdin.
struct NullConsole {
    NullConsole() : fd(::open("/dev/null", O_WRONLY | O_CLOEXEC)), console(fd) {}
    ~NullConsole() {
        console.stop();
        ::close(fd);
    }
    int fd;
    machine::HostConsole console;
};

// Runs a machine on a thread of its own until stop() (Ctrl-A x, as the console would).
class Runner {
public:
    Runner(RiscvMachine& m, machine::HostConsole& console) : m_console(console) {
        m_thread = std::thread([&m, this] { m_result = m.run(); });
    }
    ~Runner() { stop(); }
    machine::RunResult stop() {
        if (m_thread.joinable()) {
            m_console.request_quit();
            m_thread.join();
        }
        return m_result;
    }

private:
    machine::HostConsole& m_console;
    std::thread m_thread;
    machine::RunResult m_result;
};

inline uint64_t counter_in(const std::string& memory_path, unsigned hart) {
    const auto mem = read_bytes(memory_path);
    const uint64_t off = kCounters - kEntry + 8 * hart;
    return mem.size() >= off + 8 ? load_le<uint64_t>(mem.data() + off) : 0;
}

// Lets `m` (running on a Runner) count, pauses it and saves a snapshot once every hart h has
// counted past above[h] (0 if not given); the machine stays paused. Retries while the run
// loop has not got going yet.
inline void save_while_running(RiscvMachine& m, unsigned cpus, const machine::SnapshotTarget& target,
                               const std::vector<uint64_t>& above = {}) {
    for (int attempt = 0; attempt < 500; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        m.pause();
        auto saved = m.save_snapshot(target);
        ASSERT_TRUE(saved.ok()) << saved.error().message;
        bool all = true;
        for (unsigned h = 0; h < cpus; ++h) all = all && counter_in(target.memory_path, h) > (h < above.size() ? above[h] : 0);
        if (all) return;
        m.resume();
    }
    FAIL() << "the guest never counted";
}

}  // namespace trapeze::snapshot::test
