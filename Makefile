# Targets that wrap builds CMake does not drive. The project itself builds
# with CMake (see README.md).
#
#   make twin [MICROPY_DIR=/path/to/micropython] builds build-twin/mpota-twin
#                                               (or TWIN_BUILD=dir) and prints
#                                               its path; the default tree is
#                                               ../shared/micropython
#   make bench                                   runs the benchmarks: BENCH.md,
#                                               bench/results.json
#   make py-errors                               regenerates python/ota/_errors.py
#                                               from the core's error catalogue
#   make mip [TWIN_BUILD=dir]                    regenerates python/ota/mpy/*.mpy and
#                                               python/ota/package.json (what mip
#                                               installs), with the twin's mpy-cross

.PHONY: twin bench py-errors mip
bench:
	@bench/run.sh

# Relative paths are taken from here, not from micropython/twin; an unset
# MICROPY_DIR is left for micropython/twin/Makefile to default.
twin:
	@$(MAKE) --no-print-directory -C micropython/twin \
		$(if $(MICROPY_DIR),MICROPY_DIR="$(abspath $(MICROPY_DIR))") \
		$(if $(TWIN_BUILD),TWIN_BUILD="$(abspath $(TWIN_BUILD))")

# The pure-Python engine's codes and sentences; tests/cli/test_py_errors.sh
# fails when they are stale.
py-errors:
	@python3 tools/gen_py_errors.py

# The .mpy files and package.json mip installs; tests/cli/test_twin_mip.sh
# fails when they are stale. mpy-cross comes with the twin build.
mip: twin
	@python3 tools/gen_mip.py --mpy-cross "$(abspath $(or $(TWIN_BUILD),build-twin))/mpy-cross/mpy-cross"
