/* main.c -- the keel command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"

/* Whether argv[2..] asks for help. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_commands(stderr);
        return 2;
    }
    /* keel splits its products over its own threads: OpenBLAS's would only
     * compete with them (see keel.h) */
    openblas_set_num_threads(1);
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc < 3) {
            cli_commands(stdout);
            return 0;
        }
        if (strcmp(argv[2], "--man") == 0) {
            cli_man(stdout);
            return 0;
        }
        if (cli_help(argv[2], stdout))
            return 0;
        fprintf(stderr, "keel help: no command '%s'\n", argv[2]);
        cli_commands(stderr);
        return 2;
    }
    if (wants_help(argc, argv) && cli_help(cmd, stdout))
        return 0;
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0)
        return cmd_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "zoo") == 0)
        return cmd_zoo(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("keel %s\n", keel_version());
        return 0;
    }
    fprintf(stderr, "keel: unknown command '%s'\n", cmd);
    cli_commands(stderr);
    return 2;
}
