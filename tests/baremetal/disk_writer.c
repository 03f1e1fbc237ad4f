// disk_writer.c — the guest of signal_test.py. Writes a marker into sector 0 of its virtio-blk
// disk without a FLUSH (syncing what the guest wrote is the VMM's job when it stops), prints
// "disk-writer: ready" on the UART, then waits as bootargs say:
//   wait=wfi    sleeps in WFI with no interrupt enabled: the VMM idles in poll(2);
//   wait=spin   loops: the hart keeps running;
//   wait=flood  prints to the UART without end: a terminal that takes no output holds the
//               guest's output until a signal, which must stop the machine all the same.
// Returns (through HTIF) 100 for an unreadable device tree, 102 without a disk, 103 if the
// write was not answered OK.
#include "virtio_driver.h"

enum { VIRTIO_BLK_T_OUT = 1 };  // virtio 1.2 §5.2.6

static const char kMarker[] = "TRAPEZE-SIGNAL-TEST sector 0 written by disk_writer";
static uint8_t g_sector[512] __attribute__((aligned(16)));

static int write_marker(unsigned slot) {
    if (!negotiate(slot)) return 0;
    const uint32_t n = setup_queue(slot, 0);
    for (unsigned i = 0; i < sizeof g_header; ++i) g_header[i] = 0;
    g_header[0] = VIRTIO_BLK_T_OUT;  // sector 0: header bytes 8-15 stay zero
    for (unsigned i = 0; i < sizeof kMarker; ++i) g_sector[i] = (uint8_t)kMarker[i];
    g_status = 0xff;
    set_desc(0, (uintptr_t)g_header, sizeof g_header, 0, 3);
    set_desc(1, (uintptr_t)g_sector, sizeof g_sector, 0, 3);
    set_desc(2, (uintptr_t)&g_status, 1, F_WRITE, 3);
    (void)n;
    return submit(slot, 0) && g_status == 0;
}

int main(uint64_t hartid, const uint8_t* fdt) {
    (void)hartid;
    if (!read_fdt(fdt)) return 100;
    unsigned slot = 0;
    while (slot < g_slot_count && *reg(slot, DeviceID) != ID_BLK) ++slot;
    if (slot == g_slot_count) return 102;
    if (!write_marker(slot)) return 103;
    put("disk-writer: ready\n");
    if (equal(g_bootargs, "wait=flood"))
        for (;;) put("flooding the console with output nobody reads .......................\n");
    if (equal(g_bootargs, "wait=spin"))
        for (volatile uint64_t i = 0;; ++i) {}
    for (;;) __asm__ volatile("wfi");
}
