#include "base/host_random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace trapeze {

// getrandom without GRND_NONBLOCK waits only until the host's pool was first seeded (at the
// host's boot), and returns at most 32 MiB per call: the loop takes the rest and EINTR.
size_t host_random(std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        done += static_cast<size_t>(n);
    }
    return done;
}

Result<std::vector<uint8_t>> host_random_bytes(size_t n) {
    std::vector<uint8_t> bytes(n);
    if (host_random(bytes) != n) return make_error("getrandom: {}", std::strerror(errno));
    return bytes;
}

}  // namespace trapeze
