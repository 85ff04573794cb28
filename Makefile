# Targets that wrap builds CMake does not drive. The project itself builds
# with CMake (see README.md).
#
#   make twin MICROPY_DIR=/path/to/micropython   builds build-twin/mpota-twin
#                                               and prints its path
#   make bench                                   runs the benchmarks: BENCH.md,
#                                               bench/results.json

.PHONY: twin bench
bench:
	@bench/run.sh

twin:
	@$(MAKE) --no-print-directory -C micropython/twin MICROPY_DIR="$(MICROPY_DIR)"
