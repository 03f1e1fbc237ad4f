// SigsysReport: what happens when a filter traps a call. The SIGSYS handler writes one line
// naming the thread, its kind and the system call, and ends the process with
// kForbiddenCallStatus:
//
//   trapeze: seccomp: thread 'trapeze-hart0' (hart) made forbidden system call 59 (execve); stopping
//
// The handler is async-signal-safe: it reads a table of system call names filled before any
// filter went on, the thread's name and kind recorded before its filter went on, and makes
// only write(2) and exit_group(2), which every list allows. It cannot restore the terminal
// (tcsetattr is an ioctl most lists forbid, and the terminal state lives in HostConsole): a
// raw terminal stays raw (`reset` or `stty sane` repairs it). Disk writes the guest made are in
// the host's page cache and reach the disk as usual; only a guest-requested flush after the
// trap is lost.
#pragma once

#include "sandbox/sandbox.hpp"

namespace trapeze::sandbox {

// Installs the SIGSYS handler and fills the name table, once per process (the first call does
// it; later ones return at once). Before any filter is installed: not async-signal-safe.
void install_sigsys_handler();

// Records the calling thread's name and kind for the report, before its filter goes on.
void remember_thread(ThreadKind kind);

}  // namespace trapeze::sandbox
