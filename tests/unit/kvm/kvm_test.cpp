// The KVM wrappers against the real /dev/kvm: a few real-mode instructions whose port writes
// must reach the run loop's VcpuIo, byte for byte. Skipped (with the reason) without KVM.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "kvm/kvm_state.hpp"
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

// A vCPU's state saved, encoded, decoded and restored into a vCPU of another VM reads back the
// same: registers, the XSAVE area (its MXCSR and XMM0 set to a pattern first: the test guest
// cannot use SSE on every host), every MSR KVM saved (restore_vcpu refuses to drop any), the
// LAPIC and the VM's irqchip and PIT.
TEST(KvmState, VcpuAndVmStateRoundTripThroughTheEncoding) {
    auto sys = KvmSystem::open();
    if (!sys.ok()) GTEST_SKIP() << sys.error().message;
    auto msrs = sys->msr_index_list();
    ASSERT_TRUE(msrs.ok()) << msrs.error().message;
    auto cpuid = sys->supported_cpuid();
    ASSERT_TRUE(cpuid.ok()) << cpuid.error().message;
    auto make = [&](KvmVm& vm) {
        auto vcpu = KvmVcpu::create(*sys, vm, 0);
        EXPECT_TRUE(vcpu.ok()) << vcpu.error().message;
        EXPECT_TRUE(vcpu->set_cpuid(*cpuid).ok());
        return std::move(*vcpu);
    };
    auto vm1 = KvmVm::create(*sys);
    ASSERT_TRUE(vm1.ok()) << vm1.error().message;
    KvmVcpu a = make(*vm1);
    const auto caps = VcpuStateCaps::of(*vm1);

    kvm_regs regs{};
    regs.rip = 0x1234;
    regs.rax = 0xfeedface;
    regs.rflags = 2;
    ASSERT_TRUE(a.set_regs(regs).ok());
    constexpr uint32_t kMxcsr = 0x7f80;  // legacy area offset 24 (Intel SDM Vol. 1 §10.5.1)
    if (caps.xsave_size > 0) {
        auto xsave = a.get_xsave(caps.xsave_size);
        ASSERT_TRUE(xsave.ok()) << xsave.error().message;
        std::memcpy(xsave->data() + 24, &kMxcsr, 4);
        for (size_t i = 0; i < 16; ++i) (*xsave)[160 + i] = static_cast<uint8_t>(0xa0 + i);  // XMM0
        (*xsave)[512] |= 2;  // XSTATE_BV: the SSE state is not in its initial configuration
        ASSERT_TRUE(a.set_xsave(*xsave).ok());
    }

    auto saved = save_vcpu(a, *msrs, caps);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    auto vm_saved = save_vm(*vm1);
    ASSERT_TRUE(vm_saved.ok()) << vm_saved.error().message;
    snapshot::StateWriter w;
    saved->write(w);
    vm_saved->write(w);
    snapshot::StateReader r(w.data(), "test");
    const VcpuState decoded = VcpuState::read(r);
    const VmState vm_decoded = VmState::read(r);
    ASSERT_TRUE(r.finish().ok()) << r.finish().error().message;

    auto vm2 = KvmVm::create(*sys);
    ASSERT_TRUE(vm2.ok());
    KvmVcpu b = make(*vm2);
    ASSERT_TRUE(restore_vm(*vm2, vm_decoded).ok());
    auto restored = restore_vcpu(b, decoded, caps);
    ASSERT_TRUE(restored.ok()) << restored.error().message;

    auto again = save_vcpu(b, *msrs, caps);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->regs.rip, 0x1234u);
    EXPECT_EQ(again->regs.rax, 0xfeedfaceu);
    EXPECT_EQ(std::memcmp(&again->sregs, &saved->sregs, sizeof saved->sregs), 0);
    EXPECT_EQ(std::memcmp(&again->lapic, &saved->lapic, sizeof saved->lapic), 0);
    EXPECT_EQ(again->msrs.size(), saved->msrs.size());
    if (caps.xsave_size > 0) {
        ASSERT_GE(again->xsave.size(), 512u);
        uint32_t mxcsr = 0;
        std::memcpy(&mxcsr, again->xsave.data() + 24, 4);
        EXPECT_EQ(mxcsr, kMxcsr);
        EXPECT_EQ(again->xsave[160], 0xa0);
        EXPECT_EQ(again->xsave[175], 0xaf);
    }
    auto ioapic = vm2->get_irqchip(KVM_IRQCHIP_IOAPIC);
    ASSERT_TRUE(ioapic.ok());
    EXPECT_EQ(std::memcmp(&ioapic->chip.ioapic, &vm_saved->ioapic.chip.ioapic, sizeof ioapic->chip.ioapic), 0);
}

TEST(KvmState, ATruncatedVcpuStateFailsToDecode) {
    VcpuState s;
    s.msrs.push_back({0x10, 0, 42});
    snapshot::StateWriter w;
    s.write(w);
    auto bytes = w.take();
    bytes.resize(bytes.size() - 3);
    snapshot::StateReader r(bytes, "vcpu");
    VcpuState::read(r);
    EXPECT_FALSE(r.finish().ok());
}

}  // namespace
}  // namespace trapeze::kvm
