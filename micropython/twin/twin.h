// The contract between the twin's launcher (launcher.c) and the MicroPython
// process it starts for each boot (port_unix.c and the frozen _twin_boot.py).
#ifndef MPOTA_TWIN_H
#define MPOTA_TWIN_H

// Absolute path of the emulated flash file; port_unix.c opens it.
#define MPOTA_TWIN_FLASH_ENV "MPOTA_TWIN_FLASH"

// Absolute path of the script to run instead of main.py (first boot only);
// unset on the other boots. Read by _twin_boot.py.
#define MPOTA_TWIN_SCRIPT_ENV "MPOTA_TWIN_SCRIPT"

// Set to "1" in stock mode (mpota-twin --stock): the firmware micropython.org
// ships. `import mpota` fails as it does there, the frozen `ota` package is
// off sys.path, and esp32.Partition has no PR #7048 methods. Read by the
// binding's module init (modtwin.c) and by the frozen modules (_twin.stock()).
#define MPOTA_TWIN_STOCK_ENV "MPOTA_TWIN_STOCK"

// Exit status of the MicroPython process when the script called
// machine.reset() (mpota.restart()): the launcher then boots again. A script
// that calls sys.exit(86) is taken for a reset too.
#define MPOTA_TWIN_EXIT_RESET 86

#endif
