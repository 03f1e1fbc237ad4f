#include "sandbox/allowlist.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "kvm/kvm_abi.hpp"

namespace trapeze::sandbox {

namespace {

// Kernel constants come as int or unsigned long; the rules compare 32 bits.
template <typename T>
constexpr uint32_t u32(T v) {
    return static_cast<uint32_t>(v);
}

// --- what every thread needs -------------------------------------------------------------

// glibc and libstdc++ on any thread: ending it (exit; exit_group for the process), locks and
// condition variables (futex), malloc (brk, mmap, munmap, mremap, mprotect of arena pages,
// madvise), clocks and sleeps, abort() (rt_sigprocmask, rt_sigaction and tgkill for SIGABRT),
// signal handlers' return, write(2) for error lines and the SIGSYS report itself, and poll(2)
// for guest console output, which any thread that runs a device may write and which waits for
// its terminal to take it (HostConsole::write_all).
void add_process_basics(SeccompFilter& f) {
    for (int nr : {SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall), SCMP_SYS(rt_sigreturn),
                   SCMP_SYS(rt_sigprocmask), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid),
                   SCMP_SYS(getpid), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
                   SCMP_SYS(gettimeofday), SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(write),
                   SCMP_SYS(poll), SCMP_SYS(ppoll)})
        f.allow(nr);
    // The futex commands of glibc's locks, condition variables, joins and once-flags, private
    // or shared, on either clock; not the PI or requeue-PI ones, which nothing here uses.
    constexpr uint32_t kCommandBits = ~u32(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    for (int cmd : {FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_BITSET,
                    FUTEX_WAKE_BITSET})
        f.allow_if(SCMP_SYS(futex), {arg32_masked_eq(1, kCommandBits, u32(cmd))});
    // Memory, never executable: a thread that could map code could run code it wrote.
    f.allow_if(SCMP_SYS(mmap), {arg_bits_clear(2, PROT_EXEC)});
    f.allow_if(SCMP_SYS(mprotect), {arg_bits_clear(2, PROT_EXEC)});
    // Freeing (malloc, thread stacks), huge pages for big tables and none for sparse ones
    // (PageAllocator), and the JIT code buffer's and guest RAM's prefaulting
    // (CodeBuffer::populate_next, RamPrefaulter).
    for (int advice : {MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_POPULATE_READ, MADV_POPULATE_WRITE})
        f.allow_if(SCMP_SYS(madvise), {arg32_eq(2, u32(advice))});
    f.allow_if(SCMP_SYS(rt_sigaction), {arg32_eq(0, SIGABRT)});
    f.allow_if(SCMP_SYS(tgkill), {arg32_eq(2, SIGABRT)});
    // glibc's fstat() of an open fd (stdio sizing its buffer): never a path.
    f.allow_if(SCMP_SYS(newfstatat), {arg32_eq(3, AT_EMPTY_PATH)});
    f.allow(SCMP_SYS(fstat));
}

// --- groups ------------------------------------------------------------------------------

// Starting threads (std::thread): clone only with CLONE_THREAD, so never a new process;
// clone3 hides its flags in memory a filter cannot read, so it answers ENOSYS and glibc falls
// back to clone. The new thread registers itself (set_robust_list, rseq), names itself, pins
// itself to its host CPUs (a hart under --hart-affinity: sched_setaffinity of the calling thread
// only, pid 0) and installs its own filter under this one (prctl, seccomp).
void add_thread_start(SeccompFilter& f) {
    f.allow_if(SCMP_SYS(clone), {arg_bits_set(0, CLONE_THREAD | CLONE_VM)});
    f.fail_with(SCMP_SYS(clone3), ENOSYS);
    f.allow(SCMP_SYS(set_robust_list));
    f.allow(SCMP_SYS(rseq));
    for (int option : {PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS})
        f.allow_if(SCMP_SYS(prctl), {arg32_eq(0, u32(option))});
    f.allow_if(SCMP_SYS(seccomp), {arg32_eq(0, SECCOMP_SET_MODE_FILTER)});
    f.allow_if(SCMP_SYS(sched_setaffinity), {arg32_eq(0, 0)});
}

// Waiting on and reading fds: eventfds, the console's wake fds, stdin, signalfd, backends.
void add_fd_waiting(SeccompFilter& f) {
    for (int nr : {SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(read)}) f.allow(nr);
}

// virtio-blk on an open image: reads, writes, flushes, discard and write-zeroes.
void add_disk_io(SeccompFilter& f) {
    for (int nr : {SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fdatasync),
                   SCMP_SYS(fsync)})
        f.allow(nr);
    f.allow_if(SCMP_SYS(fallocate), {arg32_eq(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)});
}

// virtio-rng.
void add_entropy(SeccompFilter& f) {
    f.allow(SCMP_SYS(getrandom));
}

// virtio-net on libslirp (what libslirp.so imports from libc): the guest's connections become
// host sockets (IPv4 and IPv6 only, never unix or netlink ones), port forwards accept, and DNS
// forwarding rereads /etc/resolv.conf (stat, then a read-only fopen: slirp's only file). A
// TAP backend needs nothing beyond the basics and the VMM thread's read.
void add_user_net(SeccompFilter& f) {
    for (int domain : {AF_INET, AF_INET6}) f.allow_if(SCMP_SYS(socket), {arg32_eq(0, u32(domain))});
    for (int nr : {SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
                   SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
                   SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(shutdown), SCMP_SYS(read),
                   SCMP_SYS(close), SCMP_SYS(newfstatat)})
        f.allow(nr);
    for (int cmd : {F_GETFL, F_SETFL, F_GETFD, F_SETFD}) f.allow_if(SCMP_SYS(fcntl), {arg32_eq(1, u32(cmd))});
    for (auto cmd : {u32(FIONBIO), u32(FIONREAD)}) f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, cmd)});
    for (int flags : {O_RDONLY, O_RDONLY | O_CLOEXEC}) f.allow_if(SCMP_SYS(openat), {arg32_eq(2, u32(flags))});
}

// The terminal on stdin: reading its modes and putting them back (HostConsole::stop,
// restore_terminal).
void add_terminal(SeccompFilter& f) {
    for (auto cmd : {u32(TCGETS), u32(TCSETS), u32(TCSETSW)})
        f.allow_if(SCMP_SYS(ioctl), {arg32_eq(0, STDIN_FILENO), arg32_eq(1, cmd)});
}

// An interrupt line of the in-kernel IOAPIC (the x86 devices' IrqLines).
void add_kvm_irq_line(SeccompFilter& f) {
    f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, u32(KVM_IRQ_LINE))});
}

// Kicking a vCPU out of KVM_RUN (X86Machine::finish).
void add_vcpu_kick(SeccompFilter& f) {
    f.allow_if(SCMP_SYS(tgkill), {arg32_eq(2, SIGUSR1)});
}

// What building another machine takes (--on-reboot restart): images, disks and the TAP
// device opened, images read (a large one in two halves at once, by pread on a second thread:
// base/file.cpp), RAM and the JIT's double-mapped code buffer, eventfds, and the JIT's
// translator thread and RAM's prefaulter lowering their own priority as they start (each runs
// under this filter until it installs its own): its own only (who 0), and only to
// kTranslatorNice, never raising one.
void add_machine_build(SeccompFilter& f, const Needs& needs) {
    for (int nr : {SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(flock),
                   SCMP_SYS(memfd_create), SCMP_SYS(ftruncate), SCMP_SYS(eventfd2), SCMP_SYS(close)})
        f.allow(nr);
    f.allow_if(SCMP_SYS(mmap), {arg32_eq(2, u32(PROT_READ | PROT_EXEC)), arg32_eq(3, u32(MAP_SHARED))});
    for (auto cmd : {u32(TUNSETIFF), u32(BLKGETSIZE64)}) f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, cmd)});
    f.allow_if(SCMP_SYS(setpriority),
               {arg32_eq(0, u32(PRIO_PROCESS)), arg32_eq(1, 0), arg32_eq(2, u32(kTranslatorNice))});
    if (needs.user_net) add_user_net(f);
}

// Writing a snapshot (snapshot/file_output): a temporary file created, sized, written and
// renamed over the destination (or removed on failure).
void add_snapshot_files(SeccompFilter& f) {
    for (int nr : {SCMP_SYS(openat), SCMP_SYS(ftruncate), SCMP_SYS(pwrite64), SCMP_SYS(rename), SCMP_SYS(renameat),
                   SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat)})
        f.allow(nr);
}

// Time travel (vmm/TimeTravel) on the gdb stub's thread: a rewind opens and reads a snapshot
// (state and memory files, the log again), maps the memory file copy-on-write over guest RAM
// (never executable, as every thread's mmap), and an arrival far from the last checkpoint
// writes one.
void add_time_travel(SeccompFilter& f) {
    add_snapshot_files(f);
    for (int nr : {SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(lseek)}) f.allow(nr);
}

// Removing time travel's checkpoints and their folder as the run ends (the VMM thread).
void add_time_travel_cleanup(SeccompFilter& f) {
    for (int nr : {SCMP_SYS(unlink), SCMP_SYS(rmdir)}) f.allow(nr);
}

// Reading an x86 VM's state for a snapshot (X86Machine::save_snapshot, machine paused): the
// KVM_GET calls of kvm/kvm_state. The flexible-array ones with kvm::abi's numbers (the
// <linux/kvm.h> macros encode another size in C++).
void add_kvm_state_reads(SeccompFilter& f) {
    for (auto cmd : {u32(KVM_CHECK_EXTENSION), u32(KVM_GET_IRQCHIP), u32(KVM_GET_PIT2), u32(KVM_GET_CLOCK),
                     u32(KVM_GET_MP_STATE), u32(KVM_GET_REGS), u32(KVM_GET_SREGS), u32(KVM_GET_XCRS),
                     u32(KVM_GET_DEBUGREGS), u32(KVM_GET_LAPIC), u32(KVM_GET_TSC_KHZ), u32(KVM_GET_VCPU_EVENTS),
                     u32(KVM_GET_FPU), u32(KVM_GET_DIRTY_LOG), u32(kvm::abi::kGetMsrIndexList), u32(kvm::abi::kGetMsrs),
                     u32(kvm::abi::kGetXsave), u32(kvm::abi::kGetXsave2)})
        f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, cmd)});
}

// --- the lists ---------------------------------------------------------------------------

// What a device may do when guest code touches it, on whichever thread that is: a hart's
// (its MMIO; a frame the guest sends goes to the network backend from there), or the VMM
// thread (harts in turn, the backends' polls).
void add_riscv_devices(SeccompFilter& f, const Needs& needs) {
    add_disk_io(f);
    add_entropy(f);
    if (needs.user_net) add_user_net(f);
}

void add_vmm(SeccompFilter& f, const Needs& needs) {
    add_thread_start(f);
    add_fd_waiting(f);
    add_riscv_devices(f, needs);
    add_terminal(f);
    f.allow(SCMP_SYS(close));  // tearing the machine down
    if (needs.rebuild) add_machine_build(f, needs);
    if (needs.checkpoints) add_snapshot_files(f);
    if (needs.time_travel) add_time_travel_cleanup(f);
}

// The API server (api/ApiServer) and the handlers it runs: HTTP on accepted connections; the
// files PUT /logger, PUT /metrics and PUT /serial name (a path a request gives is checked by
// opening it or looking it up; a kernel's header is read to tell its architecture); PATCH
// /drives opening and locking the new image and flushing the old one (VirtioBlk::
// replace_backing), whose config-change interrupt, like SendCtrlAltDel's, may be a KVM line;
// and removing its socket file as it stops (the VMM thread, which outlives it, may not unlink).
void add_api(SeccompFilter& f) {
    add_fd_waiting(f);
    f.allow_if(SCMP_SYS(accept4), {arg32_eq(3, u32(SOCK_CLOEXEC | SOCK_NONBLOCK))});
    for (int nr : {SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(openat), SCMP_SYS(newfstatat),
                   SCMP_SYS(pread64), SCMP_SYS(flock), SCMP_SYS(fdatasync), SCMP_SYS(unlink)})
        f.allow(nr);
    f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, u32(BLKGETSIZE64))});
    add_kvm_irq_line(f);
    add_snapshot_files(f);  // PUT /snapshot/create
    add_kvm_state_reads(f);
    add_vcpu_kick(f);       // pausing x86 vCPUs for it
}

// The gdb stub (gdb/GdbServer): connections accepted on its listening socket, TCP_NODELAY on
// them.
void add_gdb_connections(SeccompFilter& f) {
    add_fd_waiting(f);
    f.allow_if(SCMP_SYS(accept4), {arg32_eq(3, u32(SOCK_CLOEXEC))});
    f.allow_if(SCMP_SYS(setsockopt), {arg32_eq(1, IPPROTO_TCP), arg32_eq(2, TCP_NODELAY)});
    f.allow(SCMP_SYS(sendto));  // replies (send with MSG_DONTWAIT: a stalled gdb cannot block it)
    f.allow(SCMP_SYS(close));
}

// RISC-V: a hart the stub steps touches devices as a hart thread does.
void add_riscv_debugger(SeccompFilter& f, const Needs& needs) {
    add_gdb_connections(f);
    add_riscv_devices(f, needs);
    if (needs.time_travel) add_time_travel(f);
}

// x86-64 (gdb/X86Target): the parked vCPUs' registers and guest-debug state, and the kick
// that stops a running vCPU (Ctrl-C, a step's time limit). KVM_RUN stays the vCPU threads'.
void add_x86_debugger(SeccompFilter& f) {
    add_gdb_connections(f);
    for (auto cmd : {u32(KVM_GET_REGS), u32(KVM_SET_REGS), u32(KVM_GET_SREGS), u32(KVM_SET_SREGS),
                     u32(KVM_GET_MP_STATE), u32(KVM_SET_GUEST_DEBUG)})
        f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, cmd)});
    add_vcpu_kick(f);
}

void add_vcpu(SeccompFilter& f) {
    for (auto cmd : {u32(KVM_RUN), u32(KVM_IRQ_LINE), u32(KVM_GET_REGS), u32(KVM_GET_SREGS)})
        f.allow_if(SCMP_SYS(ioctl), {arg32_eq(1, cmd)});
    add_vcpu_kick(f);
    add_disk_io(f);                   // QueueNotify as an MMIO exit, without ioeventfd
    f.allow(SCMP_SYS(timer_delete));  // the CPU quota's kick timer, made before the filter
}

}  // namespace

void add_allowlist(SeccompFilter& f, ThreadKind kind, const Needs& needs) {
    add_process_basics(f);
    switch (kind) {
        case ThreadKind::Vmm:
            return add_vmm(f, needs);
        case ThreadKind::Api:
            return add_api(f);
        case ThreadKind::Hart:
            return add_riscv_devices(f, needs);
        case ThreadKind::Translator:
        case ThreadKind::Prefaulter:  // MADV_POPULATE_WRITE is among the basics
            return;
        case ThreadKind::ConsoleReader:
            return add_fd_waiting(f);
        case ThreadKind::ConsolePump:
            add_fd_waiting(f);
            add_kvm_irq_line(f);
            return add_vcpu_kick(f);
        case ThreadKind::Signals:
            add_fd_waiting(f);
            add_terminal(f);
            return add_thread_start(f);  // the forced exit writes its line from a thread of its own
        case ThreadKind::Vcpu:
            return add_vcpu(f);
        case ThreadKind::IoNotifier:
            add_fd_waiting(f);
            add_disk_io(f);
            return add_kvm_irq_line(f);
        case ThreadKind::Debugger:
            return add_riscv_debugger(f, needs);
        case ThreadKind::X86Debugger:
            return add_x86_debugger(f);
        case ThreadKind::SnapshotKey:
            add_fd_waiting(f);
            add_terminal(f);
            add_vcpu_kick(f);
            add_kvm_state_reads(f);
            return add_snapshot_files(f);
    }
}

}  // namespace trapeze::sandbox
