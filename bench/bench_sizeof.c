// Sizes of the caller-owned structs, as this compiler lays them out. Prints
// JSON. The cross-compiled layout (32-bit pointers, as on ESP32) is taken
// from bench/sizeof_probe.c by bench/core_build.py.
#include <stdio.h>

#include "mpota/session.h"

int main(void)
{
    size_t hashes = sizeof(mpota_sha256_t) + sizeof(mpota_md5_t);  // the parser's SHA, the MD5
    printf("{\"session_total\": %zu, \"session_hash_contexts\": %zu, "
           "\"session_without_hash\": %zu, \"sha256_ctx\": %zu, \"md5_ctx\": %zu, "
           "\"image_parser\": %zu, \"pointer\": %zu}\n",
           sizeof(mpota_session_t), hashes, sizeof(mpota_session_t) - hashes,
           sizeof(mpota_sha256_t), sizeof(mpota_md5_t), sizeof(mpota_image_parser_t),
           sizeof(void *));
    return 0;
}
