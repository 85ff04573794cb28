// MicroPython configuration of the twin (a unix-port variant): the unix
// port's standard feature set, plus what an ESP32 firmware gives OTA scripts
// that the unix port leaves out.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#include "ports/unix/variants/mpconfigvariant_common.h"

// io.BufferedWriter (glenn20's ota package wraps partition writes in one);
// the ESP32 port has it, the unix port only at the "everything" level.
#define MICROPY_PY_IO_BUFFEREDWRITER (1)
