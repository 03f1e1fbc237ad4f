#include "kvm/kvm_vcpu.hpp"

#include "kvm/kvm_abi.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>

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

Result<bool> KvmVcpu::run() {
    if (::ioctl(m_fd.get(), KVM_RUN, 0) == 0) return true;
    if (errno == EINTR || errno == EAGAIN) return false;
    return make_error("KVM_RUN on vCPU {}: {}", m_id, strerror(errno));
}

}  // namespace trapeze::kvm
