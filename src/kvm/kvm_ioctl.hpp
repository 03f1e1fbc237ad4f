// The shape of most KVM state ioctls: a fixed-size struct read out of or written into the
// kernel, failing with errno. Internal to src/kvm.
#pragma once

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "base/result.hpp"

namespace trapeze::kvm::detail {

// `name` is the ioctl's name, for the error message.
template <typename T>
Result<T> ioctl_get(int fd, unsigned long request, const char* name, T value = T{}) {
    if (::ioctl(fd, request, &value) < 0) return make_error("{}: {}", name, strerror(errno));
    return value;
}

template <typename T>
Result<void> ioctl_set(int fd, unsigned long request, const char* name, const T& value) {
    // The kernel only reads the struct.
    if (::ioctl(fd, request, const_cast<T*>(&value)) < 0) return make_error("{}: {}", name, strerror(errno));
    return ok();
}

}  // namespace trapeze::kvm::detail
