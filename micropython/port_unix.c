// Port layer for the unix twin: the device is an emulated flash file
// (src/host/flash_emu.c) with its running-app sidecar (src/host/device.c),
// named by the MPOTA_TWIN_FLASH environment variable that mpota-twin sets
// for every boot. A reset ends the process with MPOTA_TWIN_EXIT_RESET; the
// launcher runs the bootloader's selection and starts the next boot.
#include <stdlib.h>
#include <unistd.h>

#include "py/runtime.h"

#include "../src/host/device.h"
#include "mpota_mod.h"
#include "twin/twin.h"

void mpota_port_open(struct mpota_port *port)
{
    const char *path = getenv(MPOTA_TWIN_FLASH_ENV);
    if (!path || !*path) {
        mp_raise_msg(&mp_type_OSError,
                     MP_ERROR_TEXT("no emulated flash: MPOTA_TWIN_FLASH is not set (run under mpota-twin)"));
    }
    // On the MicroPython heap: GC blocks never move, and the emulator keeps
    // a pointer to itself (flash.ctx).
    struct mpota_device *dev = m_new_obj(struct mpota_device);
    int rc = mpota_device_open(dev, path);
    if (rc) {
        m_del_obj(struct mpota_device, dev);
        mpota_raise(rc);
    }
    if (dev->table_err) {
        struct mpota_diag d = dev->table_diag;
        mpota_device_close(dev);
        m_del_obj(struct mpota_device, dev);
        mpota_raise_diag(&d);
    }
    mpota_device_ctx(dev, &port->ctx);
    port->running = mpota_device_running_partition(dev);
    port->impl = dev;
}

void mpota_port_close(struct mpota_port *port)
{
    if (port->impl) {
        mpota_device_close(port->impl);
        port->impl = NULL;
    }
}

MP_NORETURN void mpota_port_restart(void)
{
    // Like a reset: no Python cleanup, no atexit. Output is already out
    // (the unix port writes stdout unbuffered) and file writes are in the
    // host's page cache.
    _exit(MPOTA_TWIN_EXIT_RESET);
}
