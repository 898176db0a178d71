/* compare.c -- `keel compare A.onnx B.onnx`: both models on the same
 * inputs, value by value, with rewrites off so every value exists; names
 * the first value (in A's schedule) out of tolerance.  Exit 0 when none
 * is, 1 when one is, 2 when the comparison could not be made. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 64

typedef struct compare_opts {
    const char *paths[2];
    char *specs[MAX_ARGS];
    int n_specs;
    keel_dim_binding dims[MAX_ARGS];
    int n_dims;
    double rtol, atol;
    bool json, quiet;
    const char *svg;
    uint64_t seed;
    keel_options opt;
} compare_opts;

/* ---- seeded inputs ------------------------------------------------------------ */

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fills t's data: floats uniform in [-1, 1), integers in [0, 10), booleans
 * 0 or 1. */
static bool fill_random(keel_tensor *t, uint64_t *state)
{
    int64_t n = keel_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_random(state);
        double u = (double)(r >> 11) / 9007199254740992.0 * 2 - 1;
        switch (t->dtype) {
        case KEEL_FLOAT: ((float *)t->data)[i] = (float)u; break;
        case KEEL_DOUBLE: ((double *)t->data)[i] = u; break;
        case KEEL_INT64: ((int64_t *)t->data)[i] = (int64_t)(r % 10); break;
        case KEEL_INT32: ((int32_t *)t->data)[i] = (int32_t)(r % 10); break;
        case KEEL_INT8: ((int8_t *)t->data)[i] = (int8_t)(r % 10); break;
        case KEEL_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 10); break;
        case KEEL_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        default: return false;
        }
    }
    return true;
}

/* The value of symbolic dim `name` among o's --dim bindings, else 1 (said
 * on stderr). */
static int64_t dim_value(const compare_opts *o, const char *input, const char *name)
{
    for (int k = 0; k < o->n_dims; k++)
        if (name && strcmp(o->dims[k].name, name) == 0)
            return o->dims[k].value;
    fprintf(stderr, "keel compare: input '%s': dim '%s' taken as 1 (give --dim %s=N)\n", input,
            name ? name : "?", name ? name : "NAME");
    return 1;
}

/* A seeded random tensor for input k of m, its shape the declared one. */
static bool random_input(const compare_opts *o, const keel_model *m, int k, uint64_t *state, keel_tensor *t)
{
    const char *sym[KEEL_MAX_RANK];
    const char *name = keel_model_input_name(m, k);
    if (keel_model_input_info(m, k, t, sym) != KEEL_OK || t->rank < 0) {
        fprintf(stderr, "keel compare: input '%s' has no declared shape: give it with -i %s=FILE\n", name, name);
        return false;
    }
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] < 0)
            t->dims[d] = dim_value(o, name, sym[d]);
    size_t bytes = keel_tensor_bytes(t);
    t->data = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!t->data || !fill_random(t, state)) {
        fprintf(stderr, "keel compare: input '%s' of type %s: give it with -i %s=FILE\n", name,
                keel_dtype_name(t->dtype), name);
        return false;
    }
    return true;
}

/* A's inputs: from the files given, else seeded random ones. */
static bool make_inputs(const compare_opts *o, const keel_model *m, keel_tensor *inputs)
{
    int n = keel_model_input_count(m);
    if (o->n_specs) {
        const char **files = calloc((size_t)n + 1, sizeof *files);
        char *specs[MAX_ARGS];
        memcpy(specs, o->specs, sizeof specs);
        bool ok = files && cli_assign_inputs(m, specs, o->n_specs, files) == 0;
        for (int k = 0; ok && k < n; k++) {
            char err[CLI_ERRMSG];
            if (cli_load_input(m, k, files[k], &inputs[k], err, sizeof err) != KEEL_OK) {
                fprintf(stderr, "keel compare: %s\n", err);
                ok = false;
            }
        }
        free(files);
        return ok;
    }
    uint64_t state = o->seed;
    for (int k = 0; k < n; k++)
        if (!random_input(o, m, k, &state, &inputs[k]))
            return false;
    return true;
}

/* B's inputs: A's of the same name, else at the same position. */
static bool map_inputs(const keel_model *a, const keel_model *b, const keel_tensor *in_a, keel_tensor *in_b)
{
    int na = keel_model_input_count(a), nb = keel_model_input_count(b);
    for (int j = 0; j < nb; j++) {
        int k = -1;
        for (int i = 0; i < na; i++)
            if (strcmp(keel_model_input_name(a, i), keel_model_input_name(b, j)) == 0)
                k = i;
        if (k < 0 && na != nb) {
            fprintf(stderr, "keel compare: the second model's input '%s' matches no input of the first by name, "
                            "and they have %d and %d inputs\n", keel_model_input_name(b, j), na, nb);
            return false;
        }
        in_b[j] = in_a[k < 0 ? j : k];
    }
    return true;
}

/* ---- running ------------------------------------------------------------------- */

static keel_session *open_session(const compare_opts *o, const keel_model *m, const keel_tensor *inputs)
{
    char err[CLI_ERRMSG];
    keel_options opt = o->opt;
    opt.optimize = 0; /* every value exists */
    keel_session *s = NULL;
    if (keel_session_create(&s, m, &opt, NULL, 0, inputs, err, sizeof err) != KEEL_OK)
        fprintf(stderr, "keel compare: %s\n", err);
    return s;
}

static void report(const compare_opts *o, const cli_comparison *c)
{
    if (o->json) {
        fputs("{\"a\": ", stdout);
        cli_json_str(stdout, o->paths[0]);
        fputs(", \"b\": ", stdout);
        cli_json_str(stdout, o->paths[1]);
        fputs(", ", stdout);
        cli_comparison_json(c, stdout);
        fputs("}\n", stdout);
    } else if (o->quiet)
        cli_comparison_summary(c, stdout, "");
    else
        cli_comparison_text(c, stdout);
}

static int compare_models(const compare_opts *o, keel_model *ma, keel_model *mb)
{
    int na = keel_model_input_count(ma), nb = keel_model_input_count(mb), rc = 2;
    int oa = keel_model_output_count(ma), ob = keel_model_output_count(mb);
    keel_tensor *in_a = calloc((size_t)na + 1, sizeof *in_a), *in_b = calloc((size_t)nb + 1, sizeof *in_b);
    keel_tensor *outs = calloc((size_t)(oa > ob ? oa : ob) + 1, sizeof *outs);
    cli_values ref = {0};
    cli_comparison c = {.a = &ref, .rtol = o->rtol, .atol = o->atol};
    keel_session *sa = NULL, *sb = NULL;
    if (!in_a || !in_b || !outs || !make_inputs(o, ma, in_a) || !map_inputs(ma, mb, in_a, in_b))
        goto done;
    if (!(sa = open_session(o, ma, in_a)) || !(sb = open_session(o, mb, in_b)))
        goto done;
    if (cli_record_run(sa, in_a, outs, &ref) != KEEL_OK) {
        fprintf(stderr, "keel compare: %s\n", keel_session_errmsg(sa));
        goto done;
    }
    memset(outs, 0, (size_t)(oa > ob ? oa : ob) * sizeof *outs);
    if (cli_compare_run(sb, in_b, outs, ma, mb, &c) != KEEL_OK) {
        fprintf(stderr, "keel compare: %s\n", keel_session_errmsg(sb));
        goto done;
    }
    report(o, &c);
    char err[CLI_ERRMSG], title[512];
    snprintf(title, sizeof title, "keel compare %s %s", o->paths[0], o->paths[1]);
    if (o->svg && !cli_comparison_svg(&c, o->svg, title, err, sizeof err)) {
        fprintf(stderr, "keel compare: %s\n", err);
        goto done;
    }
    rc = c.first_divergent >= 0 ? 1 : 0;
done:
    for (int k = 0; in_a && k < na; k++)
        cli_tensor_free(&in_a[k]);
    cli_comparison_free(&c);
    cli_values_free(&ref);
    keel_session_free(sa);
    keel_session_free(sb);
    free(in_a);
    free(in_b);
    free(outs);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

static bool parse_number(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && !*end && *out >= 0;
}

/* 0 when parsed, else the exit status. */
static int parse_args(int argc, char **argv, compare_opts *o)
{
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-i") && has_value && o->n_specs < MAX_ARGS)
            o->specs[o->n_specs++] = argv[++i];
        else if ((!strcmp(a, "--rtol") || !strcmp(a, "--atol")) && has_value) {
            if (!parse_number(argv[++i], a[2] == 'r' ? &o->rtol : &o->atol)) {
                fprintf(stderr, "keel compare: bad %s '%s'\n", a, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            o->quiet = true;
        else if (!strcmp(a, "--svg") && has_value)
            o->svg = argv[++i];
        else if (!strcmp(a, "--seed") && has_value)
            o->seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--threads") && has_value) {
            if ((o->opt.threads = atoi(argv[++i])) < 1) {
                fprintf(stderr, "keel compare: bad --threads '%s' (want a positive count)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--isa") && has_value) {
            if ((o->opt.isa = cli_parse_isa(argv[++i])) < 0) {
                fprintf(stderr, "keel compare: bad --isa '%s' (want auto, generic, avx2 or avx512)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--dim") && has_value) {
            if (o->n_dims == MAX_ARGS || !cli_parse_dim(argv[++i], &o->dims[o->n_dims++])) {
                fprintf(stderr, "keel compare: bad --dim '%s' (want NAME=N)\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "keel compare: unknown option '%s' (or it lacks its value)\n", a);
            return 2;
        } else if (n_paths < 2)
            o->paths[n_paths++] = a;
        else {
            fprintf(stderr, "keel compare: more than two models given ('%s')\n", a);
            return 2;
        }
    }
    if (n_paths != 2) {
        cli_usage("compare", stderr);
        return 2;
    }
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    compare_opts o = {.rtol = 1e-3, .atol = 1e-4, .seed = 1};
    keel_options_init(&o.opt);
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    keel_model *m[2] = {NULL, NULL};
    char err[CLI_ERRMSG];
    for (int k = 0; k < 2; k++)
        if (keel_model_load(&m[k], o.paths[k], &o.opt, err, sizeof err) != KEEL_OK) {
            fprintf(stderr, "keel compare: %s\n", err);
            keel_model_free(m[0]);
            return 2;
        }
    rc = compare_models(&o, m[0], m[1]);
    keel_model_free(m[0]);
    keel_model_free(m[1]);
    return rc;
}
