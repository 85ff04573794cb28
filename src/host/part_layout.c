// The layout maker; the layouts and their defaults are described in
// part_layout.h.
#include "part_layout.h"

#include <string.h>

#define FIRST_APP 0x10000u  // first 64 KiB boundary after nvs, otadata, phy_init

struct fixed_row {
    const char *label;
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    uint32_t size;
};

// MicroPython's partitions-4MiB-ota.csv / partitions-8MiBplus-ota.csv head.
static const struct fixed_row ota_head[] = {
    {"nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000},
    {"otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, 0xD000, MPOTA_OTADATA_SIZE},
    {"phy_init", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_PHY, 0xF000, 0x1000},
};

// MicroPython's partitions-2MiB.csv / partitions-4MiBplus.csv head: no
// otadata, so nvs takes its place.
static const struct fixed_row factory_head[] = {
    {"nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x6000},
    {"phy_init", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_PHY, 0xF000, 0x1000},
};

static void add_row(struct mpota_table *t, const char *label, uint8_t type, uint8_t subtype,
                    uint32_t offset, uint32_t size)
{
    struct mpota_partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof(*p));
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
    memcpy(p->label, label, strlen(label));  // labels here are short literals
}

static int option_error(struct mpota_diag *d, const char *name, uint32_t value)
{
    mpota_diag_label(d, name, strlen(name));
    return mpota_diag_set(d, MPOTA_ERR_LAYOUT_OPTION, 0, 0, value);
}

static uint32_t default_app_size(enum mpota_part_layout_kind kind, uint32_t flash)
{
    if (kind == MPOTA_PART_LAYOUT_FACTORY) {
        return flash <= 0x200000u ? 0x160000u : 0x1F0000u;
    }
    if (flash <= 0x200000u) {
        return MPOTA_PART_LAYOUT_APP_MIN;
    }
    return flash <= 0x400000u ? 0x180000u : 0x270000u;
}

static uint8_t fs_subtype(enum mpota_part_layout_fs fs)
{
    return fs == MPOTA_PART_LAYOUT_FS_LITTLEFS ? MPOTA_PART_SUBTYPE_LITTLEFS
           : fs == MPOTA_PART_LAYOUT_FS_SPIFFS ? MPOTA_PART_SUBTYPE_SPIFFS
                                               : MPOTA_PART_SUBTYPE_FAT;
}

static uint64_t round_up(uint32_t v, uint32_t align)
{
    return ((uint64_t)v + align - 1) / align * align;
}

static int check_opts(const struct mpota_part_layout_opts *o, uint32_t flash, struct mpota_diag *d)
{
    if ((unsigned)o->kind > MPOTA_PART_LAYOUT_OTA_FACTORY) {
        return option_error(d, "kind", (uint32_t)o->kind);
    }
    if ((unsigned)o->fs > MPOTA_PART_LAYOUT_FS_NONE) {
        return option_error(d, "fs", (uint32_t)o->fs);
    }
    if (flash < MPOTA_PART_LAYOUT_FLASH_MIN || flash > MPOTA_PART_LAYOUT_FLASH_MAX ||
        (flash & (flash - 1)) != 0) {
        return option_error(d, "flash_size", flash);
    }
    if (o->app_size && (o->app_size < MPOTA_PART_LAYOUT_APP_MIN ||
                        o->app_size % MPOTA_PART_LAYOUT_APP_ALIGN != 0)) {
        return option_error(d, "app_size", o->app_size);
    }
    if (o->fs_size % MPOTA_PART_DATA_ALIGN != 0) {
        return option_error(d, "fs_size", o->fs_size);
    }
    return MPOTA_OK;
}

int mpota_part_layout_make(const struct mpota_part_layout_opts *opts, struct mpota_table *out,
                           struct mpota_diag *d)
{
    static const struct mpota_part_layout_opts defaults = {0};
    const struct mpota_part_layout_opts *o = opts ? opts : &defaults;
    memset(out, 0, sizeof(*out));
    mpota_diag_label(d, "", 0);
    uint32_t flash = o->flash_size ? o->flash_size : 0x400000u;
    int err = check_opts(o, flash, d);
    if (err) {
        return err;
    }

    uint32_t apps = o->kind == MPOTA_PART_LAYOUT_OTA_FACTORY ? 3 : o->kind == MPOTA_PART_LAYOUT_OTA ? 2 : 1;
    const char *slot_name = o->kind == MPOTA_PART_LAYOUT_FACTORY ? "factory" : "ota_0";
    uint64_t slot = o->app_size ? o->app_size : default_app_size(o->kind, flash);
    uint32_t fs_min = o->fs == MPOTA_PART_LAYOUT_FS_NONE ? 0 : MPOTA_PART_LAYOUT_FS_MIN;
    // The largest slot this flash gives the kind, keeping room for the fs.
    uint64_t room = flash - FIRST_APP - fs_min;
    uint32_t max_slot = (uint32_t)(room / apps) / MPOTA_PART_LAYOUT_APP_ALIGN * MPOTA_PART_LAYOUT_APP_ALIGN;

    if (o->fit) {
        uint64_t need = round_up(o->fit, MPOTA_PART_LAYOUT_APP_ALIGN);
        uint32_t limit = o->app_size ? o->app_size : max_slot;
        if (need > limit && (o->app_size || max_slot >= MPOTA_PART_LAYOUT_APP_MIN)) {
            mpota_diag_label(d, slot_name, strlen(slot_name));
            return mpota_diag_set(d, MPOTA_ERR_LAYOUT_APP_TOO_BIG, 0, limit, o->fit);
        }
        if (need > slot) {
            slot = need;
        }
    }
    uint64_t apps_end = FIRST_APP + apps * slot;
    if (apps_end + fs_min > flash) {
        uint64_t needed = apps_end + fs_min;
        return mpota_diag_set(d, MPOTA_ERR_LAYOUT_NO_ROOM, 0, flash,
                              needed > UINT32_MAX ? UINT32_MAX : (uint32_t)needed);
    }

    const struct fixed_row *head = o->kind == MPOTA_PART_LAYOUT_FACTORY ? factory_head : ota_head;
    size_t head_n = o->kind == MPOTA_PART_LAYOUT_FACTORY ? 2 : 3;
    for (size_t i = 0; i < head_n; i++) {
        add_row(out, head[i].label, head[i].type, head[i].subtype, head[i].offset, head[i].size);
    }
    // From here on everything lies below flash, so 32 bits hold it.
    uint32_t at = FIRST_APP;
    uint32_t slot_size = (uint32_t)slot;
    if (o->kind != MPOTA_PART_LAYOUT_OTA) {
        add_row(out, "factory", MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY, at, slot_size);
        at += slot_size;
    }
    if (o->kind != MPOTA_PART_LAYOUT_FACTORY) {
        add_row(out, "ota_0", MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_OTA_0, at, slot_size);
        at += slot_size;
        add_row(out, "ota_1", MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_OTA_0 + 1, at, slot_size);
        at += slot_size;
    }
    if (o->fs != MPOTA_PART_LAYOUT_FS_NONE) {
        uint32_t rest = flash - at;
        uint32_t fs = o->fs_size && o->fs_size < rest ? o->fs_size : rest;
        add_row(out, "vfs", MPOTA_PART_TYPE_DATA, fs_subtype(o->fs), at, fs);
    }
    // Every layout above is valid by construction; the check keeps it so.
    struct mpota_part_rules rules = {.flash_size = flash, .table_offset = MPOTA_PART_TABLE_OFFSET};
    err = mpota_part_table_check(out, &rules, d);
    if (err) {
        out->count = 0;
    }
    return err;
}

static const char *const kind_names[] = {"ota", "factory", "ota-factory"};
static const char *const fs_names[] = {"fat", "littlefs", "spiffs", "none"};

static int index_of(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int mpota_part_layout_kind_from_name(const char *name, enum mpota_part_layout_kind *kind)
{
    int i = index_of(kind_names, sizeof(kind_names) / sizeof(kind_names[0]), name);
    if (i < 0) {
        return MPOTA_ERR_INVALID_ARG;
    }
    *kind = (enum mpota_part_layout_kind)i;
    return MPOTA_OK;
}

const char *mpota_part_layout_kind_name(enum mpota_part_layout_kind kind)
{
    return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : NULL;
}

int mpota_part_layout_fs_from_name(const char *name, enum mpota_part_layout_fs *fs)
{
    int i = index_of(fs_names, sizeof(fs_names) / sizeof(fs_names[0]), name);
    if (i < 0) {
        return MPOTA_ERR_INVALID_ARG;
    }
    *fs = (enum mpota_part_layout_fs)i;
    return MPOTA_OK;
}

const char *mpota_part_layout_fs_name(enum mpota_part_layout_fs fs)
{
    return (unsigned)fs < sizeof(fs_names) / sizeof(fs_names[0]) ? fs_names[fs] : NULL;
}
