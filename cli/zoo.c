/* zoo.c -- `keel zoo list|export|check|bench [NAME...]`: the backbone zoo
 * of backbone_zoo/zoo.yaml.  Exports are made by backbone_zoo/export.py
 * (Debian's python3-torch) and cached by content; check validates every
 * entry against PyTorch's outputs and its published parameter count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "manifest.h"

#ifndef KEEL_ZOO_DIR
#define KEEL_ZOO_DIR "backbone_zoo"
#endif

#define MAX_NAMES 256

typedef struct zoo_opts {
    char manifest[1024], cache[1024], script[1024];
    const char *names[MAX_NAMES];
    int n_names;
    char *bench_args[16];
    int n_bench_args;
} zoo_opts;

static void default_paths(zoo_opts *o)
{
    const char *dir = getenv("KEEL_ZOO_DIR") ? getenv("KEEL_ZOO_DIR") : KEEL_ZOO_DIR;
    snprintf(o->manifest, sizeof o->manifest, "%s/zoo.yaml", dir);
    snprintf(o->script, sizeof o->script, "%s/export.py", dir);
    const char *cache = getenv("KEEL_CACHE"), *home = getenv("HOME");
    if (cache)
        snprintf(o->cache, sizeof o->cache, "%s/zoo", cache);
    else
        snprintf(o->cache, sizeof o->cache, "%s/.cache/keel/zoo", home ? home : "/tmp");
}

static int by_address(const void *pa, const void *pb)
{
    const zoo_entry *a = *(const zoo_entry *const *)pa, *b = *(const zoo_entry *const *)pb;
    return (a > b) - (a < b);
}

/* The selected entries once each in the manifest's order (the order the
 * exporter works in), into order[]; returns their count. */
static int manifest_order(const zoo_entry **sel, int n, const zoo_entry **order)
{
    memcpy(order, sel, (size_t)n * sizeof *order);
    qsort(order, (size_t)n, sizeof *order, by_address);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || order[i] != order[k - 1])
            order[k++] = order[i];
    return k;
}

/* The exporter's line for a finished entry: a folder of the cache named
 * "<name>-<hash>"; fills dirs[i] for each entry i of `sel` it is for and
 * returns the entry, NULL for any other line. */
static const zoo_entry *take_folder(const zoo_opts *o, const zoo_entry **sel, int n, char **dirs,
                                    const char *line)
{
    if (strncmp(line, o->cache, strlen(o->cache)) != 0)
        return NULL;
    const char *base = strrchr(line, '/');
    base = base ? base + 1 : line;
    const zoo_entry *found = NULL;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(sel[i]->name);
        if (!dirs[i] && strncmp(base, sel[i]->name, len) == 0 && base[len] == '-') {
            dirs[i] = strdup(line);
            found = sel[i];
        }
    }
    return found;
}

/* The progress line's next entry once `done` has finished. */
static void export_progress(cli_progress *prog, const zoo_entry **order, int n_order, const zoo_entry *done)
{
    for (int k = 0; prog && k + 1 < n_order; k++)
        if (order[k] == done)
            cli_progress_entry(prog, k + 1, order[k + 1]->name);
}

/* Reads the exporter's lines: its folders, and with a progress line (the
 * exporter's stderr then merged into the pipe) its messages, passed on to
 * stderr with the line erased. */
static void read_exporter(FILE *p, const zoo_opts *o, const zoo_entry **sel, int n, char **dirs,
                          cli_progress *prog, const zoo_entry **order, int n_order)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, p) > 0) {
        char *end = line + strcspn(line, "\r\n");
        char kept = *end;
        *end = 0;
        const zoo_entry *done = take_folder(o, sel, n, dirs, line);
        if (done)
            export_progress(prog, order, n_order, done);
        else if (prog) { /* as it came, ended by a newline so the line never draws over it */
            *end = kept;
            cli_progress_printf(prog, stderr, "%s%s", line, kept ? "" : "\n");
        }
    }
    free(line);
}

/* Runs the exporter for the selected entries; fills dirs[i] for entry i of
 * `sel` (NULL where the export failed).  On a terminal, a progress line
 * follows the entries as the exporter finishes them. */
static int export_entries(const zoo_opts *o, const zoo_entry **sel, int n, char **dirs)
{
    size_t cap = 4096 + (size_t)n * 80;
    char *cmd = malloc(cap);
    const zoo_entry **order = malloc(((size_t)n + 1) * sizeof *order);
    if (!cmd || !order) {
        free(cmd);
        free(order);
        return -1;
    }
    int n_order = manifest_order(sel, n, order);
    cli_progress *prog = cli_progress_start("export", n_order);
    const char *py = getenv("KEEL_PYTHON") ? getenv("KEEL_PYTHON") : "/usr/bin/python3";
    size_t used = (size_t)snprintf(cmd, cap, "'%s' '%s' --manifest '%s' --cache '%s'", py, o->script,
                                   o->manifest, o->cache);
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(cmd + used, cap - used, " %s", sel[i]->name);
    if (prog)
        snprintf(cmd + used, cap - used, " 2>&1");
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) {
        cli_progress_stop(prog);
        free(order);
        fprintf(stderr, "keel zoo: cannot run the exporter\n");
        return -1;
    }
    if (n_order > 0)
        cli_progress_entry(prog, 0, order[0]->name);
    read_exporter(p, o, sel, n, dirs, prog, order, n_order);
    int rc = pclose(p);
    cli_progress_stop(prog);
    free(order);
    return rc == 0 ? 0 : 1;
}

/* Parameters and MACs of an exported entry; false with a reason on failure. */
static bool measure(const char *dir, int64_t *params, int64_t *macs, char *why, size_t wn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    keel_model *m;
    keel_session *s;
    if (keel_model_load(&m, path, NULL, why, wn))
        return false;
    kl_model_info info;
    kl_inspect_model(m, &info);
    *params = info.parameters;
    bool ok = keel_session_create(&s, m, NULL, NULL, 0, NULL, why, wn) == KEEL_OK;
    kl_plan_info plan = {0};
    if (ok)
        kl_inspect_plan(s, &plan);
    *macs = plan.macs;
    keel_session_free(s);
    keel_model_free(m);
    return ok;
}

static int zoo_list(const zoo_manifest *man, const zoo_entry **sel, int n)
{
    (void)man;
    printf("%-22s %-30s %-18s %5s %14s  %s\n", "name", "family", "input", "opset", "params", "source");
    for (int i = 0; i < n; i++) {
        const zoo_entry *e = sel[i];
        char shape[64] = "";
        size_t used = 0;
        for (int d = 0; d < e->rank; d++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, d ? "x%lld" : "%lld",
                                     (long long)e->input[d]);
        printf("%-22s %-30s %-18s %5d %14lld  %s%s%s\n", e->name, e->family, shape, e->opset,
               (long long)e->params, e->source, e->options[0] ? " " : "", e->options);
    }
    return 0;
}

static int zoo_check(const zoo_opts *o, const zoo_entry **sel, int n)
{
    char **dirs = calloc((size_t)n + 1, sizeof *dirs);
    if (!dirs || export_entries(o, sel, n, dirs) < 0) {
        free(dirs);
        return 1;
    }
    int passed = 0, failed = 0;
    printf("%-22s %14s %14s %7s %9s %10s %10s  %s\n", "name", "params(file)", "published", "diff%",
           "GMACs", "max abs", "max rel", "result");
    cli_progress *prog = cli_progress_start("check", n);
    for (int i = 0; i < n; i++) {
        const zoo_entry *e = sel[i];
        cli_progress_entry(prog, i, e->name);
        char why[1024] = "";
        int64_t params = 0, macs = 0;
        case_report rep = {0};
        bool ok = dirs[i] != NULL;
        if (!ok)
            snprintf(why, sizeof why, "export failed (see the exporter's messages above)");
        ok = ok && measure(dirs[i], &params, &macs, why, sizeof why);
        double diff = e->params ? 100.0 * (double)(params - e->params) / (double)e->params : 0;
        if (ok && fabs(diff) > 100.0 * e->params_tolerance) {
            snprintf(why, sizeof why, "parameter count %lld is %.2f%% from the published %lld (tolerance %.2f%%)",
                     (long long)params, diff, (long long)e->params, 100.0 * e->params_tolerance);
            ok = false;
        }
        if (ok && !cli_run_case(dirs[i], e->rtol, e->atol, &rep)) {
            snprintf(why, sizeof why, "%s", rep.why);
            ok = false;
        }
        cli_progress_printf(prog, stdout, "%-22s %14lld %14lld %7.2f %9.3f %10.3g %10.3g  %s%s%s\n", e->name,
                            (long long)params, (long long)e->params, diff, (double)macs / 1e9, rep.max_abs,
                            rep.max_rel, ok ? "pass" : "FAIL", ok ? "" : ": ", ok ? "" : why);
        ok ? passed++ : failed++;
        free(dirs[i]);
    }
    cli_progress_stop(prog);
    free(dirs);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

static int zoo_export(const zoo_opts *o, const zoo_entry **sel, int n)
{
    char **dirs = calloc((size_t)n + 1, sizeof *dirs);
    int rc = dirs ? export_entries(o, sel, n, dirs) : -1;
    for (int i = 0; dirs && i < n; i++) {
        printf("%-22s %s\n", sel[i]->name, dirs[i] ? dirs[i] : "(export failed)");
        rc |= !dirs[i];
        free(dirs[i]);
    }
    free(dirs);
    return rc ? 1 : 0;
}

static int zoo_bench(const zoo_opts *o, const zoo_entry **sel, int n)
{
    char **dirs = calloc((size_t)n + 1, sizeof *dirs);
    if (!dirs || export_entries(o, sel, n, dirs) < 0) {
        free(dirs);
        return 1;
    }
    int rc = 0;
    cli_progress *prog = cli_progress_start("bench", n);
    for (int i = 0; i < n; i++) {
        cli_progress_entry(prog, i, sel[i]->name);
        if (!dirs[i]) {
            rc = 1;
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/model.onnx", dirs[i]);
        char *argv[24] = {"bench", path};
        int argc = 2;
        for (int k = 0; k < o->n_bench_args; k++)
            argv[argc++] = o->bench_args[k];
        cli_progress_printf(prog, stdout, "== %s\n", sel[i]->name);
        cli_progress_hold(prog); /* keel bench prints as it goes */
        rc |= cmd_bench(argc, argv);
        cli_progress_release(prog);
        free(dirs[i]);
    }
    cli_progress_stop(prog);
    free(dirs);
    return rc;
}

int cmd_zoo(int argc, char **argv)
{
    zoo_opts o;
    memset(&o, 0, sizeof o);
    default_paths(&o);
    const char *verb = argc > 1 ? argv[1] : NULL;
    for (int i = 2; i < argc; i++) {
        bool has_val = i + 1 < argc;
        if (strcmp(argv[i], "--manifest") == 0 && has_val)
            snprintf(o.manifest, sizeof o.manifest, "%s", argv[++i]);
        else if (strcmp(argv[i], "--cache") == 0 && has_val)
            snprintf(o.cache, sizeof o.cache, "%s", argv[++i]);
        else if ((strcmp(argv[i], "--threads") == 0 || strcmp(argv[i], "--runs") == 0 ||
                  strcmp(argv[i], "--warmup") == 0) && has_val && o.n_bench_args < 14) {
            o.bench_args[o.n_bench_args++] = argv[i];
            o.bench_args[o.n_bench_args++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keel zoo: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (o.n_names < MAX_NAMES)
            o.names[o.n_names++] = argv[i];
    }
    if (!verb || (strcmp(verb, "list") && strcmp(verb, "export") && strcmp(verb, "check") && strcmp(verb, "bench"))) {
        cli_usage("zoo", stderr);
        return 2;
    }
    zoo_manifest man;
    char err[1024];
    if (zoo_manifest_load(o.manifest, &man, err, sizeof err)) {
        fprintf(stderr, "keel zoo: %s\n", err);
        return 1;
    }
    const zoo_entry **sel = calloc((size_t)man.n + 1, sizeof *sel);
    int n = 0, rc = 0;
    if (o.n_names == 0)
        for (int i = 0; i < man.n; i++)
            sel[n++] = &man.entries[i];
    for (int i = 0; i < o.n_names && sel; i++) {
        const zoo_entry *e = zoo_manifest_find(&man, o.names[i]);
        if (!e) {
            fprintf(stderr, "keel zoo: no entry '%s' in %s\n", o.names[i], o.manifest);
            rc = 2;
        } else if (n < man.n)
            sel[n++] = e;
    }
    if (!rc && sel) {
        if (strcmp(verb, "list") == 0)
            rc = zoo_list(&man, sel, n);
        else if (strcmp(verb, "export") == 0)
            rc = zoo_export(&o, sel, n);
        else if (strcmp(verb, "check") == 0)
            rc = zoo_check(&o, sel, n);
        else
            rc = zoo_bench(&o, sel, n);
    }
    free(sel);
    zoo_manifest_free(&man);
    return rc;
}
