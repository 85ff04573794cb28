// Compiled (not linked) by bench/core_build.py with each cross compiler: the
// size of each array below is a sizeof as that target lays it out, read back
// with `nm -S`. Never part of the library.
#include "mpota/session.h"

const char mpota_probe_session_total[sizeof(mpota_session_t)] = {0};
const char mpota_probe_session_hash_contexts[sizeof(mpota_sha256_t) + sizeof(mpota_md5_t)] = {0};
const char mpota_probe_sha256_ctx[sizeof(mpota_sha256_t)] = {0};
const char mpota_probe_md5_ctx[sizeof(mpota_md5_t)] = {0};
const char mpota_probe_image_parser[sizeof(mpota_image_parser_t)] = {0};
