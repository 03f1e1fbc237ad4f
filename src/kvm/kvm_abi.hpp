// The variable-length KVM structures (kvm_cpuid2, kvm_msrs) as the kernel lays them out.
//
// <linux/kvm.h> declares their trailing arrays with __DECLARE_FLEX_ARRAY, which in C++ adds a
// one-byte empty struct: sizeof(kvm_cpuid2) becomes 12 instead of 8 and `entries` moves to
// offset 12. Both the ioctl numbers (which encode the size) and the entry offset are then
// wrong, and KVM answers EINVAL. So these requests are built here from the C layout: an
// 8-byte header (count, padding) followed by the entries (KVM API doc §4.18, §4.19, §4.46).
// kvm_msr_list (§4.3) has a 4-byte header, and kvm_xsave (§4.42) is 4096 bytes in C, 4100 in
// C++ (its flexible `extra` array), so their ioctl numbers are spelled out here too.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace trapeze::kvm::abi {

constexpr size_t kFlexHeaderSize = 8;  // __u32 count; __u32 padding;

constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kFlexHeaderSize);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kFlexHeaderSize);
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, kFlexHeaderSize);
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, kFlexHeaderSize);

constexpr size_t kMsrListHeaderSize = 4;  // __u32 nmsrs;
constexpr unsigned long kGetMsrIndexList = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x02, kMsrListHeaderSize);

constexpr size_t kXsaveSize = 4096;  // __u32 region[1024]; what KVM_GET_XSAVE fills
constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, kXsaveSize);
constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, kXsaveSize);
constexpr unsigned long kGetXsave2 = _IOC(_IOC_READ, KVMIO, 0xcf, kXsaveSize);  // §4.134

// A zeroed, 8-byte aligned buffer holding `count` and room for `n` entries of `Entry`.
template <typename Entry>
class FlexRequest {
public:
    explicit FlexRequest(uint32_t n) : m_words((kFlexHeaderSize + n * sizeof(Entry) + 7) / 8, 0) {
        set_count(n);
    }
    void* data() { return m_words.data(); }
    uint32_t count() const {
        uint32_t n = 0;
        std::memcpy(&n, m_words.data(), sizeof n);
        return n;
    }
    void set_count(uint32_t n) { std::memcpy(m_words.data(), &n, sizeof n); }
    Entry* entries() { return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(m_words.data()) + kFlexHeaderSize); }

private:
    std::vector<uint64_t> m_words;
};

}  // namespace trapeze::kvm::abi
