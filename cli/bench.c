/* bench.c -- `keel bench`: load time, latency over repeated runs, peak
 * memory; --profile adds time per op type and the slowest nodes, --trace
 * a Chrome trace-event file of the creation and every timed run. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

#define MAX_ARGS 64

typedef struct bench_opts {
    const char *path, *passes_off;
    const char *trace;    /* --trace FILE.json, else NULL */
    int threads, runs, warmup, isa;
    bool json, profile;
    bool serve;           /* --serve: time blocks of runs asked for on stdin */
    int top;              /* slowest nodes listed by --profile */
    char *specs[MAX_ARGS];
    int n_specs;
    keel_dim_binding dims[MAX_ARGS];
    int n_dims;
    uint64_t time_limit_ms;
    int sessions;         /* --sessions: sessions of the model alive at once */
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->runs = 10;
    o->warmup = 2;
    o->top = 10;
    o->sessions = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--threads") == 0 && has_val)
            o->threads = atoi(argv[++i]);
        else if (strcmp(a, "--runs") == 0 && has_val)
            o->runs = atoi(argv[++i]);
        else if (strcmp(a, "--warmup") == 0 && has_val)
            o->warmup = atoi(argv[++i]);
        else if (strcmp(a, "--isa") == 0 && has_val) {
            if ((o->isa = cli_parse_isa(argv[++i])) < 0) {
                fprintf(stderr, "keel bench: bad --isa '%s' (want auto, generic, avx2 or avx512)\n", argv[i]);
                return -1;
            }
        } else if (strcmp(a, "--timeout") == 0 && has_val) {
            if (!cli_parse_seconds(argv[++i], &o->time_limit_ms)) {
                fprintf(stderr, "keel bench: bad --timeout '%s' (want SECONDS > 0)\n", argv[i]);
                return -1;
            }
        } else if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--profile") == 0)
            o->profile = true;
        else if (strcmp(a, "--serve") == 0)
            o->serve = true;
        else if (strcmp(a, "--trace") == 0 && has_val)
            o->trace = argv[++i];
        else if (strcmp(a, "--top") == 0 && has_val) {
            o->top = atoi(argv[++i]);
            o->profile = true;
        }
        else if (strcmp(a, "--passes-off") == 0 && has_val)
            o->passes_off = argv[++i];
        else if (strcmp(a, "--sessions") == 0 && has_val)
            o->sessions = atoi(argv[++i]);
        else if (strcmp(a, "-i") == 0 && has_val && o->n_specs < MAX_ARGS)
            o->specs[o->n_specs++] = argv[++i];
        else if (strcmp(a, "--dim") == 0 && has_val) {
            if (o->n_dims == MAX_ARGS || !cli_parse_dim(argv[++i], &o->dims[o->n_dims++])) {
                fprintf(stderr, "keel bench: bad --dim '%s' (want NAME=N)\n", argv[i]);
                return -1;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "keel bench: unknown option '%s'\n", a);
            return -1;
        } else
            o->path = a;
    }
    if (!o->path || o->runs < 1 || o->warmup < 0 || o->threads < 1 || o->sessions < 1) {
        cli_usage("bench", stderr);
        return -1;
    }
    if (o->trace && o->serve) {
        fprintf(stderr, "keel bench: --trace records the timed runs, which --serve does not make\n");
        return -1;
    }
    return 0;
}

/* Deterministic pseudo-random input data (xorshift), values in [-1, 1). */
static void fill_random(keel_tensor *t, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    int64_t n = keel_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        switch (t->dtype) {
        case KEEL_FLOAT: ((float *)t->data)[i] = (float)u; break;
        case KEEL_DOUBLE: ((double *)t->data)[i] = u; break;
        default: memset((uint8_t *)t->data + (size_t)i * keel_dtype_size(t->dtype), 0,
                        keel_dtype_size(t->dtype));
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct type_time {
    const char *type;
    double ns;
    int count;
} type_time;

static int by_ns_desc(const void *a, const void *b)
{
    double x = ((const type_time *)a)->ns, y = ((const type_time *)b)->ns;
    return (x < y) - (x > y);
}

static void print_profile(const keel_session *s, const double *step_ns, int runs, bool json, int top)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    int n = plan.n_steps;
    kl_step_info *steps = calloc((size_t)n + 1, sizeof *steps);
    type_time *types = calloc((size_t)n + 1, sizeof *types), *nodes = calloc((size_t)n + 1, sizeof *nodes);
    int n_types = 0;
    double total = 0;
    for (int k = 0; steps && types && nodes && k < n; k++) {
        kl_step_info *st = &steps[k];
        kl_inspect_step(s, k, st);
        double ns = step_ns[k] / runs;
        total += ns;
        int t = 0;
        while (t < n_types && strcmp(types[t].type, st->op_type))
            t++;
        if (t == n_types)
            types[n_types++] = (type_time){st->op_type, 0, 0};
        types[t].ns += ns;
        types[t].count++;
        nodes[k] = (type_time){st->node_name[0] ? st->node_name : st->op_type, ns, k};
    }
    if (!steps || !types || !nodes)
        n = 0;
    qsort(types, (size_t)n_types, sizeof *types, by_ns_desc);
    qsort(nodes, (size_t)n, sizeof *nodes, by_ns_desc);
    int n_slow = n < top ? n : top;
    if (json) {
        printf(", \"profile\": {\"op_types\": [");
        for (int t = 0; t < n_types; t++) {
            printf("%s{\"op\": ", t ? ", " : "");
            cli_json_str(stdout, types[t].type);
            printf(", \"nodes\": %d, \"ms\": %.4f}", types[t].count, types[t].ns / 1e6);
        }
        printf("], \"slowest_nodes\": [");
        for (int k = 0; k < n_slow; k++) {
            const kl_step_info *st = &steps[nodes[k].count];
            printf("%s{\"name\": ", k ? ", " : "");
            cli_json_str(stdout, nodes[k].type);
            printf(", \"op\": ");
            cli_json_str(stdout, st->op_type);
            printf(", \"ms\": %.4f, \"macs\": %lld}", nodes[k].ns / 1e6, (long long)st->macs);
        }
        printf("]}");
    } else {
        printf("time per op type (mean of %d runs):\n", runs);
        for (int t = 0; t < n_types; t++)
            printf("  %-22s %5d nodes %10.3f ms %5.1f%%\n", types[t].type, types[t].count,
                   types[t].ns / 1e6, total > 0 ? 100.0 * types[t].ns / total : 0.0);
        printf("slowest nodes:\n");
        for (int k = 0; k < n_slow; k++) {
            const kl_step_info *st = &steps[nodes[k].count];
            printf("  %-40s %-18s %8.3f ms", nodes[k].type, st->op_type, nodes[k].ns / 1e6);
            if (st->macs && nodes[k].ns > 0)
                printf(" %7.1f GFLOP/s", 2.0 * (double)st->macs / nodes[k].ns);
            putchar('\n');
        }
    }
    free(steps);
    free(types);
    free(nodes);
}

/* ---- --trace ------------------------------------------------------------------ */

/* When the creation's phases and the timed runs' steps began and ended
 * (kl_inspect_now_ns, the clock of the passes' records too). */
typedef struct bench_trace {
    double load[2], session[2];   /* keel_model_load, keel_session_create */
    int n_steps;                  /* of the plan the timed runs run */
    int runs;
    double *run;                  /* timed run r began at run[2r] and ended at run[2r + 1] */
    double *start, *end;          /* step k of run r: [r * n_steps + k]; 0 for views */
} bench_trace;

/* Room for `runs` runs of the session's plan (after the warm-up made it). */
static bool trace_alloc(bench_trace *tr, const keel_session *s, int runs)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    if (!plan.planned) /* shapes known only at the first run, and no warm-up ran */
        fprintf(stderr, "keel bench: --trace: no plan before the timed runs, so no steps traced (--warmup 1 makes one)\n");
    tr->n_steps = plan.n_steps;
    tr->runs = runs;
    size_t n = (size_t)runs * (size_t)plan.n_steps + 1;
    tr->run = calloc(2 * (size_t)runs, sizeof *tr->run);
    tr->start = calloc(n, sizeof *tr->start);
    tr->end = calloc(n, sizeof *tr->end);
    return tr->run && tr->start && tr->end;
}

static void trace_free(bench_trace *tr)
{
    free(tr->run);
    free(tr->start);
    free(tr->end);
}

/* Microseconds since the model's load began. */
static double trace_us(const bench_trace *tr, double ns)
{
    return (ns - tr->load[0]) / 1e3;
}

/* A complete event ("ph": "X") up to the opening brace of its args. */
static void trace_event(FILE *f, const bench_trace *tr, const char *name, const char *cat, double begin_ns,
                        double end_ns)
{
    fputs(",\n{\"name\": ", f);
    cli_json_str(f, name);
    fputs(", \"cat\": ", f);
    cli_json_str(f, cat);
    fprintf(f, ", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, \"ts\": %.3f, \"dur\": %.3f, \"args\": {",
            trace_us(tr, begin_ns), (end_ns - begin_ns) / 1e3);
}

/* The creation's phases: the load, the session's creation and the passes
 * of the plan the runs ran (made inside the creation when its shapes were
 * known then; "prepare" packs the weights), then one event per timed run. */
static void trace_phases(FILE *f, const keel_session *s, const bench_trace *tr, const char *path)
{
    trace_event(f, tr, "load", "load", tr->load[0], tr->load[1]);
    fputs("\"file\": ", f);
    cli_json_str(f, path);
    fputs("}}", f);
    trace_event(f, tr, "session_create", "session", tr->session[0], tr->session[1]);
    fputs("}}", f);
    for (int k = 1; k < kl_inspect_pass_count(s); k++) {
        kl_pass_info p;
        kl_inspect_pass(s, k, &p);
        trace_event(f, tr, p.pass, "pass", p.start_ns, p.start_ns + p.ns);
        fprintf(f, "\"nodes\": %d, \"note\": ", p.n_nodes);
        cli_json_str(f, p.note);
        fputs("}}", f);
    }
    for (int r = 0; r < tr->runs; r++) {
        char name[32];
        snprintf(name, sizeof name, "run %d", r);
        trace_event(f, tr, name, "run", tr->run[2 * r], tr->run[2 * r + 1]);
        fputs("}}", f);
    }
}

/* What every run's event of one step says alike. */
typedef struct trace_step {
    kl_step_info info;
    char label[160];      /* the op type and the ops fused into it */
    char shapes[256];     /* its outputs' shapes, ", "-separated */
} trace_step;

static void describe_step(const keel_session *s, int k, trace_step *st)
{
    kl_inspect_step(s, k, &st->info);
    kl_snode_info node;
    kl_inspect_snode(s, st->info.node, &node);
    snprintf(st->label, sizeof st->label, "%s", node.label);
    st->shapes[0] = 0;
    for (int j = 0, used = 0; j < node.n_out && used < (int)sizeof st->shapes; j++) {
        char shape[128];
        if (node.out[j] >= 0)
            used += snprintf(st->shapes + used, sizeof st->shapes - (size_t)used, "%s%s", used ? ", " : "",
                             cli_value_shape(s, node.out[j], shape, sizeof shape));
    }
}

/* One event per step that runs a kernel per timed run, named after its
 * node (its op type when the node has no name), its category the op
 * type; views, which run no kernel, have none. */
static int trace_steps(FILE *f, const keel_session *s, const bench_trace *tr, int threads)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    int n = tr->n_steps < plan.n_steps ? tr->n_steps : plan.n_steps;
    trace_step *steps = calloc((size_t)n + 1, sizeof *steps);
    if (!steps)
        return -1;
    for (int k = 0; k < n; k++)
        describe_step(s, k, &steps[k]);
    for (int r = 0; r < tr->runs; r++)
        for (int k = 0; k < n; k++) {
            const trace_step *st = &steps[k];
            double begin = tr->start[(size_t)r * tr->n_steps + k], end = tr->end[(size_t)r * tr->n_steps + k];
            if (!st->info.runs_kernel)
                continue;
            trace_event(f, tr, st->info.node_name[0] ? st->info.node_name : st->info.op_type, st->info.op_type,
                        begin, end);
            fputs("\"outputs\": ", f);
            cli_json_str(f, st->shapes);
            fputs(", \"fused\": ", f);
            cli_json_str(f, st->label);
            fprintf(f, ", \"step\": %d, \"macs\": %lld, \"gflops\": %.3f, \"isa\": \"%s\", \"threads\": %d}}", k,
                    (long long)st->info.macs, end > begin ? 2.0 * (double)st->info.macs / (end - begin) : 0.0,
                    keel_isa_name(plan.isa), threads);
        }
    free(steps);
    return 0;
}

/* Writes the trace to o->trace: metadata naming the process, then the
 * phases and the steps.  Prints why and returns nonzero on failure. */
static int write_trace(const keel_session *s, const bench_trace *tr, const bench_opts *o)
{
    FILE *f = fopen(o->trace, "w");
    if (!f) {
        fprintf(stderr, "keel bench: cannot write %s: %s\n", o->trace, strerror(errno));
        return -1;
    }
    char title[1024];
    snprintf(title, sizeof title, "keel bench %s", o->path);
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    fputs("{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, \"args\": {\"name\": ", f);
    cli_json_str(f, title);
    fputs("}},\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, \"args\": {\"name\": \"main\"}}", f);
    trace_phases(f, s, tr, o->path);
    int rc = trace_steps(f, s, tr, o->threads);
    fputs("\n]}\n", f);
    rc |= ferror(f);
    rc |= fclose(f);
    if (rc)
        fprintf(stderr, "keel bench: writing %s failed\n", o->trace);
    return rc;
}

/* ---- timing ------------------------------------------------------------------- */

/* One run: with tr, each step's begin and end into tr's run r (and from
 * them each step's time added to step_ns, when not NULL); else step_ns as
 * kl_inspect_run_timed adds it. */
static keel_status run_once(keel_session *s, keel_tensor *ins, keel_tensor *outs, double *step_ns, bench_trace *tr,
                            int r)
{
    if (!tr)
        return kl_inspect_run_timed(s, ins, outs, step_ns);
    double *start = tr->start + (size_t)r * tr->n_steps, *end = tr->end + (size_t)r * tr->n_steps;
    tr->run[2 * r] = kl_inspect_now_ns();
    keel_status st = kl_inspect_run_traced(s, ins, outs, tr->n_steps, start, end);
    tr->run[2 * r + 1] = kl_inspect_now_ns();
    for (int k = 0; step_ns && k < tr->n_steps; k++)
        step_ns[k] += end[k] - start[k];
    return st;
}

/* Steps of the session's newest plan that run a kernel (not views); all
 * its steps in *n_steps. */
static int kernel_steps(const keel_session *s, int *n_steps)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    *n_steps = plan.n_steps;
    int n = 0;
    for (int k = 0; k < plan.n_steps; k++) {
        kl_step_info st;
        kl_inspect_step(s, k, &st);
        n += st.runs_kernel;
    }
    return n;
}

/* Runs the session n times; with lat, stores each run's wall time in ms;
 * with step_ns, adds each step's time; with tr, records each step's
 * begin and end.  Prints the error and returns nonzero if a run fails. */
static int time_runs(keel_session *s, keel_tensor *ins, keel_tensor *outs, int n_out, int n, double *lat,
                     double *step_ns, bench_trace *tr)
{
    for (int r = 0; r < n; r++) {
        /* data = NULL: keel lends its buffers (valid until the next run) */
        memset(outs, 0, (size_t)n_out * sizeof *outs);
        double t = cli_now_ms();
        if (run_once(s, ins, outs, step_ns, tr, r) != KEEL_OK) {
            fprintf(stderr, "keel bench: %s\n", keel_session_errmsg(s));
            return -1;
        }
        if (lat)
            lat[r] = cli_now_ms() - t;
    }
    return 0;
}

/* --serve: after the warm-up, prints one JSON line saying it is ready, then
 * for each line "N" on stdin runs N times and prints their times as one
 * JSON line; at end of input prints the peak RSS.  A comparison script
 * keeps keel and another engine loaded side by side this way and
 * alternates short blocks of runs between them, so that a drift of the
 * machine's speed falls on both alike. */
static int serve(keel_session *s, keel_tensor *ins, keel_tensor *outs, int n_out, double load_ms,
                 double session_ms)
{
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    printf("{\"ready\": true, \"isa\": \"%s\", \"load_ms\": %.3f, \"session_ms\": %.3f}\n",
           keel_isa_name(plan.isa), load_ms, session_ms);
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        int n = atoi(line);
        if (n < 1 || n > 100000) {
            fprintf(stderr, "keel bench: --serve wants a run count per line, got '%s'\n", line);
            return 1;
        }
        double *lat = calloc((size_t)n, sizeof *lat);
        if (!lat || time_runs(s, ins, outs, n_out, n, lat, NULL, NULL)) {
            free(lat);
            return 1;
        }
        printf("{\"ms\": [");
        for (int r = 0; r < n; r++)
            printf("%s%.4f", r ? ", " : "", lat[r]);
        printf("]}\n");
        fflush(stdout);
        free(lat);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"peak_rss_kb\": %ld}\n", ru.ru_maxrss);
    return 0;
}

/* A session of m for the bench's shapes: the given inputs', else its dims. */
static keel_status new_session(const keel_model *m, const keel_options *opt, const bench_opts *o,
                               const keel_tensor *ins, keel_session **s, char *err, size_t err_size)
{
    return keel_session_create(s, m, opt, o->dims, o->n_dims, o->n_specs ? ins : NULL, err, err_size);
}

/* Sessions 1 .. o->sessions - 1 of m beside the timed one, their plans
 * made at creation (sharing the model's packed weights). */
static int open_others(const keel_model *m, const keel_options *opt, const bench_opts *o, const keel_tensor *ins,
                       keel_session **others)
{
    char err[CLI_ERRMSG];
    for (int k = 1; k < o->sessions; k++)
        if (new_session(m, opt, o, ins, &others[k], err, sizeof err)) {
            fprintf(stderr, "keel bench: session %d: %s\n", k, err);
            return 1;
        }
    return 0;
}

/* The median time of 5 plans of these shapes, made after the timed runs in
 * sessions of their own: what planning a shape costs once the model's
 * weights are packed. */
static double replan_ms(const keel_model *m, const keel_options *opt, const bench_opts *o, const keel_tensor *ins)
{
    double t[5];
    char err[CLI_ERRMSG];
    for (int k = 0; k < 5; k++) {
        keel_session *s;
        t[k] = 0;
        if (new_session(m, opt, o, ins, &s, err, sizeof err))
            continue;
        keel_session_stats st;
        keel_session_get_stats(s, &st);
        t[k] = st.last_plan_ms;
        keel_session_free(s);
    }
    qsort(t, 5, sizeof *t, cmp_double);
    return t[2];
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o;
    if (parse(argc, argv, &o))
        return 2;
    keel_options opt;
    keel_options_init(&opt);
    opt.threads = o.threads;
    opt.isa = o.isa;
    opt.time_limit_ms = o.time_limit_ms;
    opt.passes_off = o.passes_off;
    char err[CLI_ERRMSG];
    keel_model *m = NULL;
    keel_session *s = NULL, **others = NULL;
    bench_trace tr = {0};
    double t0 = cli_now_ms();
    tr.load[0] = kl_inspect_now_ns();
    if (keel_model_load(&m, o.path, &opt, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "keel bench: %s\n", err);
        return 1;
    }
    tr.load[1] = kl_inspect_now_ns();
    double load_ms = cli_now_ms() - t0;
    int n_in = keel_model_input_count(m), n_out = keel_model_output_count(m), rc = 1;
    const char **files = calloc((size_t)n_in + 1, sizeof *files);
    keel_tensor *ins = calloc((size_t)n_in + 1, sizeof *ins), *outs = calloc((size_t)n_out + 1, sizeof *outs);
    double *lat = calloc((size_t)o.runs, sizeof *lat), *step_ns = NULL;
    kl_plan_info plan;
    if (!files || !ins || !outs || !lat)
        goto done;
    if (o.n_specs) {
        if (cli_assign_inputs(m, o.specs, o.n_specs, files))
            goto done;
        for (int k = 0; k < n_in; k++) {
            if (cli_load_input(m, k, files[k], &ins[k], err, sizeof err)) {
                fprintf(stderr, "keel bench: %s\n", err);
                goto done;
            }
        }
    }
    if (!o.n_specs)
        o.n_dims = cli_default_dims(m, o.dims, o.n_dims, MAX_ARGS, "bench");
    t0 = cli_now_ms();
    tr.session[0] = kl_inspect_now_ns();
    if (new_session(m, &opt, &o, ins, &s, err, sizeof err)) {
        fprintf(stderr, "keel bench: %s\n", err);
        goto done;
    }
    tr.session[1] = kl_inspect_now_ns();
    double session_ms = cli_now_ms() - t0;
    if (!(others = calloc((size_t)o.sessions, sizeof *others)) || open_others(m, &opt, &o, ins, others))
        goto done;
    kl_inspect_plan(s, &plan);
    for (int k = 0; k < n_in && !o.n_specs; k++) {
        keel_session_input_info(s, k, &ins[k]);
        if (!(ins[k].data = malloc(keel_tensor_bytes(&ins[k]) + 1)))
            goto done;
        fill_random(&ins[k], (uint64_t)k + 1);
    }
    if (o.profile)
        step_ns = calloc((size_t)plan.n_steps + 1, sizeof *step_ns);
    if (time_runs(s, ins, outs, n_out, o.warmup, NULL, NULL, NULL))
        goto done;
    for (int k = 1; k < o.sessions; k++) /* every session holds a planned, run model */
        if (time_runs(others[k], ins, outs, n_out, 1, NULL, NULL, NULL))
            goto done;
    if (o.serve) {
        rc = serve(s, ins, outs, n_out, load_ms, session_ms);
        goto done;
    }
    if (o.trace && !trace_alloc(&tr, s, o.runs))
        goto done;
    if (time_runs(s, ins, outs, n_out, o.runs, lat, step_ns, o.trace ? &tr : NULL))
        goto done;
    if (o.trace && write_trace(s, &tr, &o))
        goto done;
    qsort(lat, (size_t)o.runs, sizeof *lat, cmp_double);
    double median = o.runs % 2 ? lat[o.runs / 2] : 0.5 * (lat[o.runs / 2 - 1] + lat[o.runs / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru); /* before the sessions replan_ms makes */
    const double replan = replan_ms(m, &opt, &o, ins);
    if (o.json) {
        printf("{\"model\": ");
        cli_json_str(stdout, o.path);
        printf(", \"isa\": \"%s\"", keel_isa_name(plan.isa));
        printf(", \"threads\": %d, \"runs\": %d, \"warmup\": %d, \"load_ms\": %.3f, \"session_ms\": %.3f, "
               "\"min_ms\": %.3f, \"median_ms\": %.3f, \"max_ms\": %.3f, \"peak_rss_kb\": %ld, "
               "\"arena_bytes\": %zu, \"macs\": %lld, \"sessions\": %d, \"replan_ms\": %.3f, \"split_batch\": %lld",
               o.threads, o.runs, o.warmup, load_ms, session_ms, lat[0], median, lat[o.runs - 1],
               ru.ru_maxrss, plan.arena_bytes, (long long)plan.macs, o.sessions, replan, (long long)plan.split_batch);
        int n_steps, n_kernel = kernel_steps(s, &n_steps);
        printf(", \"steps\": %d, \"kernel_steps\": %d", n_steps, n_kernel);
        if (o.trace) {
            printf(", \"trace\": ");
            cli_json_str(stdout, o.trace);
        }
        if (o.profile)
            print_profile(s, step_ns, o.runs, true, o.top);
        printf("}\n");
    } else {
        printf("model:      %s\n", o.path);
        printf("load:       %.1f ms   session: %.1f ms   threads: %d   isa: %s\n", load_ms, session_ms, o.threads,
               keel_isa_name(plan.isa));
        printf("latency:    min %.3f ms   median %.3f ms   max %.3f ms   (%d runs after %d warm-up)\n",
               lat[0], median, lat[o.runs - 1], o.runs, o.warmup);
        if (plan.macs && median > 0)
            printf("throughput: %.1f GFLOP/s (%.3f GMACs)\n", 2.0 * (double)plan.macs / (median * 1e6),
                   (double)plan.macs / 1e9);
        printf("peak RSS:   %ld KB   arena: %.2f MiB   sessions: %d\n", ru.ru_maxrss,
               (double)plan.arena_bytes / 1048576.0, o.sessions);
        printf("re-plan:    %.3f ms (planning these shapes again, weights already packed)\n", replan);
        if (plan.split_batch)
            printf("batch:      %lld images, one at a time per thread through %d plans of one image (arena %.2f MiB "
                   "each)%s\n",
                   (long long)plan.split_batch, plan.n_image_plans, (double)plan.image_arena_bytes / 1048576.0,
                   o.profile || o.trace ? "; timed per node, the batch ran as a whole, layer by layer" : "");
        if (o.trace)
            printf("trace:      %s\n", o.trace);
        if (o.profile)
            print_profile(s, step_ns, o.runs, false, o.top);
    }
    rc = 0;
done:
    for (int k = 0; ins && k < n_in; k++)
        free(ins[k].data); /* cli_load_tensor's or malloc's */
    free(files);
    free(ins);
    free(outs);
    free(lat);
    free(step_ns);
    trace_free(&tr);
    for (int k = 1; others && k < o.sessions; k++)
        keel_session_free(others[k]);
    free(others);
    keel_session_free(s);
    keel_model_free(m);
    return rc;
}
