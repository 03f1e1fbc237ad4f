#include "kvm/kvm_vm.hpp"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "kvm/kvm_ioctl.hpp"

namespace trapeze::kvm {

Result<KvmVm> KvmVm::create(const KvmSystem& sys) {
    UniqueFd fd(::ioctl(sys.fd(), KVM_CREATE_VM, 0));
    if (!fd.valid()) return make_error("KVM_CREATE_VM: {}", strerror(errno));
    if (::ioctl(fd.get(), KVM_SET_TSS_ADDR, kTssAddr) < 0)
        return make_error("KVM_SET_TSS_ADDR: {}", strerror(errno));
    uint64_t identity = kIdentityMapAddr;
    if (::ioctl(fd.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        return make_error("KVM_SET_IDENTITY_MAP_ADDR: {}", strerror(errno));
    if (::ioctl(fd.get(), KVM_CREATE_IRQCHIP, 0) < 0)
        return make_error("KVM_CREATE_IRQCHIP: {}", strerror(errno));
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;  // port 0x61 handled in the kernel too
    if (::ioctl(fd.get(), KVM_CREATE_PIT2, &pit) < 0)
        return make_error("KVM_CREATE_PIT2: {}", strerror(errno));
    return KvmVm(std::move(fd));
}

Result<void> KvmVm::map_memory(uint32_t slot, Gpa gpa, uint64_t size, void* host, bool log_dirty) {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
    region.guest_phys_addr = gpa.value;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (::ioctl(m_fd.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return make_error("KVM_SET_USER_MEMORY_REGION slot {} at {:#x} ({} bytes): {}", slot, gpa.value,
                          size, strerror(errno));
    return ok();
}

Result<std::vector<uint64_t>> KvmVm::dirty_log(uint32_t slot, uint64_t pages) const {
    std::vector<uint64_t> bitmap((pages + 63) / 64);
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bitmap.data();
    if (::ioctl(m_fd.get(), KVM_GET_DIRTY_LOG, &log) < 0)
        return make_error("KVM_GET_DIRTY_LOG slot {}: {}", slot, strerror(errno));
    return bitmap;
}

Result<void> KvmVm::set_irq_line(uint32_t gsi, bool level) {
    kvm_irq_level irq{};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    if (::ioctl(m_fd.get(), KVM_IRQ_LINE, &irq) < 0)
        return make_error("KVM_IRQ_LINE gsi {}: {}", gsi, strerror(errno));
    return ok();
}

Result<void> KvmVm::add_mmio_ioeventfd(int fd, Gpa gpa, uint32_t len, uint64_t datamatch) {
    kvm_ioeventfd io{};
    io.datamatch = datamatch;
    io.addr = gpa.value;
    io.len = len;
    io.fd = fd;
    io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
    if (::ioctl(m_fd.get(), KVM_IOEVENTFD, &io) < 0)
        return make_error("KVM_IOEVENTFD at {:#x}: {}", gpa.value, strerror(errno));
    return ok();
}

int KvmVm::check_extension(long cap) const {
    const int r = ::ioctl(m_fd.get(), KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

Result<kvm_irqchip> KvmVm::get_irqchip(uint32_t chip) const {
    kvm_irqchip state{};
    state.chip_id = chip;
    return detail::ioctl_get(m_fd.get(), KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP", state);
}

Result<void> KvmVm::set_irqchip(const kvm_irqchip& state) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_IRQCHIP, "KVM_SET_IRQCHIP", state);
}

Result<kvm_pit_state2> KvmVm::get_pit2() const {
    return detail::ioctl_get<kvm_pit_state2>(m_fd.get(), KVM_GET_PIT2, "KVM_GET_PIT2");
}

Result<void> KvmVm::set_pit2(const kvm_pit_state2& state) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_PIT2, "KVM_SET_PIT2", state);
}

Result<kvm_clock_data> KvmVm::get_clock() const {
    return detail::ioctl_get<kvm_clock_data>(m_fd.get(), KVM_GET_CLOCK, "KVM_GET_CLOCK");
}

Result<void> KvmVm::set_clock(const kvm_clock_data& clock) {
    return detail::ioctl_set(m_fd.get(), KVM_SET_CLOCK, "KVM_SET_CLOCK", clock);
}

}  // namespace trapeze::kvm
