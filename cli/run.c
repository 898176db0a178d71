/* run.c -- `keel run`: one run of a model on inputs from files. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

#define MAX_ARGS 64

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool cli_parse_seconds(const char *s, uint64_t *ms)
{
    char *end;
    double secs = strtod(s, &end);
    if (end == s || *end || !(secs > 0) || secs > 1e9)
        return false;
    *ms = secs * 1e3 < 1 ? 1 : (uint64_t)(secs * 1e3);
    return true;
}

/* Matches "-i NAME=FILE" / "-i FILE" arguments to graph inputs: by name,
 * else in order. */
int cli_assign_inputs(const keel_model *m, char **specs, int n_specs, const char **files)
{
    int n_in = keel_model_input_count(m), next = 0;
    for (int k = 0; k < n_in; k++)
        files[k] = NULL;
    for (int j = 0; j < n_specs; j++) {
        char *eq = strchr(specs[j], '=');
        int k = -1;
        if (eq) {
            *eq = 0;
            for (int q = 0; q < n_in; q++)
                if (strcmp(keel_model_input_name(m, q), specs[j]) == 0)
                    k = q;
            if (k < 0) {
                fprintf(stderr, "keel: the model has no input named '%s'\n", specs[j]);
                return -1;
            }
        } else {
            while (next < n_in && files[next])
                next++;
            k = next;
            if (k >= n_in) {
                fprintf(stderr, "keel: more input files than the model's %d inputs\n", n_in);
                return -1;
            }
        }
        files[k] = eq ? eq + 1 : specs[j];
    }
    for (int k = 0; k < n_in; k++)
        if (!files[k]) {
            fprintf(stderr, "keel: no file given for input '%s' (use -i %s=FILE)\n",
                    keel_model_input_name(m, k), keel_model_input_name(m, k));
            return -1;
        }
    return 0;
}

/* Writes every output as DIR/<name>.pb (and .npy); '/' in names becomes '_'. */
static int save_outputs(const keel_session *s, keel_tensor *outs, const char *dir, bool npy)
{
    mkdir(dir, 0777);
    for (int k = 0; k < keel_session_output_count(s); k++) {
        const char *name = keel_session_output_name(s, k);
        char safe[256], path[1024], err[512];
        snprintf(safe, sizeof safe, "%s", name);
        for (char *p = safe; *p; p++)
            if (*p == '/')
                *p = '_';
        snprintf(path, sizeof path, "%s/%s.pb", dir, safe);
        if (cli_save_pb(path, &outs[k], name, err, sizeof err) != KEEL_OK) {
            fprintf(stderr, "keel: %s\n", err);
            return -1;
        }
        if (npy && cli_is_boxed(outs[k].dtype))
            fprintf(stderr, "keel: output '%s' is a %s value: written as .pb only\n", name,
                    keel_dtype_name(outs[k].dtype));
        else if (npy) {
            snprintf(path, sizeof path, "%s/%s.npy", dir, safe);
            if (cli_save_npy(path, &outs[k], err, sizeof err) != KEEL_OK) {
                fprintf(stderr, "keel: %s\n", err);
                return -1;
            }
        }
    }
    return 0;
}

/* Runs s once; with dumpdir, writing every value there.  0 when done. */
static int run_once(keel_session *s, const keel_tensor *inputs, keel_tensor *outs, const char *dumpdir,
                    const char *model)
{
    if (!dumpdir) {
        if (keel_session_run(s, inputs, outs) == KEEL_OK)
            return 0;
        fprintf(stderr, "keel: %s\n", keel_session_errmsg(s));
        return -1;
    }
    cli_dump d;
    bool ok = cli_dump_open(&d, dumpdir, model);
    keel_status st = ok ? cli_dump_run(&d, s, inputs, outs) : KEEL_OK;
    if (st)
        fprintf(stderr, "keel: %s\n", d.err[0] ? d.err : keel_session_errmsg(s));
    ok = cli_dump_close(&d) && ok;
    if (!ok)
        fprintf(stderr, "keel run --dump: %s\n", d.err);
    if (ok && !st)
        printf("%d values written to %s (index.json lists them)\n", d.n, dumpdir);
    return ok && !st ? 0 : -1;
}

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *outdir = NULL, *dumpdir = NULL;
    char *specs[MAX_ARGS];
    keel_dim_binding dims[MAX_ARGS];
    int n_specs = 0, n_dims = 0;
    bool npy = false;
    keel_options opt;
    keel_options_init(&opt);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-i") == 0 && i + 1 < argc && n_specs < MAX_ARGS)
            specs[n_specs++] = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            outdir = argv[++i];
        else if (strcmp(argv[i], "--npy") == 0)
            npy = true;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dumpdir = argv[++i];
            opt.optimize = 0; /* every value exists */
        }
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if ((opt.threads = atoi(argv[++i])) < 1) {
                fprintf(stderr, "keel run: bad --threads '%s' (want a positive count)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            if ((opt.isa = cli_parse_isa(argv[++i])) < 0) {
                fprintf(stderr, "keel run: bad --isa '%s' (want auto, generic, avx2 or avx512)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (!cli_parse_seconds(argv[++i], &opt.time_limit_ms)) {
                fprintf(stderr, "keel run: bad --timeout '%s' (want SECONDS > 0)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--passes-off") == 0 && i + 1 < argc)
            opt.passes_off = argv[++i];
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc) {
            if (n_dims == MAX_ARGS || !cli_parse_dim(argv[++i], &dims[n_dims++])) {
                fprintf(stderr, "keel: bad --dim '%s' (want NAME=N)\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keel: unknown option '%s'\n", argv[i]);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        cli_usage("run", stderr);
        return 2;
    }
    char err[CLI_ERRMSG];
    keel_model *m;
    double t0 = cli_now_ms();
    if (keel_model_load(&m, path, &opt, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "keel: %s\n", err);
        return 1;
    }
    double t_load = cli_now_ms() - t0;
    int n_in = keel_model_input_count(m), n_out = keel_model_output_count(m), rc = 1;
    const char **files = calloc((size_t)n_in + 1, sizeof *files);
    keel_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    keel_tensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    keel_session *s = NULL;
    if (!files || !inputs || !outs || cli_assign_inputs(m, specs, n_specs, files))
        goto done;
    for (int k = 0; k < n_in; k++) {
        if (cli_load_input(m, k, files[k], &inputs[k], err, sizeof err) != KEEL_OK) {
            fprintf(stderr, "keel: %s\n", err);
            goto done;
        }
    }
    t0 = cli_now_ms();
    if (keel_session_create(&s, m, &opt, dims, n_dims, inputs, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "keel: %s\n", err);
        goto done;
    }
    double t_create = cli_now_ms() - t0;
    /* data = NULL: keel lends its own buffers (valid until the next run),
     * which also receives outputs whose shapes depend on the data */
    memset(outs, 0, (size_t)n_out * sizeof *outs);
    t0 = cli_now_ms();
    if (run_once(s, inputs, outs, dumpdir, path))
        goto done;
    double t_run = cli_now_ms() - t0;
    for (int k = 0; k < n_out; k++) {
        char shape[256];
        printf("%s: %s\n", keel_session_output_name(s, k), kl_shape_str(&outs[k], shape, sizeof shape));
    }
    printf("load %.1f ms, session %.1f ms, run %.1f ms\n", t_load, t_create, t_run);
    if (outdir && save_outputs(s, outs, outdir, npy))
        goto done;
    rc = 0;
done:
    for (int k = 0; k < n_in && inputs; k++)
        cli_tensor_free(&inputs[k]);
    free(files);
    free(inputs);
    free(outs);
    keel_session_free(s);
    keel_model_free(m);
    return rc;
}
