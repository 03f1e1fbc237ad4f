// build_fdt: the flattened device tree handed to OpenSBI and Linux, describing exactly the
// devices the machine has, laid out like QEMU 7.2's `virt` board (compare with
// `qemu-system-riscv64 -M virt,dumpdtb=x.dtb; dtc -I dtb -O dts x.dtb`). Bindings cited
// below are Linux's Documentation/devicetree/bindings.
//
// The blob is packed (no free space); a firmware that edits it in place (OpenSBI adds
// reserved-memory and fixes up cpu nodes) needs room after it in guest RAM, as QEMU leaves.
//
// virtio_mmio nodes are written in slot order (slot 0 at kVirtioBase first), which is the
// order Linux probes them: the first virtio-blk slot becomes /dev/vda.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/riscv64/board.hpp"
#include "base/result.hpp"

namespace trapeze::arch::riscv64 {

inline constexpr const char* kStdoutPath = "/soc/serial@10000000";

// Fails only on a configuration the board cannot describe (no harts, no RAM, too many
// virtio slots, an ISA string that is not rv64, ...).
Result<std::vector<uint8_t>> build_fdt(const BoardConfig& cfg);

}  // namespace trapeze::arch::riscv64
