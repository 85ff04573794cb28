// esptool-style image report (image_report.h). The layout follows the text
// esptool v4.12 `image_info --version 2` prints (SPEC §8.2, and the
// reference outputs in shared/testdata/images/); the words are esptool's
// field names so the two outputs can be compared line by line.
#include "image_report.h"
#include "chip_names.h"

#include <string.h>

static void title(FILE *out, const char *chip, const char *what)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "%s%s%s", chip ? chip : "", chip ? " " : "", what);
    fprintf(out, "%s\n", line);
    for (int i = 0; i < n && i < (int)sizeof(line); i++) {
        fputc('=', out);
    }
    fputc('\n', out);
}

static void print_header(FILE *out, const struct mpota_image_info *info, const char *chip)
{
    const struct mpota_image_header *h = &info->header;
    title(out, chip, "image header");
    fprintf(out, "Image version: 1\n");  // always 1 for the ESP32 family
    if (h->entry_addr) {
        fprintf(out, "Entry point: %#8x\n", (unsigned)h->entry_addr);
    } else {
        fprintf(out, "Entry point not set\n");
    }
    fprintf(out, "Segments: %u\n", (unsigned)info->segments_seen);
    const char *size = mpota_chip_flash_size_name(h->spi_size);
    if (size) {
        fprintf(out, "Flash size: %s\n", size);
    } else {
        fprintf(out, "WARNING: Invalid flash size (0x%x)\n", (unsigned)h->spi_size << 4);
    }
    const char *freq = mpota_chip_flash_freq_name(h->chip_id, h->spi_speed);
    if (freq) {
        fprintf(out, "Flash freq: %s\n", freq);
    } else {
        fprintf(out, "WARNING: Invalid flash frequency (0x%x)\n", (unsigned)h->spi_speed);
    }
    const char *mode = mpota_chip_flash_mode_name(h->spi_mode);
    if (mode) {
        fprintf(out, "Flash mode: %s\n", mode);
    } else {
        fprintf(out, "WARNING: Invalid flash mode (%u)\n", (unsigned)h->spi_mode);
    }
    fputc('\n', out);

    title(out, chip, "extended image header");
    // Python's {:#02x} always writes the 0x prefix, C's %#x drops it for 0.
    fprintf(out, "WP pin: 0x%x%s\n", (unsigned)h->wp_pin,
            h->wp_pin == MPOTA_IMAGE_WP_PIN_DISABLED ? " (disabled)" : "");
    const uint8_t *drv = h->spi_pin_drv;
    fprintf(out,
            "Flash pins drive settings: clk_drv: 0x%x, q_drv: 0x%x, d_drv: 0x%x, "
            "cs0_drv: 0x%x, hd_drv: 0x%x, wp_drv: 0x%x\n",
            drv[0] & 0xFu, drv[0] >> 4, drv[1] & 0xFu, drv[1] >> 4, drv[2] & 0xFu, drv[2] >> 4);
    const char *name = mpota_chip_name(h->chip_id);
    if (name) {
        fprintf(out, "Chip ID: %u (%s)\n", (unsigned)h->chip_id, name);
    } else {
        fprintf(out, "Chip ID: %u (Unknown ID)\n", (unsigned)h->chip_id);
    }
    fprintf(out, "Minimal chip revision: v%u.%u, (legacy min_rev = %u)\n",
            h->min_chip_rev_full / 100u, h->min_chip_rev_full % 100u, (unsigned)h->min_chip_rev);
    fprintf(out, "Maximal chip revision: v%u.%u\n", h->max_chip_rev_full / 100u,
            h->max_chip_rev_full % 100u);
    fputc('\n', out);
}

static void print_segments(FILE *out, const struct mpota_image_info *info)
{
    title(out, NULL, "Segments information");
    fprintf(out, "%7s  %7s  %10s  %10s  %-10s\n", "Segment", "Length", "Load addr", "File offs",
            "Memory types");
    fprintf(out, "-------  -------  ----------  ----------  ------------\n");
    for (unsigned i = 0; i < info->segments_seen; i++) {
        const struct mpota_image_segment *s = &info->segments[i];
        const char *names[16];
        size_t n = mpota_chip_memory_types(info->header.chip_id, s->load_addr, names, 16);
        fprintf(out, "%7u  0x%05x  0x%08x  0x%08x  ", i, (unsigned)s->data_len,
                (unsigned)s->load_addr, (unsigned)s->file_off);
        for (size_t k = 0; k < n && k < 16; k++) {
            fprintf(out, "%s%s", k ? ", " : "", names[k]);
        }
        fputc('\n', out);
    }
    fputc('\n', out);
}

static void print_footer(FILE *out, const struct mpota_image_info *info, const char *chip)
{
    title(out, chip, "image footer");
    if (info->checksum_stored == info->checksum_calc) {
        fprintf(out, "Checksum: 0x%02x (valid)\n", (unsigned)info->checksum_stored);
    } else {
        fprintf(out, "Checksum: 0x%02x (invalid - calculated 0x%02x)\n",
                (unsigned)info->checksum_stored, (unsigned)info->checksum_calc);
    }
    if (info->header.hash_appended == 1) {
        fprintf(out, "Validation hash: ");
        for (unsigned i = 0; i < MPOTA_IMAGE_HASH_LEN; i++) {
            fprintf(out, "%02x", (unsigned)info->hash_calc[i]);
        }
        bool ok = memcmp(info->hash_calc, info->hash_stored, MPOTA_IMAGE_HASH_LEN) == 0;
        fprintf(out, " (%s)\n", ok ? "valid" : "invalid");
    }
}

static void print_app_desc(FILE *out, const struct mpota_app_desc *a)
{
    fputc('\n', out);
    title(out, NULL, "Application information");
    fprintf(out, "Project name: %s\n", a->project_name);
    fprintf(out, "App version: %s\n", a->version);
    fprintf(out, "Compile time: %s %s\n", a->date, a->time);
    fprintf(out, "ELF file SHA256: ");
    for (unsigned i = 0; i < sizeof(a->app_elf_sha256); i++) {
        fprintf(out, "%02x", (unsigned)a->app_elf_sha256[i]);
    }
    fputc('\n', out);
    fprintf(out, "ESP-IDF: %s\n", a->idf_ver);
    fprintf(out, "Minimal eFuse block revision: %u.%u\n", a->min_efuse_blk_rev_full / 100u,
            a->min_efuse_blk_rev_full % 100u);
    fprintf(out, "Maximal eFuse block revision: %u.%u\n", a->max_efuse_blk_rev_full / 100u,
            a->max_efuse_blk_rev_full % 100u);
    if (a->mmu_page_size) {
        // log2 of the page size; esptool prints it in KB.
        unsigned kb = a->mmu_page_size >= 10 && a->mmu_page_size < 32
                          ? 1u << (a->mmu_page_size - 10)
                          : 0;
        fprintf(out, "MMU page size: %u KB\n", kb);
    }
    fprintf(out, "Secure version: %u\n", (unsigned)a->secure_version);
}

static void print_bootloader_desc(FILE *out, const struct mpota_bootloader_desc *b)
{
    fputc('\n', out);
    title(out, NULL, "Bootloader information");
    fprintf(out, "Bootloader version: %u\n", (unsigned)b->version);
    fprintf(out, "ESP-IDF: %s\n", b->idf_ver);
    fprintf(out, "Compile time: %s\n", b->date_time);
}

void mpota_image_report_print(FILE *out, const struct mpota_image_info *info)
{
    fprintf(out, "File size: %u (bytes)\n", (unsigned)info->total_len);
    if (info->header.magic != MPOTA_IMAGE_MAGIC) {
        return;  // the header was never read
    }
    fputc('\n', out);
    const char *chip = mpota_chip_name(info->header.chip_id);
    if (!chip) {
        chip = "UNKNOWN CHIP";
    }
    print_header(out, info, chip);
    print_segments(out, info);
    if (!info->complete) {
        return;
    }
    print_footer(out, info, chip);
    if (info->app_desc_present) {
        print_app_desc(out, &info->app_desc);
    } else if (info->bootloader_desc_present) {
        print_bootloader_desc(out, &info->bootloader_desc);
    }
}

int mpota_image_report_buffer(FILE *out, const uint8_t *buf, size_t len, struct mpota_diag *d)
{
    struct mpota_image_info info;
    int err = mpota_image_parse(buf, len, MPOTA_CHIP_ANY, &info, d);
    mpota_image_report_print(out, &info);
    return err;
}
