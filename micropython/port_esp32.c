// Port layer for MicroPython's esp32 port (ESP-IDF 5.x): the MicroPython glue
// around esp32_device.c, which does all the ESP-IDF work (flash, table,
// running app; see there). Here: the device on the MicroPython heap (no
// static RAM), failures raised, and the restart.
#include "py/runtime.h"

#include "esp_system.h"  // esp_restart

#include "esp32_device.h"
#include "mpota_mod.h"

void mpota_port_open(struct mpota_port *port)
{
    // Checked first for a plain message; the device refuses it as well.
    if (mpota_esp32_flash_encrypted()) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("mpota: flash encryption is not supported"));
    }
    struct mpota_esp32_device *dev = m_new_obj(struct mpota_esp32_device);
    struct mpota_diag d = {0};
    int rc = mpota_esp32_device_open(dev, &d);
    if (rc) {
        m_del_obj(struct mpota_esp32_device, dev);
        mpota_check(rc, &d);
    }
    mpota_esp32_device_ctx(dev, &port->ctx);
    port->running = dev->running;
    port->impl = dev;
}

void mpota_port_close(struct mpota_port *port)
{
    // Nothing to release: the state is garbage-collected with the object.
    port->impl = NULL;
}

MP_NORETURN void mpota_port_restart(void)
{
    esp_restart();  // declared noreturn
}
