// The RISC-V target's monitor commands (gdb/riscv_monitor.hpp) on a real (tiny) machine that
// has not run: `info tlb` over page tables a guest shaped against it ends, and says what it
// left out.
#include "gdb/riscv_monitor.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../snapshot/machine_fixture.hpp"
#include "rv64/csr.hpp"

namespace trapeze::gdb {
namespace {

using snapshot::test::kEntry;
using snapshot::test::NullConsole;
using snapshot::test::RiscvMachine;
using snapshot::test::TempDir;

constexpr uint64_t kTables = kEntry + 0x100000;  // page tables, 4 KiB apart, in the 4 MiB of RAM
constexpr uint64_t kPteV = 1, kPteR = 2, kPteW = 4, kPteX = 8;

class RiscvMonitorTest : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string kernel = dir.path("count.elf");
        snapshot::test::write_bytes(kernel, snapshot::test::elf_of(snapshot::test::counting_program()));
        auto m = RiscvMachine::create(snapshot::test::tiny_config(kernel), null.console);
        ASSERT_TRUE(m.ok()) << m.error().message;
        machine = std::move(*m);
    }

    uint64_t table(unsigned n) const { return kTables + 0x1000 * uint64_t{n}; }
    static uint64_t pointer_to(uint64_t table) { return ((table >> 12) << 10) | kPteV; }
    void set_pte(uint64_t table, unsigned index, uint64_t pte) {
        ASSERT_TRUE(machine->memory().write(Gpa(table + 8 * index), std::span(reinterpret_cast<uint8_t*>(&pte), 8)));
    }
    void fill(uint64_t table, uint64_t pte) {
        for (unsigned i = 0; i < 512; ++i) set_pte(table, i, pte);
    }
    void use_root(uint64_t mode, uint64_t root) { machine->hart(0).s.satp = (mode << 60) | (root >> 12); }
    std::string monitor(std::string_view command) {
        const auto out = riscv_monitor(*machine, command);
        EXPECT_TRUE(out) << command;
        return out.value_or("");
    }

    TempDir dir;
    NullConsole null;
    std::unique_ptr<RiscvMachine> machine;
};

// A root whose every free entry points back to itself (a recursive mapping, as some kernels
// keep): the hardware walk stops after three levels, the dump must not recurse 512^N times.
TEST_F(RiscvMonitorTest, InfoTlbDoesNotFollowARecursiveMapping) {
    fill(table(0), pointer_to(table(0)));
    set_pte(table(0), 2, ((0x80000000 >> 12) << 10) | kPteV | kPteR | kPteW | kPteX);  // a 1 GiB page
    use_root(rv64::csr::SATP_MODE_SV39, table(0));
    const std::string out = monitor("info tlb");
    EXPECT_NE(out.find("0000000080000000-00000000bfffffff -> 0x0080000000 rwx"), std::string::npos) << out;
    EXPECT_NE(out.find("(511 entries point back to a table on their own walk"), std::string::npos) << out;
    EXPECT_EQ(out.find("cut"), std::string::npos) << out;
}

// Sv57, each level's 512 entries all pointing to the same next table: 512^4 last-level tables
// to read without a bound. The dump stops after its bound, and says so.
TEST_F(RiscvMonitorTest, InfoTlbCutsAWalkThatWouldNotEnd) {
    for (unsigned level = 0; level < 4; ++level) fill(table(level), pointer_to(table(level + 1)));
    fill(table(4), ((0x80000000 >> 12) << 10) | kPteV | kPteR);
    use_root(rv64::csr::SATP_MODE_SV57, table(0));
    const std::string out = monitor("info tlb 0");
    EXPECT_NE(out.find("hart 0: satp 0xa"), std::string::npos) << out.substr(0, 200);
    EXPECT_NE(out.find("(walk cut after 16384 tables: the dump is incomplete)\n"), std::string::npos)
        << out.substr(out.size() > 400 ? out.size() - 400 : 0);
}

// gdb's `monitor help` shows these after the session's own phys, sstep and help.
TEST_F(RiscvMonitorTest, HelpListsTheBoardsCommands) {
    const std::string out = monitor("help");
    for (const char* command : {"info mtree ", "info harts ", "info tlb [HART] ", "info mem [HART] "})
        EXPECT_NE(out.find(command), std::string::npos) << command << " missing from:\n" << out;
}

}  // namespace
}  // namespace trapeze::gdb
