// `trapeze run --boot disk`: a look at the boot disk before U-Boot does, so that a disk U-Boot
// cannot boot from gets a clear message on the host instead of a U-Boot prompt on the console.
#pragma once

#include <string>

#include "base/result.hpp"

namespace trapeze::machine {

// U-Boot's distro boot (extlinux) looks in the partitions of a partition table: the disk must
// have an MBR or a GPT, and a Linux partition of the MBR must hold ext2/3/4 (Debian's u-boot-menu
// writes /boot/extlinux/extlinux.conf on the root file system). A GPT's partitions are left to
// U-Boot. The error names the disk and what is wrong.
Result<void> check_boot_disk(const std::string& path);

}  // namespace trapeze::machine
