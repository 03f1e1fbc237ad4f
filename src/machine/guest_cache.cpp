#include "machine/guest_cache.hpp"

#include <cstdlib>

namespace trapeze::machine {

std::filesystem::path default_guest_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
        return std::filesystem::path(xdg) / "trapeze/debian-riscv64";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".cache/trapeze/debian-riscv64";
}

}  // namespace trapeze::machine
