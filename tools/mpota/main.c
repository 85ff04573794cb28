// mpota: the host CLI. Dispatches to one file per command group.
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "usage: mpota image|part|flash ...\n");
    return 2;
}
