/* main.c -- the keel command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keel COMMAND [ARGS]\n"
            "  info MODEL.onnx [--json] [--values] [--passes] [--passes-off LIST] [--dim NAME=N]...\n"
            "                             describe a model: I/O, shapes, parameters, MACs, ops;\n"
            "                             --passes: the session graph after each pass\n"
            "  run MODEL.onnx [-i NAME=FILE]... [-o DIR] [--npy] [--dim NAME=N]... [--threads N] [--timeout S]\n"
            "        [--passes-off LIST]\n"
            "                             run once; write every output to DIR/<name>.pb\n"
            "  check CASE_DIR... [--rtol R] [--atol A] [--threads N] [--isa NAME] [--timeout S]\n"
            "        [--passes-off LIST] [--skip-list FILE] [--quiet]\n"
            "                             run ONNX backend-test cases and compare outputs\n"
            "  check --list-isas          the instruction sets this CPU runs, one a line\n"
            "  bench MODEL.onnx [--threads N] [--runs N] [--warmup N] [--isa NAME] [--timeout S] [--json] [--profile]\n"
            "        [--top N] [--passes-off LIST] [-i NAME=FILE]... [--dim NAME=N]...\n"
            "                             latency min/median/max, load time, peak memory\n"
            "  zoo list|export|check|bench [NAME...]\n"
            "                             the backbone zoo of backbone_zoo/zoo.yaml\n"
            "  version                    print the library version\n"
            "--passes-off LIST: passes not to run, separated by commas (keel info --passes names\n"
            "  them; a name that cannot be turned off is refused with the list of those that can)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* keel splits its products over its own threads: OpenBLAS's would only
     * compete with them (see keel.h) */
    openblas_set_num_threads(1);
    const char *cmd = argv[1];
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "zoo") == 0)
        return cmd_zoo(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("keel %s\n", keel_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "keel: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
