// Port layer for the unix twin: the device is an emulated flash file
// (src/host/flash_emu.c) with its running-app sidecar (src/host/device.c),
// named by the MPOTA_TWIN_FLASH environment variable that mpota-twin sets
// for every boot. A reset ends the process with MPOTA_TWIN_EXIT_RESET; the
// launcher runs the bootloader's selection and starts the next boot.
// Under mpota-twin --stats every opened flash is tapped (twin/modtwin.c).
#include <stdlib.h>
#include <unistd.h>

#include "py/runtime.h"

#include "../src/host/device.h"
#include "mpota_mod.h"
#include "twin/twin.h"

// The port's state: the device, and its tap for --stats.
struct twin_device {
    struct mpota_device dev;
    struct mpota_twin_tap tap;
};

void mpota_port_open(struct mpota_port *port)
{
    const char *path = getenv(MPOTA_TWIN_FLASH_ENV);
    if (!path || !*path) {
        mp_raise_msg(&mp_type_OSError,
                     MP_ERROR_TEXT("no emulated flash: MPOTA_TWIN_FLASH is not set (run under mpota-twin)"));
    }
    // On the MicroPython heap: GC blocks never move, and the emulator keeps
    // a pointer to itself (flash.ctx), the tap one to the emulator.
    struct twin_device *td = m_new_obj(struct twin_device);
    struct mpota_device *dev = &td->dev;
    int rc = mpota_device_open(dev, path);
    if (rc) {
        m_del_obj(struct twin_device, td);
        mpota_raise(rc);
    }
    mpota_twin_stats_tap(&td->tap, &dev->emu);  // counts the table read too
    if (dev->table_err) {
        struct mpota_diag d = dev->table_diag;
        mpota_twin_stats_untap(&td->tap);
        mpota_device_close(dev);
        m_del_obj(struct twin_device, td);
        mpota_raise_diag(&d);
    }
    mpota_device_ctx(dev, &port->ctx);
    port->running = mpota_device_running_partition(dev);
    port->impl = td;
}

void mpota_port_close(struct mpota_port *port)
{
    struct twin_device *td = port->impl;
    if (td) {
        mpota_twin_stats_untap(&td->tap);
        mpota_device_close(&td->dev);
        port->impl = NULL;
    }
}

MP_NORETURN void mpota_port_restart(void)
{
    // Like a reset: no Python cleanup, no atexit. Output is already out
    // (the unix port writes stdout unbuffered) and file writes are in the
    // host's page cache. The flash counts are already in the --stats slot;
    // the heap gets its last sample.
    mpota_twin_stats_sample();
    _exit(MPOTA_TWIN_EXIT_RESET);
}
