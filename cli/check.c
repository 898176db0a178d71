/* check.c -- `keel check`: run ONNX backend-test cases and compare.
 *
 * A case is a folder with model.onnx and test_data_set_N/ folders holding
 * input_K.pb and output_K.pb.  A case needs at least one set, and each set
 * exactly the model's inputs and outputs: input_0.pb .. input_{n-1}.pb and
 * output_0.pb .. output_{m-1}.pb, none missing and none beyond.  Every set
 * is run; each output is compared elementwise with
 * |got - want| <= atol + rtol * |want| (exact for integers and booleans;
 * NaN must meet NaN).  A run where every case was skipped fails. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define MAX_SETS 64
#define MAX_IO 64

typedef struct skip_rule {
    char *pattern, *reason;
} skip_rule;

typedef enum trace_mode { TRACE_FAILURES = 0, TRACE_ALWAYS, TRACE_NEVER } trace_mode;

typedef struct check_opts {
    double rtol, atol;
    int threads;          /* keel_options.threads (0: one) */
    int isa;              /* keel_options.isa (0: the CPU's best) */
    uint64_t time_limit_ms;  /* keel_options.time_limit_ms (0: none) */
    const char *passes_off;  /* keel_options.passes_off (NULL: none) */
    bool quiet;
    trace_mode trace;
    skip_rule *skips;
    int n_skips;
} check_opts;

typedef struct compare_result {
    double max_abs, max_rel;
    int64_t bad;          /* elements out of tolerance */
    int64_t first_bad;
    double got, want;     /* at first_bad */
} compare_result;

/* ---- skip list ------------------------------------------------------------- */

static bool load_skips(const char *path, check_opts *o)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "keel check: cannot open skip list %s\n", path);
        return false;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = 0;
        if (!*p || *p == '#')
            continue;
        char *sep = p + strcspn(p, " \t");
        char *reason = *sep ? sep + 1 + strspn(sep + 1, " \t") : sep;
        *sep = 0;
        skip_rule *grown = realloc(o->skips, (size_t)(o->n_skips + 1) * sizeof *grown);
        if (!grown)
            break;
        o->skips = grown;
        o->skips[o->n_skips].pattern = strdup(p);
        o->skips[o->n_skips].reason = strdup(*reason ? reason : "(no reason given)");
        o->n_skips++;
    }
    fclose(f);
    return true;
}

static const char *skip_reason(const check_opts *o, const char *case_name)
{
    for (int i = 0; i < o->n_skips; i++)
        if (fnmatch(o->skips[i].pattern, case_name, 0) == 0)
            return o->skips[i].reason;
    return NULL;
}

/* ---- comparing ----------------------------------------------------------------- */

static void compare(const keel_tensor *got, const keel_tensor *want, const check_opts *o, compare_result *r)
{
    memset(r, 0, sizeof *r);
    r->first_bad = -1;
    int64_t n = keel_tensor_numel(want);
    bool exact = !cli_is_float(want->dtype);
    bool int64_exact = want->dtype == KEEL_INT64 || want->dtype == KEEL_UINT64;
    for (int64_t i = 0; i < n; i++) {
        double g = cli_element(got, i), w = cli_element(want, i);
        bool ok;
        if (int64_exact)
            ok = ((const int64_t *)got->data)[i] == ((const int64_t *)want->data)[i];
        else if (isnan(w) || isnan(g))
            ok = isnan(w) && isnan(g);
        else if (isinf(w) || isinf(g))
            ok = g == w;
        else {
            double err = fabs(g - w);
            if (err > r->max_abs)
                r->max_abs = err;
            if (w != 0 && err / fabs(w) > r->max_rel)
                r->max_rel = err / fabs(w);
            ok = exact ? g == w : err <= o->atol + o->rtol * fabs(w);
        }
        if (!ok) {
            if (r->first_bad < 0) {
                r->first_bad = i;
                r->got = g;
                r->want = w;
            }
            r->bad++;
        }
    }
}

/* Compares values of any kind: for a sequence item by item, for strings
 * byte for byte; a difference of kind, count or shape goes into `why`
 * (r->bad set).  `what` names the value. */
static void compare_value(const keel_tensor *got, const keel_tensor *want, const check_opts *o, compare_result *r,
                          const char *what, char *why, size_t wn)
{
    char gs[256], ws[256]; /* room for a dtype and KEEL_MAX_RANK dims */
    memset(r, 0, sizeof *r);
    r->first_bad = -1;
    if (got->dtype != want->dtype ||
        strcmp(kl_shape_str(got, gs, sizeof gs), kl_shape_str(want, ws, sizeof ws)) != 0) {
        snprintf(why, wn, "%s: got %s, expected %s", what, kl_shape_str(got, gs, sizeof gs),
                 kl_shape_str(want, ws, sizeof ws));
        r->bad = 1;
        return;
    }
    if (want->dtype == KEEL_SEQUENCE) {
        const keel_tensor *g = got->data, *w = want->data;
        for (int64_t i = 0; i < want->dims[0]; i++) {
            char item[512];
            snprintf(item, sizeof item, "%.400s item %lld", what, (long long)i);
            compare_value(&g[i], &w[i], o, r, item, why, wn);
            if (r->bad)
                return;
        }
        return;
    }
    if (want->dtype == KEEL_STRING) {
        int64_t n = keel_tensor_numel(want);
        for (int64_t i = 0; i < n; i++)
            if (strcmp(((char *const *)got->data)[i], ((char *const *)want->data)[i]) != 0) {
                if (!r->bad++)
                    snprintf(why, wn, "%s: string %lld is \"%.200s\", expected \"%.200s\"", what, (long long)i,
                             ((char *const *)got->data)[i], ((char *const *)want->data)[i]);
            }
        return;
    }
    if (want->dtype == KEEL_NONE)
        return;
    compare(got, want, o, r);
    if (r->bad)
        snprintf(why, wn, "%s: %lld of %lld elements out of tolerance; first at %lld: got %.9g, expected %.9g "
                 "(max abs err %.3g)", what, (long long)r->bad, (long long)keel_tensor_numel(want),
                 (long long)r->first_bad, r->got, r->want, r->max_abs);
}

/* ---- one case -------------------------------------------------------------------- */

typedef struct data_set {
    char *path;
    /* in[k] / out[k]: input_k.pb / output_k.pb, data NULL where no such
     * file; n_in / n_out: one past the highest index found */
    keel_tensor in[MAX_IO], out[MAX_IO];
    int n_in, n_out;
} data_set;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_sets(const char *dir, char **sets)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < MAX_SETS;)
        if (strncmp(e->d_name, "test_data_set_", 14) == 0) {
            size_t len = strlen(dir) + strlen(e->d_name) + 2;
            sets[n] = malloc(len);
            snprintf(sets[n++], len, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    qsort(sets, (size_t)n, sizeof *sets, by_name);
    return n;
}

/* The K of "<prefix>K.pb", or -1 when name is not of that form. */
static int file_index(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return -1;
    const char *p = name + pl;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '.'))
        return -1; /* digits, no leading zero: one file per index */
    char *end;
    errno = 0;
    long k = strtol(p, &end, 10);
    if (errno || strcmp(end, ".pb") != 0 || k > 1000000)
        return -1;
    return (int)k;
}

/* Loads every input_K.pb and output_K.pb of the set's folder; fails on a
 * folder that cannot be read, an index of MAX_IO or more, or a file that
 * does not decode. */
static bool load_set(const keel_model *m, data_set *ds, char *why, size_t wn)
{
    DIR *d = opendir(ds->path);
    if (!d) {
        snprintf(why, wn, "%s: cannot open: %s", ds->path, strerror(errno));
        return false;
    }
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d));) {
        int ki = file_index(e->d_name, "input_"), ko = file_index(e->d_name, "output_");
        int k = ki >= 0 ? ki : ko;
        if (k < 0)
            continue;
        if (k >= MAX_IO) {
            snprintf(why, wn, "%s/%s: keel check reads at most %d inputs and %d outputs", ds->path,
                     e->d_name, MAX_IO, MAX_IO);
            ok = false;
            break;
        }
        keel_tensor *slot = ki >= 0 ? &ds->in[k] : &ds->out[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", ds->path, e->d_name);
        keel_tensor decl = {0};
        if (ki >= 0 ? keel_model_input_info(m, k, &decl, NULL) : keel_model_output_info(m, k, &decl, NULL))
            decl.dtype = 0; /* no such input or output: exact_files says so */
        if (cli_load_value(path, decl.dtype, slot, why, wn) != KEEL_OK) {
            ok = false;
            break;
        }
        int *n = ki >= 0 ? &ds->n_in : &ds->n_out;
        if (k + 1 > *n)
            *n = k + 1;
    }
    closedir(d);
    return ok;
}

/* The set holds exactly files 0 .. want-1 of `kind` ("input", "output"). */
static bool exact_files(const data_set *ds, const keel_tensor *t, int n, int want, const char *kind,
                        const char *graph_kind, char *why, size_t wn)
{
    for (int k = 0; k < want; k++)
        if (!t[k].dtype) {
            snprintf(why, wn, "%s: %s_%d.pb missing (the model has %d %s%s)", ds->path, kind, k, want,
                     graph_kind, want == 1 ? "" : "s");
            return false;
        }
    for (int k = want; k < n; k++)
        if (t[k].dtype) {
            snprintf(why, wn, "%s: %s_%d.pb has no counterpart: the model has %d %s%s", ds->path, kind, k,
                     want, graph_kind, want == 1 ? "" : "s");
            return false;
        }
    return true;
}

static void free_set(data_set *ds)
{
    for (int k = 0; k < ds->n_in; k++)
        cli_tensor_free(&ds->in[k]);
    for (int k = 0; k < ds->n_out; k++)
        cli_tensor_free(&ds->out[k]);
    free(ds->path);
}

/* The suite's data files (written by onnx's old NumPy helpers) store
 * bfloat16 tensors as uint16 with the same bits: take them as the
 * bfloat16 the model declares. */
static void adopt_bfloat16(const keel_model *m, data_set *ds, keel_tensor *inputs)
{
    keel_tensor decl;
    for (int k = 0; k < ds->n_in; k++)
        if (inputs[k].dtype == KEEL_UINT16 && keel_model_input_info(m, k, &decl, NULL) == KEEL_OK &&
            decl.dtype == KEEL_BFLOAT16)
            inputs[k].dtype = ds->in[k].dtype = KEEL_BFLOAT16;
    for (int k = 0; k < ds->n_out; k++)
        if (ds->out[k].dtype == KEEL_UINT16 && keel_model_output_info(m, k, &decl, NULL) == KEEL_OK &&
            decl.dtype == KEEL_BFLOAT16)
            ds->out[k].dtype = KEEL_BFLOAT16;
}

/* ---- tracing: the fast path against the reference path ------------------------------- */

/* Whether the outputs of a run match the set's expected ones. */
static bool outputs_match(const keel_tensor *outs, const data_set *ds, int n_out, const check_opts *o)
{
    for (int k = 0; k < n_out; k++) {
        compare_result r;
        char gs[256], ws[256];
        if (strcmp(kl_shape_str(&outs[k], gs, sizeof gs), kl_shape_str(&ds->out[k], ws, sizeof ws)) != 0)
            return false;
        compare(&outs[k], &ds->out[k], o, &r);
        if (r.bad)
            return false;
    }
    return true;
}

/* What comparison c of the fast path against the reference path tells,
 * ref_ok saying whether the reference path met the expected outputs. */
static void trace_verdict(const cli_comparison *c, bool ref_ok, char *out, size_t n)
{
    if (c->first_divergent >= 0) {
        const cli_diff *d = &c->d[c->first_divergent];
        const cli_value *v = &c->a->v[d->a];
        char fused[CLI_ERRMSG / 2] = "";
        if (strcmp(d->b_step_node, v->node) != 0)
            snprintf(fused, sizeof fused, " (which the fast path computes in node '%.200s' (%.60s), fused)",
                     d->b_step_node, d->b_step_op);
        snprintf(out, n, "trace: keel's fast path departs from its reference path first at node '%s' (%s)%s, "
                         "output '%s': max abs err %.3g, max rel err %.3g, %.0f ulp; the reference path's "
                         "outputs %s the expected ones: %s",
                 v->node, v->op_type, fused, v->name, d->max_abs, d->max_rel, d->max_ulp,
                 ref_ok ? "match" : "do not match either",
                 ref_ok ? "keel's fast path is at fault" : "look at that node first");
        return;
    }
    double worst = 0;
    for (int k = 0; k < c->n; k++)
        worst = fmax(worst, c->d[k].ratio);
    snprintf(out, n, "trace: keel's fast path agrees with its reference path on all %d values they share "
                     "(largest error %.2g of the tolerance)%s",
             c->n, worst, ref_ok ? "" : ", and the reference path's outputs miss the expected ones too: "
                                       "the difference lies in the model or its expected outputs");
}

/* Runs the set's inputs on keel's reference path, then on the case's
 * session `fast` comparing value by value, and writes what that tells
 * into `out`. */
static void trace_set(const keel_model *m, keel_session *fast, const keel_tensor *inputs, const data_set *ds,
                      const check_opts *o, char *out, size_t n)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.reference = 1;
    opt.threads = o->threads;
    opt.time_limit_ms = o->time_limit_ms;
    char err[CLI_ERRMSG];
    keel_session *ref = NULL;
    keel_tensor outs[MAX_IO];
    memset(outs, 0, sizeof outs);
    cli_values vals = {0};
    cli_comparison c = {.a = &vals, .rtol = o->rtol, .atol = o->atol};
    int n_out = keel_model_output_count(m);
    if (keel_session_create(&ref, m, &opt, NULL, 0, inputs, err, sizeof err) != KEEL_OK)
        snprintf(out, n, "trace: no reference session: %.960s", err);
    else if (cli_record_run(ref, inputs, outs, &vals) != KEEL_OK)
        snprintf(out, n, "trace: the reference path failed: %s", keel_session_errmsg(ref));
    else {
        bool ref_ok = outputs_match(outs, ds, n_out, o);
        memset(outs, 0, sizeof outs);
        if (cli_compare_run(fast, inputs, outs, m, m, &c) != KEEL_OK)
            snprintf(out, n, "trace: the fast path failed: %s", keel_session_errmsg(fast));
        else
            trace_verdict(&c, ref_ok, out, n);
    }
    cli_comparison_free(&c);
    cli_values_free(&vals);
    keel_session_free(ref);
}

/* The case's session, made at its first data set with that set's inputs
 * as the shapes (and bound values) to plan ahead; later sets of other
 * shapes run on it too. */
static bool open_session(const keel_model *m, const keel_tensor *inputs, const check_opts *o, keel_session **s,
                         const char *set_path, char *why, size_t wn)
{
    char err[CLI_ERRMSG];
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = o->threads;
    opt.isa = o->isa;
    opt.time_limit_ms = o->time_limit_ms;
    opt.passes_off = o->passes_off;
    if (keel_session_create(s, m, &opt, NULL, 0, inputs, err, sizeof err) != KEEL_OK) {
        snprintf(why, wn, "%s", err);
        return false;
    }
    kl_plan_info plan;
    kl_inspect_plan(*s, &plan);
    if (o->isa && plan.isa != (keel_isa)o->isa) {
        snprintf(why, wn, "%s: the session runs %s kernels, not the %s asked for", set_path,
                 keel_isa_name(plan.isa), keel_isa_name((keel_isa)o->isa));
        return false;
    }
    return true;
}

/* Runs one data set on the case's session *s (made at the first); on
 * failure writes why into `why`. */
static bool run_set(const keel_model *m, keel_session **sp, data_set *ds, const check_opts *o, char *why,
                    size_t wn, double *worst_abs, double *worst_rel, char *trace, size_t tn)
{
    int n_in = keel_model_input_count(m), n_out = keel_model_output_count(m);
    if (ds->n_in == 0 && ds->n_out == 0) {
        snprintf(why, wn, "%s: empty data set: no input_N.pb or output_N.pb file", ds->path);
        return false;
    }
    if (!exact_files(ds, ds->in, ds->n_in, n_in, "input", "graph input", why, wn) ||
        !exact_files(ds, ds->out, ds->n_out, n_out, "output", "graph output", why, wn))
        return false;
    keel_tensor inputs[MAX_IO], outs[MAX_IO];
    for (int k = 0; k < n_in; k++)
        inputs[k] = ds->in[k];
    adopt_bfloat16(m, ds, inputs);
    if (!*sp && !open_session(m, inputs, o, sp, ds->path, why, wn))
        return false;
    keel_session *s = *sp;
    bool ok = true, mismatch = false;
    memset(outs, 0, sizeof outs);
    /* data = NULL: keel lends its buffers (also for data-dependent shapes) */
    if (keel_session_run(s, inputs, outs) != KEEL_OK) {
        snprintf(why, wn, "%s", keel_session_errmsg(s));
        ok = false;
    }
    for (int k = 0; ok && k < n_out; k++) {
        char what[400];
        snprintf(what, sizeof what, "output %d '%.300s'", k, keel_session_output_name(s, k));
        compare_result r;
        compare_value(&outs[k], &ds->out[k], o, &r, what, why, wn);
        if (r.max_abs > *worst_abs)
            *worst_abs = r.max_abs;
        if (r.max_rel > *worst_rel)
            *worst_rel = r.max_rel;
        if (r.bad) {
            ok = false;
            mismatch = r.first_bad >= 0;
        }
    }
    bool want_trace = o->trace == TRACE_ALWAYS ? !trace[0] : o->trace == TRACE_FAILURES && mismatch;
    if (want_trace)
        trace_set(m, s, inputs, ds, o, trace, tn);
    return ok;
}

typedef enum { CASE_PASS, CASE_FAIL, CASE_SKIP } case_result;

static bool run_case(const char *dir, const check_opts *o, case_report *rep)
{
    char path[4096];
    memset(rep, 0, sizeof *rep);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = o->threads;
    opt.isa = o->isa;
    opt.time_limit_ms = o->time_limit_ms;
    keel_model *m = NULL;
    char *sets[MAX_SETS];
    int n_sets = list_sets(dir, sets);
    rep->n_sets = n_sets;
    bool ok = keel_model_load(&m, path, &opt, rep->why, sizeof rep->why) == KEEL_OK;
    if (ok && n_sets == 0) {
        snprintf(rep->why, sizeof rep->why, "%s: no test_data_set_N folder", dir);
        ok = false;
    }
    keel_session *s = NULL; /* one for every data set, whatever their shapes */
    for (int i = 0; i < n_sets; i++) {
        data_set ds = {.path = sets[i]};
        if (ok)
            ok = load_set(m, &ds, rep->why, sizeof rep->why);
        if (ok)
            ok = run_set(m, &s, &ds, o, rep->why, sizeof rep->why, &rep->max_abs, &rep->max_rel, rep->trace,
                         sizeof rep->trace);
        free_set(&ds);
    }
    keel_session_stats stats;
    keel_session_get_stats(s, &stats);
    rep->n_plans = stats.plans_made;
    keel_session_free(s);
    keel_model_free(m);
    return ok;
}

bool cli_run_case(const char *dir, double rtol, double atol, case_report *rep)
{
    check_opts o = {.rtol = rtol, .atol = atol, .trace = TRACE_NEVER};
    return run_case(dir, &o, rep);
}

/* The case folder of arg (trailing '/' dropped) and its name, the last
 * part of it. */
static void case_paths(const char *arg, char *dir, size_t dn, char *name, size_t nn)
{
    snprintf(dir, dn, "%s", arg);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = 0; /* "case/" names the same case as "case" */
    const char *base = strrchr(dir, '/');
    snprintf(name, nn, "%s", base ? base + 1 : dir);
}

/* Runs (or skips) one case and prints its line, erasing the progress line
 * `prog` (NULL: none) for it. */
static case_result check_case(const char *arg, const check_opts *o, cli_progress *prog)
{
    char dir[4096], name[512];
    case_paths(arg, dir, sizeof dir, name, sizeof name);
    const char *reason = skip_reason(o, name);
    if (reason) {
        cli_progress_printf(prog, stdout, "skip %s: %s\n", name, reason);
        return CASE_SKIP;
    }
    case_report rep;
    if (run_case(dir, o, &rep)) {
        if (!o->quiet && rep.n_sets > 1) /* one session for all: a plan per distinct shape */
            cli_progress_printf(prog, stdout, "ok   %s (%d sets, %lld plan%s, max abs err %.3g, max rel err %.3g)\n",
                                name, rep.n_sets, (long long)rep.n_plans, rep.n_plans == 1 ? "" : "s",
                                rep.max_abs, rep.max_rel);
        else if (!o->quiet)
            cli_progress_printf(prog, stdout, "ok   %s (1 set, max abs err %.3g, max rel err %.3g)\n", name,
                                rep.max_abs, rep.max_rel);
        if (rep.trace[0])
            cli_progress_printf(prog, stdout, "     %s\n", rep.trace);
        return CASE_PASS;
    }
    cli_progress_printf(prog, stdout, "FAIL %s: %s\n", name, rep.why);
    if (rep.trace[0])
        cli_progress_printf(prog, stdout, "     %s\n", rep.trace);
    return CASE_FAIL;
}

/* Options that take a value. */
static bool takes_value(const char *a)
{
    return !strcmp(a, "--rtol") || !strcmp(a, "--atol") || !strcmp(a, "--skip-list") ||
           !strcmp(a, "--threads") || !strcmp(a, "--isa") || !strcmp(a, "--timeout") ||
           !strcmp(a, "--passes-off");
}

/* The case folders among the arguments. */
static int count_cases(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-')
            n++;
        else if (takes_value(argv[i]))
            i++;
    }
    return n;
}

int cmd_check(int argc, char **argv)
{
    check_opts o = {.rtol = 1e-3, .atol = 1e-4};
    int passed = 0, failed = 0, skipped = 0, n_cases = 0, rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            continue;
        if (takes_value(a) && i + 1 >= argc) {
            fprintf(stderr, "keel check: %s needs a value\n", a);
            cli_usage("check", stderr);
            goto done;
        }
        char *end = NULL;
        if (strcmp(a, "--rtol") == 0)
            o.rtol = strtod(argv[++i], &end);
        else if (strcmp(a, "--atol") == 0)
            o.atol = strtod(argv[++i], &end);
        else if (strcmp(a, "--threads") == 0) {
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1024) {
                fprintf(stderr, "keel check: bad --threads '%s' (want 1 to 1024)\n", argv[i]);
                goto done;
            }
            o.threads = (int)n;
        } else if (strcmp(a, "--isa") == 0) {
            if ((o.isa = cli_parse_isa(argv[++i])) < 0) {
                fprintf(stderr, "keel check: bad --isa '%s' (want auto, generic, avx2 or avx512)\n", argv[i]);
                goto done;
            }
            /* asked for by name, it must be the one that runs: no quiet fallback */
            if (o.isa != KEEL_ISA_AUTO && keel_isa_available((keel_isa)o.isa) != (keel_isa)o.isa) {
                fprintf(stderr, "keel check: --isa %s: not available on this CPU (its best: %s)\n", argv[i],
                        keel_isa_name(keel_isa_available(KEEL_ISA_AUTO)));
                goto done;
            }
        } else if (strcmp(a, "--timeout") == 0) {
            if (!cli_parse_seconds(argv[++i], &o.time_limit_ms)) {
                fprintf(stderr, "keel check: bad --timeout '%s' (want SECONDS > 0)\n", argv[i]);
                goto done;
            }
        } else if (strcmp(a, "--passes-off") == 0)
            o.passes_off = argv[++i];
        else if (strcmp(a, "--list-isas") == 0) {
            for (int isa = KEEL_ISA_GENERIC; isa <= KEEL_ISA_AVX512; isa++)
                if (keel_isa_available((keel_isa)isa) == (keel_isa)isa)
                    printf("%s\n", keel_isa_name((keel_isa)isa));
            rc = 0;
            goto done;
        } else if (strcmp(a, "--trace") == 0)
            o.trace = TRACE_ALWAYS;
        else if (strcmp(a, "--no-trace") == 0)
            o.trace = TRACE_NEVER;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            o.quiet = true;
        else if (strcmp(a, "--skip-list") == 0) {
            if (!load_skips(argv[++i], &o))
                goto done;
        } else {
            fprintf(stderr, "keel check: unknown option '%s'\n", a);
            cli_usage("check", stderr);
            goto done;
        }
        if (end && (end == argv[i] || *end)) {
            fprintf(stderr, "keel check: bad value '%s' for %s\n", argv[i], a);
            goto done;
        }
    }
    int total = count_cases(argc, argv);
    cli_progress *prog = total > 1 ? cli_progress_start(NULL, total) : NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            if (takes_value(argv[i]))
                i++; /* skip the option's value */
            continue;
        }
        char dir[4096], name[512];
        case_paths(argv[i], dir, sizeof dir, name, sizeof name);
        cli_progress_entry(prog, n_cases, name);
        n_cases++;
        switch (check_case(argv[i], &o, prog)) {
        case CASE_PASS: passed++; break;
        case CASE_FAIL: failed++; break;
        case CASE_SKIP: skipped++; break;
        }
        fflush(stdout);
    }
    cli_progress_stop(prog);
    if (n_cases == 0) {
        cli_usage("check", stderr);
        goto done;
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    if (passed + failed == 0)
        fprintf(stderr, "keel check: nothing ran: all %d case%s skipped\n", skipped, skipped == 1 ? " was" : "s were");
    rc = failed || passed + failed == 0 ? 1 : 0;
done:
    for (int i = 0; i < o.n_skips; i++) {
        free(o.skips[i].pattern);
        free(o.skips[i].reason);
    }
    free(o.skips);
    return rc;
}
