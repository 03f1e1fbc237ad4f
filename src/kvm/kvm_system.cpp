#include "kvm/kvm_system.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "kvm/kvm_abi.hpp"

namespace trapeze::kvm {
namespace {

struct RequiredCap {
    long cap;
    const char* name;
};

// What the x86 machine cannot work without.
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
};

Error open_error(const std::string& path, int err) {
    switch (err) {
    case ENOENT:
        return make_error("KVM unavailable: '{}' does not exist (no kvm module loaded, or the host "
                          "has no hardware virtualization enabled)", path);
    case EACCES:
    case EPERM:
        return make_error("KVM unavailable: no permission to open '{}' (add the user to the group "
                          "that owns it, usually 'kvm')", path);
    case ENXIO:
    case ENODEV:
        return make_error("KVM unavailable: '{}' has no driver behind it ({})", path, strerror(err));
    default:
        return make_error("KVM unavailable: open '{}': {}", path, strerror(err));
    }
}

}  // namespace

Result<KvmSystem> KvmSystem::open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) return open_error(path, errno);
    const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
    if (version != kApiVersion)
        return make_error("KVM unavailable: '{}' reports API version {}, need {}", path, version, kApiVersion);
    for (const auto& req : kRequiredCaps) {
        if (::ioctl(fd.get(), KVM_CHECK_EXTENSION, req.cap) <= 0)
            return make_error("KVM unavailable: '{}' lacks {}", path, req.name);
    }
    const int size = ::ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < static_cast<int>(sizeof(kvm_run)))
        return make_error("KVM unavailable: KVM_GET_VCPU_MMAP_SIZE: {}", strerror(errno));
    return KvmSystem(std::move(fd), static_cast<size_t>(size));
}

int KvmSystem::check_extension(long cap) const {
    const int r = ::ioctl(m_fd.get(), KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

Result<std::vector<kvm_cpuid_entry2>> KvmSystem::supported_cpuid() const {
    // The call fails with E2BIG while the buffer is too small (§4.46); grow until it fits.
    for (uint32_t n = 64; n <= 4096; n *= 2) {
        abi::FlexRequest<kvm_cpuid_entry2> request(n);
        if (::ioctl(m_fd.get(), abi::kGetSupportedCpuid, request.data()) == 0)
            return std::vector<kvm_cpuid_entry2>(request.entries(), request.entries() + request.count());
        if (errno != E2BIG) return make_error("KVM_GET_SUPPORTED_CPUID: {}", strerror(errno));
    }
    return make_error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Result<std::vector<uint32_t>> KvmSystem::msr_index_list() const {
    // E2BIG while the buffer is too small; KVM then writes the count it needs into nmsrs.
    std::vector<uint32_t> list(1, 0);
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (::ioctl(m_fd.get(), abi::kGetMsrIndexList, list.data()) == 0)
            return std::vector<uint32_t>(list.begin() + 1, list.begin() + 1 + list[0]);
        if (errno != E2BIG) return make_error("KVM_GET_MSR_INDEX_LIST: {}", strerror(errno));
        const uint32_t need = list[0];
        list.assign(1 + need, 0);
        list[0] = need;
    }
    return make_error("KVM_GET_MSR_INDEX_LIST: the list kept growing");
}

}  // namespace trapeze::kvm
