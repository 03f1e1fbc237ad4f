// The KVM wrappers against the real /dev/kvm: a few real-mode instructions whose port writes
// must reach the run loop's VcpuIo, byte for byte. Skipped (with the reason) without KVM.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "kvm/kvm_system.hpp"
#include "kvm/kvm_vcpu.hpp"
#include "kvm/kvm_vm.hpp"
#include "kvm/vcpu_loop.hpp"
#include "memory/guest_memory.hpp"

namespace trapeze::kvm {
namespace {

struct PortWrite {
    uint16_t port;
    std::vector<uint8_t> data;
};

class RecordingIo final : public VcpuIo {
public:
    explicit RecordingIo(std::atomic<bool>& stop) : m_stop(stop) {}
    void pio_read(uint16_t, std::span<uint8_t> data) override { std::memset(data.data(), 0xff, data.size()); }
    void pio_write(uint16_t port, std::span<const uint8_t> data) override {
        writes.push_back({port, {data.begin(), data.end()}});
        if (port == 0x501) m_stop.store(true, std::memory_order_release);
    }
    void mmio_read(uint64_t, std::span<uint8_t> data) override { std::memset(data.data(), 0, data.size()); }
    void mmio_write(uint64_t, std::span<const uint8_t>) override {}

    std::vector<PortWrite> writes;

private:
    std::atomic<bool>& m_stop;
};

TEST(KvmSystem, OpeningAMissingDeviceNamesTheReason) {
    auto sys = KvmSystem::open("/nonexistent/kvm");
    ASSERT_FALSE(sys.ok());
    EXPECT_NE(sys.error().message.find("does not exist"), std::string::npos) << sys.error().message;
}

TEST(KvmVcpu, RealModeOutInstructionsReachTheRunLoop) {
    auto sys = KvmSystem::open();
    if (!sys.ok()) GTEST_SKIP() << sys.error().message;
    auto vm = KvmVm::create(*sys);
    ASSERT_TRUE(vm.ok()) << vm.error().message;
    auto mem = GuestMemory::create(Gpa(0), 1 << 20);
    ASSERT_TRUE(mem.ok());
    ASSERT_TRUE(vm->map_memory(0, Gpa(0), mem->size(), mem->host_base()).ok());

    // mov dx,0x3f8; mov al,'A'; out dx,al; mov al,'B'; out dx,al;
    // mov eax,0x12345678; mov dx,0x501; out dx,eax; hlt
    const std::array<uint8_t, 22> code = {0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xb0, 0x42, 0xee, 0x66, 0xb8,
                                          0x78, 0x56, 0x34, 0x12, 0xba, 0x01, 0x05, 0x66, 0xef, 0xf4, 0xf4};
    ASSERT_TRUE(mem->write(Gpa(0x1000), code));

    auto vcpu = KvmVcpu::create(*sys, *vm, 0);
    ASSERT_TRUE(vcpu.ok()) << vcpu.error().message;
    auto sregs = vcpu->get_sregs();
    ASSERT_TRUE(sregs.ok());
    sregs->cs.base = 0;
    sregs->cs.selector = 0;
    ASSERT_TRUE(vcpu->set_sregs(*sregs).ok());
    kvm_regs regs{};
    regs.rip = 0x1000;
    regs.rflags = 2;  // bit 1 is reserved and reads as 1
    ASSERT_TRUE(vcpu->set_regs(regs).ok());

    std::atomic<bool> stop{false};
    RecordingIo io(stop);
    auto exit = run_vcpu(*vcpu, io, stop);
    ASSERT_TRUE(exit.ok()) << exit.error().message;
    EXPECT_EQ(exit->kind, VcpuExitKind::Stopped) << exit->detail;
    ASSERT_EQ(io.writes.size(), 3u);
    EXPECT_EQ(io.writes[0].port, 0x3f8);
    EXPECT_EQ(io.writes[0].data, std::vector<uint8_t>{'A'});
    EXPECT_EQ(io.writes[1].data, std::vector<uint8_t>{'B'});
    EXPECT_EQ(io.writes[2].port, 0x501);
    EXPECT_EQ(io.writes[2].data, (std::vector<uint8_t>{0x78, 0x56, 0x34, 0x12}));
}

TEST(KvmSystem, SupportedCpuidIncludesTheBasicLeaves) {
    auto sys = KvmSystem::open();
    if (!sys.ok()) GTEST_SKIP() << sys.error().message;
    auto cpuid = sys->supported_cpuid();
    ASSERT_TRUE(cpuid.ok()) << cpuid.error().message;
    bool has_leaf1 = false;
    for (const auto& e : *cpuid) has_leaf1 |= e.function == 1;
    EXPECT_TRUE(has_leaf1);
}

}  // namespace
}  // namespace trapeze::kvm
