#include "part_helpers.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

const char *const part_testdata_bins[] = {
    "partition-tables/micropython/partitions-2MiB.bin",
    "partition-tables/micropython/partitions-4MiB-ota.bin",
    "partition-tables/micropython/partitions-4MiB-romfs.bin",
    "partition-tables/micropython/partitions-4MiBplus.bin",
    "partition-tables/micropython/partitions-8MiBplus-ota.bin",
    "partition-tables/esp-idf/idf-test-partitions.bin",
    "partition-tables/esp-idf/partitions-utf8-bom.bin",
    "partition-tables/esp32s3-ota-vfs.bin",
};
const size_t part_testdata_bins_count = sizeof(part_testdata_bins) / sizeof(part_testdata_bins[0]);

void assert_part(const struct mpota_partition *p, const char *label, uint8_t type,
                 uint8_t subtype, uint32_t offset, uint32_t size, uint32_t flags)
{
    assert_string_equal(p->label, label);
    assert_int_equal(p->type, type);
    assert_int_equal(p->subtype, subtype);
    assert_int_equal(p->offset, offset);
    assert_int_equal(p->size, size);
    assert_int_equal(p->flags, flags);
}
