// The first bytes of an app image, read once (image.h, struct
// mpota_image_head): the parser decodes its header here, identify classifies
// with the record, and the update session keeps it from pre-flight to end.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/image.h"

void mpota_image_header_decode(const uint8_t h[MPOTA_IMAGE_HEADER_LEN],
                               struct mpota_image_header *o)
{
    o->magic = h[0];
    o->segment_count = h[1];
    o->spi_mode = h[2];
    o->spi_speed = h[3] & 0x0Fu;
    o->spi_size = h[3] >> 4;
    o->entry_addr = mpota_le32(h + 4);
    o->wp_pin = h[8];
    memcpy(o->spi_pin_drv, h + 9, 3);
    o->chip_id = mpota_le16(h + 12);
    o->min_chip_rev = h[14];
    o->min_chip_rev_full = mpota_le16(h + 15);
    o->max_chip_rev_full = mpota_le16(h + 17);
    o->hash_appended = h[23];
}

void mpota_image_head_read(const uint8_t *b, size_t len, struct mpota_image_head *out)
{
    memset(out, 0, sizeof(*out));
    if (len >= MPOTA_IMAGE_HEADER_LEN) {
        mpota_image_header_decode(b, &out->header);
    }
    // esp_app_desc_t is read at 0x20 whatever the segments say (as
    // esp_ota_get_partition_description does); a partial one is decoded as
    // far as it goes, so its magic word still tells an app from a bootloader.
    if (len > MPOTA_APP_DESC_OFFSET) {
        out->app_desc_present = mpota_app_desc_decode(b + MPOTA_APP_DESC_OFFSET,
                                                      len - MPOTA_APP_DESC_OFFSET,
                                                      &out->app_desc) == MPOTA_OK;
    }
}
