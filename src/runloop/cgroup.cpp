#include "runloop/cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/unique_fd.hpp"

namespace trapeze::runloop {

Result<void> join_cgroup(const std::string& dir) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return make_error("--cgroup '{}': {}", dir, std::strerror(errno));
    if (fs.f_type != CGROUP2_SUPER_MAGIC)
        return make_error(
            "--cgroup '{}': not a directory of a cgroup v2 file system (cgroup2, usually under "
            "/sys/fs/cgroup)",
            dir);
    const std::string procs = dir + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int e = errno;
        return make_error(
            "--cgroup '{}': cannot open cgroup.procs: {}{}", dir, std::strerror(e),
            e == EACCES ? " (create the cgroup and give this user write access to its cgroup.procs)" : "");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::write(fd.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
        return make_error("--cgroup '{}': cannot join it: {}", dir, std::strerror(errno));
    return ok();
}

}  // namespace trapeze::runloop
