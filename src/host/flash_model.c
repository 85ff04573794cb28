// Modeled device time (flash_model.h).
#include "flash_model.h"

const struct mpota_flash_model mpota_flash_model_w25q32jv = {
    .sector_erase_s = 0.045,
    .block_erase_s = 0.150,
    .page_program_s = 0.0004,
    .read_bytes_per_s = 6.65e6,
};

static const struct mpota_flash_model *model(const struct mpota_flash_model *m)
{
    return m ? m : &mpota_flash_model_w25q32jv;
}

double mpota_flash_model_erase_s(const struct mpota_flash_emu_counters *c,
                                 const struct mpota_flash_model *m)
{
    m = model(m);
    return (double)c->sector_erases * m->sector_erase_s + (double)c->block_erases * m->block_erase_s;
}

double mpota_flash_model_program_s(const struct mpota_flash_emu_counters *c,
                                   const struct mpota_flash_model *m)
{
    return (double)c->prog_pages * model(m)->page_program_s;
}

double mpota_flash_model_read_s(const struct mpota_flash_emu_counters *c,
                                const struct mpota_flash_model *m)
{
    return (double)c->read_bytes / model(m)->read_bytes_per_s;
}

double mpota_flash_model_seconds(const struct mpota_flash_emu_counters *c,
                                 const struct mpota_flash_model *m)
{
    return mpota_flash_model_erase_s(c, m) + mpota_flash_model_program_s(c, m) +
           mpota_flash_model_read_s(c, m);
}
