# mpota as a MicroPython user C module for CMake-based ports (esp32):
#
#   make -C $MICROPY_DIR/ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA \
#        USER_C_MODULES=<mpota checkout>/micropython/micropython.cmake
#
# ESP-IDF supplies mbedTLS (hardware SHA where the chip has it) for
# src/core/digest_mbedtls.c, esp_flash / esp_ota_ops / bootloader_support for
# esp32_device.c (the ESP-IDF backend) and esp_system for port_esp32.c (its
# MicroPython glue); the esp32 port already links all of them. The unix twin
# builds from micropython.mk and compiles neither file.

add_library(usermod_mpota INTERFACE)

get_filename_component(MPOTA_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
file(GLOB MPOTA_CORE_SOURCES ${MPOTA_ROOT}/src/core/*.c)
file(GLOB MPOTA_BINDINGS ${CMAKE_CURRENT_LIST_DIR}/mpota_*_obj.c)

target_sources(usermod_mpota INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modmpota.c
    ${MPOTA_BINDINGS}
    ${CMAKE_CURRENT_LIST_DIR}/esp32_device.c
    ${CMAKE_CURRENT_LIST_DIR}/port_esp32.c
    ${MPOTA_CORE_SOURCES}
)

target_include_directories(usermod_mpota INTERFACE
    ${MPOTA_ROOT}/include
    ${CMAKE_CURRENT_LIST_DIR}
)

# No error sentences or names in the firmware: mpota.Error carries the code
# and the numbers, and the ota package words them as the core would
# (python/ota/_errors.py). The CMake variable MPOTA_DIAG_TEXT=1 (idf.py
# -DMPOTA_DIAG_TEXT=1) keeps them.
if(NOT DEFINED MPOTA_DIAG_TEXT)
    set(MPOTA_DIAG_TEXT 0)
endif()
target_compile_definitions(usermod_mpota INTERFACE MPOTA_DIAG_TEXT=${MPOTA_DIAG_TEXT})

target_link_libraries(usermod INTERFACE usermod_mpota)
