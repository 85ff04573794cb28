#include "table_build.h"

#include <stdio.h>
#include <string.h>

void table_add(struct mpota_table *t, const char *label, uint8_t type, uint8_t subtype,
               uint32_t off, uint32_t size)
{
    struct mpota_partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof(*p));
    p->type = type;
    p->subtype = subtype;
    p->offset = off;
    p->size = size;
    snprintf(p->label, sizeof(p->label), "%s", label);
}
