// mpota: the host CLI. Dispatches to one file per command group.
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef MPOTA_VERSION
#error "MPOTA_VERSION comes from project(VERSION) in CMakeLists.txt"
#endif

static const struct cli_group *const groups[] = {&cli_image_group,    &cli_part_group,
                                                 &cli_flash_group,    &cli_manifest_group,
                                                 &cli_delta_group,    NULL};

static void print_usage(FILE *f)
{
    fputs("usage: mpota GROUP COMMAND [ARGS] [OPTIONS]\n"
          "       mpota --version\n",
          f);
    cli_print_commands(f, groups);
    fputs("`mpota GROUP COMMAND --help` describes a command's options\n"
          "exit status: 0 success, 1 refused or invalid input, 2 usage\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mpota %s\n", MPOTA_VERSION);
        return CLI_OK;
    }
    for (const struct cli_group *const *g = groups; *g; g++) {
        if (!strcmp(argv[1], (*g)->name)) {
            return cli_dispatch(*g, argc - 2, argv + 2);
        }
    }
    fprintf(stderr, "mpota: unknown command group '%s'\n", argv[1]);
    print_usage(stderr);
    return CLI_USAGE;
}
