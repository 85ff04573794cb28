// mpota: the host CLI. Dispatches to one file per command group.
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: mpota <group> <command> ...\n"
    "  mpota image info FILE [--json]\n"
    "  mpota image verify FILE [--sha256 HEX] [--md5 HEX] [--length N] [--chip NAME]\n"
    "  mpota image extract-app FILE -o OUT\n"
    "  mpota image build -o OUT [--size N] [--version V] [--project P] [--chip NAME] ...\n"
    "  mpota part show FILE [--json]\n"
    "  mpota part convert IN OUT\n"
    "  mpota part make --layout factory|ota|ota-factory [--flash-size 4M] ... -o OUT\n"
    "  mpota flash new FLASH --size 4M --table T.csv|T.bin [--app IMAGE [--slot LABEL]]\n"
    "  mpota flash status FLASH [--json]\n"
    "  mpota flash boot FLASH [--json]\n"
    "  mpota flash set-boot FLASH LABEL\n"
    "  mpota flash confirm FLASH\n"
    "  mpota flash rollback FLASH\n"
    "  mpota flash write-slot FLASH LABEL IMAGE [--force]\n"
    "  mpota flash update FLASH FILE|URL|MANIFEST.json [--sha256 HEX] [--md5 HEX] [--length N]\n"
    "        [--sidecar] [--no-verify] [--reboot [--confirm]] [--json] [--cacert PEM] [--insecure]\n"
    "  mpota manifest make IMAGE [--url URL] -o manifest.json\n"
    "exit status: 0 success, 1 refused or invalid input, 2 usage\n";

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "image")) {
        return cmd_image(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "part")) {
        return cmd_part(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "flash")) {
        return cmd_flash(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "manifest")) {
        return cmd_manifest(argc - 2, argv + 2);
    }
    fprintf(stderr, "mpota: unknown command group '%s'\n", argv[1]);
    fputs(usage, stderr);
    return CLI_USAGE;
}
