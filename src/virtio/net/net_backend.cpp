#include "virtio/net/net_backend.hpp"

#include "virtio/net/slirp_backend.hpp"
#include "virtio/net/tap_backend.hpp"

namespace trapeze::virtio {

Result<std::unique_ptr<NetBackend>> make_net_backend(const NetConfig& cfg) {
    if (cfg.backend == NetConfig::Backend::Tap) {
        auto tap = TapBackend::open(cfg.tap_name);
        if (!tap) return tap.error();
        return std::unique_ptr<NetBackend>(std::move(*tap));
    }
    auto slirp = SlirpBackend::create(cfg.host_forwards);
    if (!slirp) return slirp.error();
    return std::unique_ptr<NetBackend>(std::move(*slirp));
}

}  // namespace trapeze::virtio
