// MachineConfig: everything the CLI (later the API) decides about a VM, validated
// by the CLI before a machine is built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace trapeze::machine {

enum class Engine { Interp };
enum class OnReboot { Exit, Restart };

struct MachineConfig {
    Engine engine = Engine::Interp;
    std::string kernel;                // path; ELF or raw Image
    std::optional<std::string> initrd;
    std::optional<std::string> bios;   // nullopt: --bios none
    std::string append;
    uint64_t memory_mib = 512;
    unsigned cpus = 1;
    OnReboot on_reboot = OnReboot::Exit;
    bool stats = true;  // print retired instructions and MIPS at exit
};

}  // namespace trapeze::machine
