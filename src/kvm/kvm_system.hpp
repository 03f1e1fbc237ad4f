// KvmSystem: the open /dev/kvm (the "system" file descriptor of the KVM API).
//
// open() is where an unusable KVM is diagnosed: a missing device node, missing permissions,
// an API version other than 12, or a missing capability each produce one message naming the
// reason (KVM API documentation, §4.1 KVM_GET_API_VERSION, §4.4 KVM_CHECK_EXTENSION).
//
// Thread: any; the object is immutable after open().
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze::kvm {

class KvmSystem {
public:
    static constexpr const char* kDefaultPath = "/dev/kvm";
    static constexpr int kApiVersion = 12;  // KVM API doc §4.1: the only stable version

    static Result<KvmSystem> open(const std::string& path = kDefaultPath);

    int fd() const { return m_fd.get(); }
    // KVM_CHECK_EXTENSION: 0 if unsupported, otherwise a capability-specific positive value.
    int check_extension(long cap) const;
    // Size of the shared kvm_run area each vCPU fd maps (§4.5 KVM_GET_VCPU_MMAP_SIZE).
    size_t vcpu_mmap_size() const { return m_vcpu_mmap_size; }
    // Every CPUID leaf the host and KVM can offer a guest (§4.46 KVM_GET_SUPPORTED_CPUID).
    Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
    // The MSRs KVM can save and restore for a guest (§4.3 KVM_GET_MSR_INDEX_LIST).
    Result<std::vector<uint32_t>> msr_index_list() const;

private:
    KvmSystem(UniqueFd fd, size_t mmap_size) : m_fd(std::move(fd)), m_vcpu_mmap_size(mmap_size) {}

    UniqueFd m_fd;
    size_t m_vcpu_mmap_size = 0;
};

}  // namespace trapeze::kvm
