// The gdb stub's x86 target (gdb::X86Target) on X86Machine against the real /dev/kvm, with the
// project's test guest: stopped before its first instruction, registers, a software and a
// hardware breakpoint on guest_main, single steps (one over a port write, which PVM would
// otherwise run on past), memory through the page tables and physical, the guest's own int3
// handed back to it, Ctrl-C, two vCPUs, and the guest running to its end after detach.
// Skipped (with the reason) without KVM. The register file and target description are tested
// without KVM.
#include <elf.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/file.hpp"
#include "gdb/x86_target.hpp"
#include "guest_console.hpp"
#include "kvm/kvm_system.hpp"
#include "loader/elf_image.hpp"

namespace trapeze::gdb {
namespace {

using namespace std::chrono_literals;
using Kind = StopReason::Kind;

constexpr unsigned kRax = 0, kRcx = 2, kRbx = 1, kRsp = 7, kRdi = 5, kR10 = 10, kRip = 16, kCr0 = 42, kEfer = 47;
constexpr uint64_t kStartInfo = 0x6000;  // arch/x86_64/layout.hpp: PVH passes it in ebx

using Console = GuestConsole;  // guest_console.hpp

uint64_t value(const std::optional<std::vector<uint8_t>>& bytes) {
    uint64_t v = 0;
    for (size_t i = 0; bytes && i < bytes->size() && i < 8; ++i) v |= uint64_t{(*bytes)[i]} << (8 * i);
    return v;
}

std::vector<uint8_t> le64(uint64_t v) {
    std::vector<uint8_t> b(8);
    for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
}

// One guest: the machine paused before its first instruction with the target attached, run()
// on a thread of its own (it confines its thread with seccomp, which the test's must not be).
class X86Debug : public testing::Test {
protected:
    void SetUp() override {
        if (auto sys = kvm::KvmSystem::open(); !sys.ok()) GTEST_SKIP() << sys.error().message;
        auto data = read_file(X86GUEST_ELF);
        ASSERT_TRUE(data.ok()) << data.error().message;
        auto elf = loader::ElfImage::parse(std::move(*data), EM_X86_64);
        ASSERT_TRUE(elf.ok()) << elf.error().message;
        m_elf.emplace(std::move(*elf));
    }
    void TearDown() override {
        if (m_machine) m_machine->stop();
        if (m_target) m_target->kill();
        if (m_thread.joinable()) m_thread.join();
        m_target.reset();
    }

    uint64_t symbol(const char* name) {
        const auto v = m_elf->symbol(name);
        EXPECT_TRUE(v.has_value()) << name;
        return v.value_or(0);
    }

    void start(const std::string& cmdline, uint32_t cpus = 1) {
        X86Config config;
        config.kernel = X86GUEST_ELF;
        config.cmdline = cmdline;
        config.cpus = cpus;
        config.console_out = m_console.sink();
        auto m = X86Machine::create(config);
        ASSERT_TRUE(m.ok()) << m.error().message;
        m_machine = std::move(*m);
        m_machine->pause_before_run();
        auto t = X86Target::create(*m_machine, true, X86Target::host_fires_data_breakpoints());
        ASSERT_TRUE(t.ok()) << t.error().message;
        m_target = std::move(*t);
        m_thread = std::thread([this] { m_exit = m_machine->run(); });
    }

    // The next stop the target reports once running (take_stop after stop_fd woke).
    std::optional<StopReason> wait_stop() {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{m_target->stop_fd(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            if (auto stop = m_target->take_stop()) return stop;
        }
        return std::nullopt;
    }

    uint64_t reg(unsigned regnum, unsigned thread = 0) { return value(m_target->read_register(thread, regnum)); }

    // Runs to the guest's end: it must power off (exit code 0).
    void expect_runs_to_its_end() {
        m_target->detach();
        m_thread.join();
        EXPECT_EQ(m_exit.reason, X86ExitReason::PowerOff) << m_exit.detail;
        EXPECT_NE(m_console.text().find("x86guest: done"), std::string::npos) << m_console.text();
    }

    std::optional<loader::ElfImage> m_elf;
    Console m_console;
    std::unique_ptr<X86Machine> m_machine;
    std::unique_ptr<X86Target> m_target;
    std::thread m_thread;
    X86Exit m_exit{X86ExitReason::Error, "not run"};
};

TEST_F(X86Debug, StopsBeforeTheFirstInstructionWithThePvhEntryState) {
    start("x86guest.novirtio x86guest.noring3");
    const StopReason stop = m_target->attach();
    EXPECT_EQ(stop.kind, Kind::Signal);
    EXPECT_EQ(stop.signal, 5);
    EXPECT_EQ(m_target->threads(), 1u);
    EXPECT_EQ(reg(kRip), symbol("pvh_start"));
    EXPECT_EQ(reg(kRbx), kStartInfo);
    EXPECT_EQ(reg(kCr0) & 0x80000001, 1u) << "protected mode, paging off";
    EXPECT_EQ(m_target->read_register(0, 17)->size(), 4u) << "eflags is 32 bits";
    EXPECT_EQ(m_target->read_register(0, 24)->size(), 10u) << "st0 is 80 bits";
    EXPECT_EQ(m_target->read_register(0, X86Registers::kCount), std::nullopt);
    EXPECT_NE(m_target->thread_info(0).find("protected mode, CPL 0"), std::string::npos) << m_target->thread_info(0);
    EXPECT_EQ(m_console.text(), "") << "the guest ran before gdb let it";
    expect_runs_to_its_end();
}

TEST_F(X86Debug, SoftwareBreakpointStopsAtEnterMainAndStepsOneInstructionAtATime) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    const uint64_t main = symbol("enter_main");
    uint8_t before[4]{};
    ASSERT_EQ(m_target->read_memory(0, main, before, false), 4u);
    ASSERT_TRUE(m_target->insert_point(PointType::Software, main, 1));
    uint8_t shown[4]{};
    ASSERT_EQ(m_target->read_memory(0, main, shown, true), 4u);
    EXPECT_EQ(std::vector(shown, shown + 4), std::vector(before, before + 4)) << "gdb must see the original bytes";

    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto stop = wait_stop();
    ASSERT_TRUE(stop.has_value());
    EXPECT_EQ(stop->kind, Kind::Breakpoint);
    EXPECT_EQ(stop->point, PointType::Software);
    EXPECT_EQ(reg(kRip), main);
    EXPECT_EQ(reg(kRdi), kStartInfo) << "enter_main(start_info)";
    EXPECT_NE(m_target->thread_info(0).find("64-bit, CPL 0"), std::string::npos) << m_target->thread_info(0);
    EXPECT_EQ((reg(kEfer) >> 10) & 1, 1u) << "long mode active";

    // enter_main begins `mov %rdi,%r10; sub $0x40,%rsp` (tests/x86guest/start.S).
    const uint64_t rsp = reg(kRsp);
    const StopReason first = m_target->step(0, {});
    EXPECT_EQ(first.kind, Kind::Signal);
    EXPECT_EQ(reg(kRip), main + 3);
    EXPECT_EQ(reg(kR10), kStartInfo);
    m_target->step(0, {});
    EXPECT_EQ(reg(kRip), main + 7);
    EXPECT_EQ(reg(kRsp), rsp - 0x40);
    EXPECT_TRUE(m_target->remove_point(PointType::Software, main, 1));
    EXPECT_FALSE(m_target->remove_point(PointType::Software, main, 1)) << "no longer set: an error, as in QEMU";
    uint8_t after[4]{};
    ASSERT_EQ(m_machine->memory().read(Gpa(main), after), true);
    EXPECT_EQ(std::vector(after, after + 4), std::vector(before, before + 4)) << "the int3 stayed in guest memory";
    expect_runs_to_its_end();
}

// The int3 stays inserted: continuing from it must run the original instruction, once.
TEST_F(X86Debug, ContinuingFromABreakpointRunsTheInstructionItReplaced) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    ASSERT_TRUE(m_target->insert_point(PointType::Software, symbol("guest_main"), 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_EQ(wait_stop()->kind, Kind::Breakpoint);
    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto end = wait_stop();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->kind, Kind::Exited);
    EXPECT_EQ(end->exit_code, 0);
    m_thread.join();
    EXPECT_NE(m_console.text().find("x86guest: done"), std::string::npos) << m_console.text();
}

TEST_F(X86Debug, HardwareBreakpointStopsAndContinuesPastItsInstruction) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    const uint64_t target = symbol("power_off");
    EXPECT_FALSE(m_target->remove_point(PointType::Hardware, target, 1)) << "not set: an error, as in QEMU";
    ASSERT_TRUE(m_target->insert_point(PointType::Hardware, target, 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto stop = wait_stop();
    ASSERT_TRUE(stop.has_value());
    EXPECT_EQ(stop->kind, Kind::Breakpoint);
    EXPECT_EQ(stop->point, PointType::Hardware);
    EXPECT_EQ(reg(kRip), target);
    EXPECT_NE(m_console.text().find("x86guest: done"), std::string::npos) << "power_off comes after the last line";
    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto end = wait_stop();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->kind, Kind::Exited);
}

// An OUT to COM1 leaves KVM_RUN for the UART; the step must end right after it.
TEST_F(X86Debug, StepOverAPortWriteStopsAfterIt) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    ASSERT_TRUE(m_target->insert_point(PointType::Software, symbol("guest_main"), 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_EQ(wait_stop()->kind, Kind::Breakpoint);
    for (int i = 0; i < 200; ++i) {
        uint8_t opcode = 0;
        ASSERT_EQ(m_target->read_memory(0, reg(kRip), {&opcode, 1}, false), 1u);
        if (opcode != 0xee) {  // out %al,(%dx)
            m_target->step(0, {});
            continue;
        }
        const uint64_t at = reg(kRip);
        const char byte = static_cast<char>(reg(kRax));
        const std::string printed = m_console.text();
        EXPECT_EQ(m_target->step(0, {}).kind, Kind::Signal);
        EXPECT_EQ(reg(kRip), at + 1);
        EXPECT_EQ(m_console.text(), printed + byte);
        return expect_runs_to_its_end();
    }
    ADD_FAILURE() << "no OUT within 200 instructions of guest_main";
}

// check_uart_irq() waits in `sti; hlt; cli` for COM1's interrupt. A step over the HLT ends
// right after it, and the guest still gets its interrupt when it runs on.
TEST_F(X86Debug, StepOverHltEndsAfterItAndTheInterruptStillComes) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    const uint64_t main = symbol("guest_main");
    std::vector<uint8_t> code(0x2000);
    code.resize(m_target->read_memory(0, main, code, true));
    const uint8_t sti_hlt_cli[] = {0xfb, 0xf4, 0xfa};
    const auto it = std::search(code.begin(), code.end(), std::begin(sti_hlt_cli), std::end(sti_hlt_cli));
    ASSERT_NE(it, code.end()) << "no `sti; hlt; cli` in guest_main";
    const uint64_t hlt = main + static_cast<uint64_t>(it - code.begin()) + 1;
    ASSERT_TRUE(m_target->insert_point(PointType::Software, hlt, 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_EQ(wait_stop()->kind, Kind::Breakpoint);
    ASSERT_EQ(reg(kRip), hlt);
    EXPECT_EQ(m_target->step(0, {}).kind, Kind::Signal);
    EXPECT_EQ(reg(kRip), hlt + 1);
    EXPECT_EQ(m_target->thread_info(0).find("halted"), std::string::npos) << m_target->thread_info(0);
    expect_runs_to_its_end();
    EXPECT_NE(m_console.text().find("x86guest: uart irq 1 "), std::string::npos) << m_console.text();
}

TEST_F(X86Debug, MemoryThroughPageTablesAndPhysical) {
    start("x86guest.novirtio x86guest.noring3 x86guest.tag=AAAA");
    m_target->attach();
    // Before the guest runs its cmdline is where the VMM put it (layout.hpp kCmdlineAddr).
    const std::string tag = "x86guest.tag=";
    std::vector<uint8_t> cmdline(64);
    ASSERT_EQ(m_target->read_memory(0, 0x20000, cmdline, true), cmdline.size());
    const std::string text(cmdline.begin(), cmdline.end());
    const size_t at = text.find(tag + "AAAA");
    ASSERT_NE(at, std::string::npos) << text;
    const uint8_t bbbb[] = {'B', 'B', 'B', 'B'};
    EXPECT_EQ(m_target->write_memory(0, 0x20000 + at + tag.size(), bbbb, true), 4u);

    ASSERT_TRUE(m_target->insert_point(PointType::Software, symbol("guest_main"), 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_EQ(wait_stop()->kind, Kind::Breakpoint);
    // Paging is on (the guest's identity map, 2 MiB pages): virtual and physical agree.
    const uint64_t gdt = symbol("gdt");
    uint8_t virt[16]{}, phys[16]{};
    EXPECT_EQ(m_target->read_memory(0, gdt, virt, false), 16u);
    EXPECT_EQ(m_target->read_memory(0, gdt, phys, true), 16u);
    EXPECT_EQ(std::vector(virt, virt + 16), std::vector(phys, phys + 16));
    EXPECT_EQ(virt[8 + 5] & 0xfe, 0x9a) << "the 64-bit code descriptor's access byte (the CPU sets bit 0, accessed)";
    uint8_t none[8]{};
    EXPECT_EQ(m_target->read_memory(0, 0xffff'8000'0000'0000, none, false), 0u) << "not mapped";
    EXPECT_EQ(m_target->read_memory(0, 0xd000'0000, none, true), 0u) << "MMIO is not RAM";
    EXPECT_EQ(m_target->read_memory(0, m_machine->memory().size() - 4, none, true), 4u) << "stops at RAM's end";
    const auto info = m_target->monitor("info tlb");
    ASSERT_TRUE(info.has_value());
    EXPECT_NE(info->find("0000000000000000-00000000ffffffff -> 0x0000000000 rwxu"), std::string::npos) << *info;
    expect_runs_to_its_end();
    EXPECT_NE(m_console.text().find("x86guest.tag=BBBB"), std::string::npos) << m_console.text();
}

TEST_F(X86Debug, RegisterWritesReachTheVcpu) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    ASSERT_TRUE(m_target->insert_point(PointType::Software, symbol("enter_main"), 1));
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_EQ(wait_stop()->kind, Kind::Breakpoint);
    EXPECT_TRUE(m_target->write_register(0, kRcx, le64(0x1234'5678'9abc'def0)));
    EXPECT_FALSE(m_target->write_register(0, 18, std::vector<uint8_t>{0x23, 0, 0, 0})) << "cs alone cannot be loaded";
    EXPECT_TRUE(m_target->write_register(0, 24, std::vector<uint8_t>(10, 0))) << "st0 stays zero";
    // Read back from KVM, not from the target's cache: a step drops the cache.
    m_target->step(0, {});
    EXPECT_EQ(reg(kRcx), 0x1234'5678'9abc'def0u);
    EXPECT_EQ(reg(kRip), symbol("enter_main") + 3);
    EXPECT_TRUE(m_target->write_register(0, kRip, le64(symbol("enter_main"))));  // `mov %rdi,%r10` again
    m_target->step(0, {});
    EXPECT_EQ(reg(kRip), symbol("enter_main") + 3);
    expect_runs_to_its_end();
}

// The guest's #BP handler counts its own int3s: with our int3s in use (KVM then takes every
// #BP), they must still reach it, and gdb hears nothing of them.
TEST_F(X86Debug, TheGuestsOwnInt3GoesBackToTheGuest) {
    start("x86guest.novirtio x86guest.noring3 x86guest.int3");
    m_target->attach();
    ASSERT_TRUE(m_target->insert_point(PointType::Software, symbol("user_pio_loop"), 1));  // never runs here
    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto end = wait_stop();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->kind, Kind::Exited);
    m_thread.join();
    EXPECT_NE(m_console.text().find("x86guest: int3 handled 2"), std::string::npos) << m_console.text();
}

TEST_F(X86Debug, CtrlCStopsASpinningGuestAndKillEndsIt) {
    start("x86guest.novirtio x86guest.noring3 x86guest.spin");
    m_target->attach();
    m_target->resume(ThreadSet(m_target->threads(), true));
    ASSERT_TRUE(m_console.wait_for("x86guest: spinning"));
    const StopReason stop = m_target->interrupt();
    EXPECT_EQ(stop.kind, Kind::Signal);
    EXPECT_EQ(stop.signal, 2);
    // In guest_main's loop, or still in puts_serial's last instructions.
    EXPECT_LT(reg(kRip) - symbol("pvh_start"), 0x10000u) << "in the guest's code";
    EXPECT_NE(m_target->thread_info(0).find("64-bit, CPL 0"), std::string::npos) << m_target->thread_info(0);
    const std::string frozen = m_console.text();
    m_target->kill();
    m_thread.join();
    EXPECT_EQ(m_exit.reason, X86ExitReason::Stopped);
    EXPECT_EQ(m_console.text(), frozen);
}

// vCPU 1 waits for INIT: a step of it cannot end and is cut short, and the other vCPU must not
// run meanwhile; after detach the BSP starts it.
TEST_F(X86Debug, TwoVcpusAreTwoThreadsAndAStepRunsOnlyOne) {
    start("x86guest.novirtio x86guest.noring3 x86guest.smp", 2);
    m_target->attach();
    ASSERT_EQ(m_target->threads(), 2u);
    EXPECT_NE(m_target->thread_info(1).find("waiting for INIT"), std::string::npos) << m_target->thread_info(1);
    const uint64_t bsp_rip = reg(kRip, 0);
    EXPECT_EQ(m_target->step(1, {}).thread, 1u);
    EXPECT_EQ(reg(kRip, 0), bsp_rip) << "vCPU 0 ran during vCPU 1's step";
    EXPECT_EQ(m_target->step(0, {}).thread, 0u);
    EXPECT_GT(reg(kRip, 0), bsp_rip);
    expect_runs_to_its_end();
    EXPECT_NE(m_console.text().find("x86guest: ap 1 started"), std::string::npos) << m_console.text();
}

// PVM never stops on a data breakpoint, so there the target offers none (gdb then falls back
// to software watchpoints); elsewhere a write watchpoint stops after the store.
TEST_F(X86Debug, WriteWatchpointWhereTheHostFiresThem) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    EXPECT_FALSE(m_target->supports(PointType::Read)) << "x86 has no read-only watchpoint";
    const uint64_t irqs = symbol("g_uart_irqs");
    if (!X86Target::host_fires_data_breakpoints()) {
        EXPECT_FALSE(m_target->supports(PointType::Write));
        EXPECT_FALSE(m_target->insert_point(PointType::Write, irqs, 4));
        return expect_runs_to_its_end();
    }
    ASSERT_TRUE(m_target->insert_point(PointType::Write, irqs, 4));
    m_target->resume(ThreadSet(m_target->threads(), true));
    const auto stop = wait_stop();
    ASSERT_TRUE(stop.has_value());
    EXPECT_EQ(stop->kind, Kind::Watch);
    EXPECT_EQ(stop->data_address, irqs);
    EXPECT_TRUE(m_target->remove_point(PointType::Write, irqs, 4));
    EXPECT_FALSE(m_target->remove_point(PointType::Write, irqs, 4)) << "no longer set: an error, as in QEMU";
    expect_runs_to_its_end();
}

TEST_F(X86Debug, MonitorShowsTheSystemState) {
    start("x86guest.novirtio x86guest.noring3");
    m_target->attach();
    const auto regs = m_target->monitor("info registers 0");
    ASSERT_TRUE(regs.has_value());
    EXPECT_NE(regs->find("cr0 0x"), std::string::npos) << *regs;
    EXPECT_NE(regs->find("efer 0x"), std::string::npos) << *regs;
    const auto mtree = m_target->monitor("info mtree");
    ASSERT_TRUE(mtree.has_value());
    EXPECT_NE(mtree->find("ram (256 MiB)"), std::string::npos) << *mtree;
    EXPECT_EQ(m_target->monitor("info nonsense"), std::nullopt);
    expect_runs_to_its_end();
}

// --- without KVM -------------------------------------------------------------------------------

TEST(X86Registers, DescriptionHasGdbsCoreAndSegmentFeaturesAndOurSystemRegisters) {
    const std::string xml = X86Registers::target_xml();
    EXPECT_NE(xml.find("<architecture>i386:x86-64</architecture>"), std::string::npos);
    EXPECT_NE(xml.find("<feature name=\"org.gnu.gdb.i386.core\">"), std::string::npos);
    EXPECT_NE(xml.find("<reg name=\"fop\" bitsize=\"32\" type=\"int\" regnum=\"39\" group=\"float\"/>"),
              std::string::npos);
    EXPECT_NE(xml.find("<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"40\"/>"), std::string::npos);
    EXPECT_NE(xml.find("<reg name=\"efer\" bitsize=\"64\" type=\"x86_efer\" regnum=\"47\" group=\"system\"/>"),
              std::string::npos);
    EXPECT_EQ(xml.find("org.gnu.gdb.i386.sse"), std::string::npos);
}

TEST(X86Registers, MapsGdbNumbersToKvmState) {
    X86VcpuRegisters r;
    r.regs.rbx = 0x1122334455667788;
    r.regs.rflags = 0x246;
    r.sregs.ss.selector = 0x18;
    r.sregs.gs.base = 0xffff888000000000;
    r.sregs.cr3 = 0x1000;
    EXPECT_EQ(value(X86Registers::read(r, 1)), 0x1122334455667788u);
    EXPECT_EQ(value(X86Registers::read(r, 17)), 0x246u);
    EXPECT_EQ(value(X86Registers::read(r, 19)), 0x18u);
    EXPECT_EQ(value(X86Registers::read(r, 41)), 0xffff888000000000u);
    EXPECT_EQ(value(X86Registers::read(r, 44)), 0x1000u);
    EXPECT_EQ(X86Registers::write(r, 16, le64(0x100000)), X86Registers::Changed::Regs);
    EXPECT_EQ(r.regs.rip, 0x100000u);
    EXPECT_EQ(X86Registers::write(r, 45, le64(0x20)), X86Registers::Changed::Sregs);
    EXPECT_EQ(r.sregs.cr4, 0x20u);
    EXPECT_EQ(X86Registers::write(r, 19, std::vector<uint8_t>{0x18, 0, 0, 0}), X86Registers::Changed::None);
    EXPECT_EQ(X86Registers::write(r, 19, std::vector<uint8_t>{0x10, 0, 0, 0}), std::nullopt);
    EXPECT_EQ(X86Registers::write(r, 32, std::vector<uint8_t>{0x7f, 3, 0, 0}), std::nullopt);
    EXPECT_EQ(X86Registers::write(r, 0, std::vector<uint8_t>(4)), std::nullopt) << "rax is 8 bytes";
}

}  // namespace
}  // namespace trapeze::gdb
