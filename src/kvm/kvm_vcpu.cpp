#include "kvm/kvm_vcpu.hpp"

#include "kvm/kvm_abi.hpp"
#include "kvm/kvm_ioctl.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace trapeze::kvm {

RunMapping::RunMapping(RunMapping&& o) noexcept
    : m_run(std::exchange(o.m_run, nullptr)), m_size(std::exchange(o.m_size, 0)) {}

RunMapping& RunMapping::operator=(RunMapping&& o) noexcept {
    if (this != &o) {
        if (m_run != nullptr) ::munmap(m_run, m_size);
        m_run = std::exchange(o.m_run, nullptr);
        m_size = std::exchange(o.m_size, 0);
    }
    return *this;
}

RunMapping::~RunMapping() {
    if (m_run != nullptr) ::munmap(m_run, m_size);
}

Result<KvmVcpu> KvmVcpu::create(const KvmSystem& sys, const KvmVm& vm, uint32_t id) {
    UniqueFd fd(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
    if (!fd.valid()) return make_error("KVM_CREATE_VCPU {}: {}", id, strerror(errno));
    void* p = ::mmap(nullptr, sys.vcpu_mmap_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) return make_error("mmap kvm_run of vCPU {}: {}", id, strerror(errno));
    return KvmVcpu(std::move(fd), RunMapping(static_cast<kvm_run*>(p), sys.vcpu_mmap_size()), id);
}

Result<kvm_regs> KvmVcpu::get_regs() const {
    kvm_regs regs{};
    if (::ioctl(m_fd.get(), KVM_GET_REGS, &regs) < 0) return make_error("KVM_GET_REGS: {}", strerror(errno));
    return regs;
}

Result<void> KvmVcpu::set_regs(const kvm_regs& regs) {
    if (::ioctl(m_fd.get(), KVM_SET_REGS, &regs) < 0) return make_error("KVM_SET_REGS: {}", strerror(errno));
    return ok();
}

Result<kvm_sregs> KvmVcpu::get_sregs() const {
    kvm_sregs sregs{};
    if (::ioctl(m_fd.get(), KVM_GET_SREGS, &sregs) < 0) return make_error("KVM_GET_SREGS: {}", strerror(errno));
    return sregs;
}

Result<void> KvmVcpu::set_sregs(const kvm_sregs& sregs) {
    if (::ioctl(m_fd.get(), KVM_SET_SREGS, &sregs) < 0) return make_error("KVM_SET_SREGS: {}", strerror(errno));
    return ok();
}

Result<void> KvmVcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
    abi::FlexRequest<kvm_cpuid_entry2> request(static_cast<uint32_t>(entries.size()));
    std::memcpy(request.entries(), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    if (::ioctl(m_fd.get(), abi::kSetCpuid2, request.data()) < 0)
        return make_error("KVM_SET_CPUID2: {}", strerror(errno));
    return ok();
}

Result<void> KvmVcpu::set_msrs(const std::vector<kvm_msr_entry>& msrs) {
    abi::FlexRequest<kvm_msr_entry> request(static_cast<uint32_t>(msrs.size()));
    std::memcpy(request.entries(), msrs.data(), msrs.size() * sizeof(kvm_msr_entry));
    // KVM_SET_MSRS returns how many MSRs it set (§4.19).
    const int n = ::ioctl(m_fd.get(), abi::kSetMsrs, request.data());
    if (n < 0 || static_cast<size_t>(n) != msrs.size())
        return make_error("KVM_SET_MSRS: set {} of {} MSRs ({})", n, msrs.size(), strerror(errno));
    return ok();
}

Result<kvm_mp_state> KvmVcpu::get_mp_state() const {
    return detail::ioctl_get<kvm_mp_state>(m_fd.get(), KVM_GET_MP_STATE, "KVM_GET_MP_STATE");
}

Result<void> KvmVcpu::set_mp_state(const kvm_mp_state& state) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_MP_STATE, "KVM_SET_MP_STATE", state);
}

Result<kvm_fpu> KvmVcpu::get_fpu() const {
    return detail::ioctl_get<kvm_fpu>(m_fd.get(), KVM_GET_FPU, "KVM_GET_FPU");
}

Result<void> KvmVcpu::set_fpu(const kvm_fpu& fpu) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_FPU, "KVM_SET_FPU", fpu);
}

Result<std::vector<uint8_t>> KvmVcpu::get_xsave(size_t size) const {
    const bool xsave2 = size > abi::kXsaveSize;
    std::vector<uint8_t> area(std::max(size, abi::kXsaveSize), 0);
    if (::ioctl(m_fd.get(), xsave2 ? abi::kGetXsave2 : abi::kGetXsave, area.data()) < 0)
        return make_error("{}: {}", xsave2 ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE", strerror(errno));
    return area;
}

Result<void> KvmVcpu::set_xsave(std::span<const uint8_t> xsave) {
    if (xsave.size() < abi::kXsaveSize)
        return make_error("KVM_SET_XSAVE: {} bytes, need {}", xsave.size(), abi::kXsaveSize);
    if (::ioctl(m_fd.get(), abi::kSetXsave, const_cast<uint8_t*>(xsave.data())) < 0)
        return make_error("KVM_SET_XSAVE: {}", strerror(errno));
    return ok();
}

Result<kvm_xcrs> KvmVcpu::get_xcrs() const {
    return detail::ioctl_get<kvm_xcrs>(m_fd.get(), KVM_GET_XCRS, "KVM_GET_XCRS");
}

Result<void> KvmVcpu::set_xcrs(const kvm_xcrs& xcrs) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_XCRS, "KVM_SET_XCRS", xcrs);
}

Result<kvm_debugregs> KvmVcpu::get_debugregs() const {
    return detail::ioctl_get<kvm_debugregs>(m_fd.get(), KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS");
}

Result<void> KvmVcpu::set_debugregs(const kvm_debugregs& regs) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", regs);
}

Result<kvm_lapic_state> KvmVcpu::get_lapic() const {
    return detail::ioctl_get<kvm_lapic_state>(m_fd.get(), KVM_GET_LAPIC, "KVM_GET_LAPIC");
}

Result<void> KvmVcpu::set_lapic(const kvm_lapic_state& lapic) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_LAPIC, "KVM_SET_LAPIC", lapic);
}

Result<kvm_vcpu_events> KvmVcpu::get_vcpu_events() const {
    return detail::ioctl_get<kvm_vcpu_events>(m_fd.get(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS");
}

Result<void> KvmVcpu::set_vcpu_events(const kvm_vcpu_events& events) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", events);
}

Result<size_t> KvmVcpu::get_msrs(std::vector<kvm_msr_entry>& msrs) const {
    abi::FlexRequest<kvm_msr_entry> request(static_cast<uint32_t>(msrs.size()));
    std::memcpy(request.entries(), msrs.data(), msrs.size() * sizeof(kvm_msr_entry));
    const int n = ::ioctl(m_fd.get(), abi::kGetMsrs, request.data());
    if (n < 0) return make_error("KVM_GET_MSRS ({} MSRs): {}", msrs.size(), strerror(errno));
    std::memcpy(msrs.data(), request.entries(), msrs.size() * sizeof(kvm_msr_entry));
    return static_cast<size_t>(n);
}

Result<size_t> KvmVcpu::set_msrs_counted(std::span<const kvm_msr_entry> msrs) {
    abi::FlexRequest<kvm_msr_entry> request(static_cast<uint32_t>(msrs.size()));
    std::memcpy(request.entries(), msrs.data(), msrs.size() * sizeof(kvm_msr_entry));
    const int n = ::ioctl(m_fd.get(), abi::kSetMsrs, request.data());
    if (n < 0) return make_error("KVM_SET_MSRS ({} MSRs): {}", msrs.size(), strerror(errno));
    return static_cast<size_t>(n);
}

Result<uint32_t> KvmVcpu::get_tsc_khz() const {
    const int khz = ::ioctl(m_fd.get(), KVM_GET_TSC_KHZ, 0);
    if (khz < 0) return make_error("KVM_GET_TSC_KHZ: {}", strerror(errno));
    return static_cast<uint32_t>(khz);
}

Result<void> KvmVcpu::set_tsc_khz(uint32_t khz) {
    if (::ioctl(m_fd.get(), KVM_SET_TSC_KHZ, static_cast<unsigned long>(khz)) < 0)
        return make_error("KVM_SET_TSC_KHZ {}: {}", khz, strerror(errno));
    return ok();
}

Result<void> KvmVcpu::set_guest_debug(const kvm_guest_debug& dbg) {
    TRAPEZE_TRY(detail::ioctl_set(m_fd.get(), KVM_SET_GUEST_DEBUG, "KVM_SET_GUEST_DEBUG", dbg));
    m_guest_debug = dbg.control;
    return ok();
}

Result<bool> KvmVcpu::run() {
    if (::ioctl(m_fd.get(), KVM_RUN, 0) == 0) return true;
    if (errno == EINTR || errno == EAGAIN) return false;
    return make_error("KVM_RUN on vCPU {}: {}", m_id, strerror(errno));
}

}  // namespace trapeze::kvm
