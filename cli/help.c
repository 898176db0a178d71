/* help.c -- each subcommand's usage, options and an example: `keel help
 * COMMAND`, `keel COMMAND --help`, and the usage line a bad argument gets. */
#include <string.h>

#include "cli.h"

typedef struct command_help {
    const char *name;
    const char *usage;    /* after "usage: keel " */
    const char *summary;  /* one line for `keel help` */
    const char *does;
    const char *options;  /* one "  OPTION  what" line each */
    const char *example;
} command_help;

#define PASSES_OFF "  --passes-off LIST   optional passes not to run, comma-separated (`keel info --passes` names them)\n"
#define TIMEOUT "  --timeout SECONDS   stop session creation and each run after this long\n"
#define THREADS "  --threads N         keel's threads (default 1)\n"
#define DIM "  --dim NAME=N        a value for a symbolic input dimension\n"
#define ISA "  --isa NAME          highest instruction set: auto, generic, avx2, avx512\n"

static const command_help commands[] = {
    {.name = "info",
     .summary = "describe a model and what keel plans for it",
     .usage = "info MODEL.onnx [--json] [--values] [--passes] [--dot] [--passes-off LIST] [--dim NAME=N]...",
     .does = "Describes a model: producer, opsets, inputs and outputs with inferred shapes, parameters,\n"
             "MACs, the op histogram, the ops keel cannot run, and the plan's arena.  With --dot, draws\n"
             "its graph for Graphviz instead: keel info MODEL.onnx --dot | dot -Tsvg > model.svg",
     .options = "  --json              one JSON object\n"
                "  --values            every value's dtype and shape\n"
                "  --passes            the session graph after each pass: nodes, op histogram, notes\n"
                "  --dot               the graph in Graphviz DOT on stdout: a box per node, edges labeled with\n"
                "                      the planned shapes; with --passes the session graph after every pass,\n"
                "                      fused nodes as one (Conv+Relu)\n" PASSES_OFF DIM,
     .example = "keel info resnet50.onnx --passes"},
    {.name = "run",
     .summary = "run a model once, outputs to files",
     .usage = "run MODEL.onnx [-i NAME=FILE]... [-o DIR] [--npy] [--dump DIR] [--dim NAME=N]... [--threads N]\n"
              "           [--isa NAME] [--timeout SECONDS] [--passes-off LIST]",
     .does = "Runs the model once (inputs from files, else an error naming what is missing), prints each\noutput's shape and the load, session and run times, and with -o writes the outputs.",
     .options = "  -i NAME=FILE        an input from a TensorProto .pb or a NumPy .npy (-i FILE: in order)\n"
                "  -o DIR              write every output as DIR/<output name>.pb (without it: shapes only)\n"
                "  --npy               also write each output as .npy\n"
                "  --dump DIR          run with the rewrites off and write every value (inputs, each node's\n"
                "                      outputs) as DIR/<file>.npy, listed in DIR/index.json (name, file, node,\n"
                "                      op type, dtype, shape); <file> is the value's name with each byte outside\n"
                "                      A-Z a-z 0-9 . _ - (and a leading .) made '_', and ~N added to a repeat\n" DIM
                    THREADS ISA TIMEOUT PASSES_OFF,
     .example = "keel run model.onnx -i input=x.npy -o out --npy"},
    {.name = "check",
     .summary = "run ONNX backend-test cases and compare",
     .usage = "check CASE_DIR... [--rtol R] [--atol A] [--threads N] [--isa NAME] [--timeout SECONDS]\n"
              "           [--passes-off LIST] [--skip-list FILE] [--trace | --no-trace] [--quiet]\n"
              "       keel check --list-isas",
     .does = "Runs ONNX backend-test cases (model.onnx + test_data_set_N/input_K.pb, output_K.pb) and\n"
             "compares the outputs; closes with `N passed, N failed` and exits 0 only when none failed.\n"
             "When an output is out of tolerance, a trace runs that data set again on keel's reference path\n"
             "(portable kernels, no rewrites, double accumulation in Conv, Gemm, MatMul and the reductions)\n"
             "and names the first value where the fast path departs from it (keel at fault), or says that\n"
             "they agree (the model or its expected outputs at fault).\n"
             "Over several cases, when stderr is a terminal, a progress line there shows `[I/N] CASE`, the time\n"
             "elapsed and an estimate of the time left (KEEL_PROGRESS=0 turns it off).",
     .options = "  --rtol R, --atol A  tolerances (default 1e-3 and 1e-4)\n" THREADS ISA TIMEOUT PASSES_OFF
                "  --skip-list FILE    case names not to attempt, each with its reason\n"
                "  --trace             trace every case, passed ones too (first data set)\n"
                "  --no-trace          no trace, even for failures\n"
                "  --quiet             print failures and the summary only\n"
                "  --list-isas         the instruction sets this CPU runs, one a line\n",
     .example = "keel check /usr/share/libonnx-testdata/data/node/test_relu"},
    {.name = "compare",
     .summary = "run two models on the same inputs, value by value",
     .usage = "compare A.onnx B.onnx [-i NAME=FILE]... [--rtol R] [--atol A] [--json] [--svg FILE] [--quiet]\n"
              "           [--seed N] [--dim NAME=N]... [--threads N] [--isa NAME]",
     .does = "Runs both models, rewrites off, on the same inputs (the files given, else seeded random ones:\n"
             "floats in [-1, 1), integers in [0, 10)).  Pairs their values by name, else by node position where\n"
             "both graphs have the same op types node by node, and prints each pair in A's schedule order with\n"
             "B's max abs and max rel error against A and the distance in float32 ULPs.  Names the first\n"
             "node whose output is out of tolerance (|b - a| > atol + rtol |a|).  Exit 0 when none is, 1 when\n"
             "one is, 2 when the comparison could not be made.",
     .options = "  -i NAME=FILE        an input of A from .pb or .npy (B's of the same name, else position)\n"
                "  --rtol R, --atol A  tolerances (default 1e-3 and 1e-4)\n"
                "  --json              one JSON object: first_divergent (node, op_type, output, errors) and\n"
                "                      a record per paired value\n"
                "  --svg FILE          each value's error over the tolerance, along the schedule, log scale\n"
                "  --quiet             the summary line only\n"
                "  --seed N            seed of the random inputs (default 1)\n" DIM THREADS ISA,
     .example = "keel compare model.onnx model_fp16.onnx --svg where.svg"},
    {.name = "bench",
     .summary = "time a model",
     .usage = "bench MODEL.onnx [--threads N] [--runs N] [--warmup N] [--isa NAME] [--timeout SECONDS]\n"
              "           [--passes-off LIST] [--sessions N] [--json] [--profile] [--top N] [--trace FILE.json]\n"
              "           [--serve] [-i NAME=FILE]... [--dim NAME=N]...",
     .does = "Times the model: load and session time, latency min/median/max, peak memory, and the time to plan\n"
             "its shapes again once its weights are packed (re-plan).  Symbolic dims not given are planned as 1.\n"
             "A batch whose images stay apart runs one image at a time per thread (the batch: line; --profile\n"
             "and --trace time the batch's own steps, layer by layer).",
     .options = THREADS "  --runs N            timed runs (default 10)\n"
                        "  --warmup N          untimed runs first (default 2)\n" ISA TIMEOUT PASSES_OFF
                        "  --json              one JSON object\n"
                        "  --profile           time per op type and the slowest nodes\n"
                        "  --top N             slowest nodes listed by --profile (default 10)\n"
                        "  --trace FILE.json   a Chrome trace (chrome://tracing, Perfetto): load, session creation,\n"
                        "                      its passes, and each timed run's steps (views, which run no kernel,\n"
                        "                      are left out) with output shapes, MACs and GFLOP/s\n"
                        "  --serve             after the warm-up, time runs on request (scripts/compare_ort.py)\n"
                        "  --sessions N        N sessions of the model at once, each run once (peak memory)\n"
                        "  -i NAME=FILE        inputs from files (default: random data)\n" DIM,
     .example = "keel bench resnet50.onnx --threads 2 --runs 50 --profile"},
    {.name = "zoo",
     .summary = "the backbone zoo: list, export, check, time",
     .usage = "zoo list|export|check|bench [NAME...] [--manifest FILE] [--cache DIR] [--threads N] [--runs N]\n"
              "           [--warmup N]",
     .does = "The backbone zoo of backbone_zoo/zoo.yaml: list it, export entries from PyTorch (seeded random\n"
             "weights), check them against PyTorch, or time them.  When stderr is a terminal, a progress line\n"
             "there shows the step, `[I/N] ENTRY`, the time elapsed and an estimate of the time left\n"
             "(KEEL_PROGRESS=0 turns it off).",
     .options = "  --manifest FILE     another zoo.yaml\n"
                "  --cache DIR         where exports are kept (default $KEEL_CACHE/zoo, else ~/.cache/keel/zoo)\n" THREADS
                "  --runs N, --warmup N  for bench\n",
     .example = "keel zoo check resnet50 mobilenet_v2"},
    {.name = "version",
     .summary = "the library version", .usage = "version", .does = "Prints the library's version.", .options = "",
     .example = "keel version"},
};

static const command_help *find(const char *name)
{
    for (size_t k = 0; name && k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(commands[k].name, name) == 0)
            return &commands[k];
    return NULL;
}

void cli_usage(const char *name, FILE *f)
{
    const command_help *h = find(name);
    if (h)
        fprintf(f, "usage: keel %s\n(keel %s --help for more)\n", h->usage, h->name);
}

bool cli_help(const char *name, FILE *f)
{
    const command_help *h = find(name);
    if (!h)
        return false;
    fprintf(f, "usage: keel %s\n\n%s\n\n", h->usage, h->does);
    if (h->options[0])
        fprintf(f, "options:\n%s\n", h->options);
    fprintf(f, "example:\n  %s\n", h->example);
    return true;
}

void cli_commands(FILE *f)
{
    fprintf(f, "usage: keel COMMAND [ARGS]   (keel help COMMAND, keel COMMAND --help)\n");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        fprintf(f, "  %-8s %s\n", commands[k].name, commands[k].summary);
}

/* s with roff's special characters escaped: '\' and '-' (options),
 * and a leading '.' or '\'' on a line. */
static void roff(FILE *f, const char *s)
{
    for (bool line_start = true; *s; s++) {
        if (line_start && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
        line_start = *s == '\n';
    }
}

/* The options text ("  OPTION   what\n" lines, the what's continuation
 * lines indented further) as roff .TP entries. */
static void roff_options(FILE *f, const char *opts)
{
    while (*opts) {
        const char *end = strchr(opts, '\n');
        size_t len = end ? (size_t)(end - opts) : strlen(opts);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)len, opts);
        char *o = line + strspn(line, " "), *gap = strstr(o, "  ");
        if (o - line > 2 && *o) { /* more of the entry above */
            roff(f, o);
            fputc('\n', f);
        } else if (gap) {
            *gap = 0;
            fputs(".TP\n.B ", f);
            roff(f, o);
            fputc('\n', f);
            roff(f, gap + 2 + strspn(gap + 2, " "));
            fputc('\n', f);
        }
        opts += len + (end ? 1 : 0);
    }
}

void cli_man(FILE *f)
{
    fprintf(f, ".TH KEEL 1 \"\" \"keel %s\" \"User Commands\"\n.SH NAME\nkeel \\- load, check, run and time ONNX models\n"
               ".SH SYNOPSIS\n.B keel\n.I COMMAND\n[\n.I ARGS\n]\n.br\n.B keel help\n.I COMMAND\n"
               ".SH DESCRIPTION\nkeel loads an ONNX model, checks it, infers every shape, plans its memory and runs "
               "it.  Each command below also answers\n.BR \\-\\-help .\n.SH COMMANDS\n",
            keel_version());
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        const command_help *h = &commands[k];
        fprintf(f, ".SS %s\n.nf\nkeel ", h->name);
        roff(f, h->usage);
        fputs("\n.fi\n.PP\n", f);
        roff(f, h->does);
        fputc('\n', f);
        roff_options(f, h->options);
        fputs(".PP\nExample:\n.RS\n.nf\n", f);
        roff(f, h->example);
        fputs("\n.fi\n.RE\n", f);
    }
    fputs(".SH ENVIRONMENT\n.TP\n.B KEEL_CACHE\nwhere exports and reference outputs are cached "
          "(default ~/.cache/keel)\n.TP\n.B KEEL_PROGRESS\n0 turns off the progress line that check (over "
          "several cases) and zoo draw on a terminal\n.SH SEE ALSO\nThe library's interface: keel.h.  The "
          "project's README and docs/.\n",
          f);
}
