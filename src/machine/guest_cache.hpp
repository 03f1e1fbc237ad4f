// Where tools/fetch-guest keeps the default Debian guest (kernel Image, initrd, OpenSBI):
// $XDG_CACHE_HOME/trapeze/debian-riscv64, or ~/.cache/trapeze/debian-riscv64.
#pragma once

#include <filesystem>

namespace trapeze::machine {

std::filesystem::path default_guest_dir();

}  // namespace trapeze::machine
