/* info.c -- `keel info`: what a model holds and what keel makes of it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../ops/registry.h"

#define MAX_DIMS_ARGS 64

typedef struct op_count {
    const char *type, *domain;
    int count;
    bool supported;
} op_count;

typedef struct model_summary {
    int64_t parameters;
    int n_ops;
    op_count *ops;       /* distinct (domain, op_type), by first appearance */
    int n_unsupported;
} model_summary;

static bool is_float_type(int dtype)
{
    return dtype == KEEL_FLOAT || dtype == KEEL_DOUBLE || dtype == KEEL_FLOAT16 || dtype == KEEL_BFLOAT16;
}

int64_t cli_param_count(const keel_model *m)
{
    const kl_graph *g = m->graph;
    int64_t n = 0;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == KL_VALUE_INIT && is_float_type(g->values[v].init->dtype))
            n += kl_numel(g->values[v].init);
    return n;
}

static void summarize(const keel_model *m, model_summary *sum)
{
    const kl_graph *g = m->graph;
    memset(sum, 0, sizeof *sum);
    sum->parameters = cli_param_count(m);
    sum->ops = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *sum->ops);
    for (int i = 0; sum->ops && i < g->n_nodes; i++) {
        const kl_node *n = &g->nodes[i];
        int k = 0;
        while (k < sum->n_ops && (strcmp(sum->ops[k].type, n->op_type) || strcmp(sum->ops[k].domain, n->domain)))
            k++;
        if (k == sum->n_ops) {
            int opset = (int)kl_model_opset(m, n->domain);
            sum->ops[k] = (op_count){n->op_type, n->domain, 0,
                                     kl_registry_find(n->domain, n->op_type, opset) != NULL};
            sum->n_unsupported += !sum->ops[k].supported;
            sum->n_ops++;
        }
        sum->ops[k].count++;
    }
}

static void print_dims_json(FILE *f, const kl_tensor *t, const char **sym)
{
    if (t->rank < 0) { /* planned at run time */
        fputs("null", f);
        return;
    }
    fputc('[', f);
    for (int d = 0; d < t->rank; d++) {
        if (d)
            fputc(',', f);
        if (sym && sym[d])
            cli_json_str(f, sym[d]);
        else if (t->dims[d] < 0)
            fputs("null", f);
        else
            fprintf(f, "%lld", (long long)t->dims[d]);
    }
    fputc(']', f);
}

static void print_dims_text(FILE *f, const kl_tensor *t, const char **sym)
{
    if (t->rank < 0) { /* planned at run time */
        fprintf(f, "%s[?]", kl_dtype_name(t->dtype));
        return;
    }
    fprintf(f, "%s[", kl_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++) {
        if (d)
            fputc(',', f);
        if (sym && sym[d])
            fputs(sym[d], f);
        else if (t->dims[d] < 0)
            fputc('?', f);
        else
            fprintf(f, "%lld", (long long)t->dims[d]);
    }
    fputc(']', f);
}

/* One graph input or output: declared shape and, with a session, the
 * planned one. */
static void print_io(FILE *f, const keel_model *m, const keel_session *s, bool input, int i,
                     bool json)
{
    keel_tensor decl, planned;
    const char *sym[KEEL_MAX_RANK] = {0};
    const char *name = input ? keel_model_input_name(m, i) : keel_model_output_name(m, i);
    if (input)
        keel_model_input_info(m, i, &decl, sym);
    else
        keel_model_output_info(m, i, &decl, sym);
    bool have = s && (input ? keel_session_input_info(s, i, &planned) : keel_session_output_info(s, i, &planned)) == KEEL_OK;
    if (json) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        cli_json_str(f, name);
        fprintf(f, ", \"dtype\": \"%s\", \"declared\": ", kl_dtype_name(decl.dtype));
        if (decl.rank >= 0)
            print_dims_json(f, &decl, sym);
        else
            fputs("null", f);
        fputs(", \"shape\": ", f);
        if (have)
            print_dims_json(f, &planned, NULL);
        else
            fputs("null", f);
        fputc('}', f);
        return;
    }
    fprintf(f, "  %-24s ", name);
    if (have)
        print_dims_text(f, &planned, NULL);
    if (decl.rank >= 0) {
        fputs(have ? "  (declared " : "declared ", f);
        print_dims_text(f, &decl, sym);
        fputs(have ? ")" : "", f);
    }
    fputc('\n', f);
}

static void print_values(FILE *f, const keel_session *s, bool json)
{
    const kl_graph *g = s->g;
    bool first = true;
    if (json)
        fputs(", \"values\": [", f);
    else
        fputs("values:\n", f);
    for (int v = 0; v < g->n_values; v++) {
        const kl_slot *sl = &s->slots[v];
        if (!sl->known || g->values[v].kind == KL_VALUE_INIT)
            continue;
        if (json) {
            fprintf(f, "%s{\"name\": ", first ? "" : ", ");
            cli_json_str(f, g->values[v].name);
            fprintf(f, ", \"dtype\": \"%s\", \"shape\": ", kl_dtype_name(sl->t.dtype));
            print_dims_json(f, &sl->t, NULL);
            fprintf(f, ", \"constant\": %s}", sl->is_const ? "true" : "false");
        } else {
            fprintf(f, "  %-40s ", g->values[v].name);
            print_dims_text(f, &sl->t, NULL);
            fputs(sl->is_const ? "  (constant)\n" : "\n", f);
        }
        first = false;
    }
    if (json)
        fputc(']', f);
}

static void print_json(const keel_model *m, const keel_session *s, const model_summary *sum,
                       const char *session_err, bool values)
{
    FILE *f = stdout;
    fputs("{\"file\": ", f);
    cli_json_str(f, m->name);
    fputs(", \"producer\": ", f);
    cli_json_str(f, m->producer_name);
    fputs(", \"producer_version\": ", f);
    cli_json_str(f, m->producer_version);
    fprintf(f, ", \"ir_version\": %lld, \"opsets\": {", (long long)m->ir_version);
    for (int i = 0; i < m->n_opsets; i++) {
        fputs(i ? ", " : "", f);
        cli_json_str(f, m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx");
        fprintf(f, ": %lld", (long long)m->opsets[i].version);
    }
    fputs("}, \"inputs\": [", f);
    for (int i = 0; i < keel_model_input_count(m); i++)
        print_io(f, m, s, true, i, true);
    fputs("], \"outputs\": [", f);
    for (int i = 0; i < keel_model_output_count(m); i++)
        print_io(f, m, s, false, i, true);
    fprintf(f, "], \"parameters\": %lld, \"nodes\": %d", (long long)sum->parameters, m->graph->n_nodes);
    if (s)
        fprintf(f, ", \"macs\": %lld, \"arena_bytes\": %zu, \"intermediate_bytes\": %zu, \"folded_nodes\": %d",
                (long long)s->macs, s->arena_size, s->sum_intermediates, s->n_folded);
    else
        fputs(", \"macs\": null, \"arena_bytes\": null, \"intermediate_bytes\": null", f);
    fputs(", \"ops\": {", f);
    for (int k = 0; k < sum->n_ops; k++) {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", sum->ops[k].domain, sum->ops[k].domain[0] ? "." : "", sum->ops[k].type);
        fputs(k ? ", " : "", f);
        cli_json_str(f, key);
        fprintf(f, ": %d", sum->ops[k].count);
    }
    fputs("}, \"unsupported_ops\": [", f);
    for (int k = 0, n = 0; k < sum->n_ops; k++)
        if (!sum->ops[k].supported) {
            fputs(n++ ? ", " : "", f);
            cli_json_str(f, sum->ops[k].type);
        }
    fputc(']', f);
    if (session_err) {
        fputs(", \"session_error\": ", f);
        cli_json_str(f, session_err);
    }
    if (s && values)
        print_values(f, s, true);
    fputs("}\n", f);
}

static void print_text(const keel_model *m, const keel_session *s, const model_summary *sum,
                       const char *session_err, bool values)
{
    FILE *f = stdout;
    fprintf(f, "model:       %s\n", m->name);
    fprintf(f, "producer:    %s %s\n", m->producer_name, m->producer_version);
    fprintf(f, "ir_version:  %lld\nopsets:     ", (long long)m->ir_version);
    for (int i = 0; i < m->n_opsets; i++)
        fprintf(f, " %s %lld", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx",
                (long long)m->opsets[i].version);
    fputs("\ninputs:\n", f);
    for (int i = 0; i < keel_model_input_count(m); i++)
        print_io(f, m, s, true, i, false);
    fputs("outputs:\n", f);
    for (int i = 0; i < keel_model_output_count(m); i++)
        print_io(f, m, s, false, i, false);
    fprintf(f, "parameters:  %lld\nnodes:       %d\n", (long long)sum->parameters, m->graph->n_nodes);
    if (s) {
        fprintf(f, "MACs:        %lld (%.3f G)\n", (long long)s->macs, (double)s->macs / 1e9);
        fprintf(f, "arena:       %.2f MiB (intermediates %.2f MiB; %d nodes folded at creation)\n",
                (double)s->arena_size / 1048576.0, (double)s->sum_intermediates / 1048576.0, s->n_folded);
        if (s->n_dynamic)
            fprintf(f, "run time:    %d nodes planned at each run (shapes depend on data)\n", s->n_dynamic);
    } else {
        fprintf(f, "session:     not created: %s\n", session_err);
    }
    fputs("ops:        ", f);
    for (int k = 0; k < sum->n_ops; k++)
        fprintf(f, " %s%s%s %d", sum->ops[k].domain, sum->ops[k].domain[0] ? "." : "", sum->ops[k].type,
                sum->ops[k].count);
    fputs("\nunsupported:", f);
    if (!sum->n_unsupported)
        fputs(" none", f);
    for (int k = 0; k < sum->n_ops; k++)
        if (!sum->ops[k].supported)
            fprintf(f, " %s", sum->ops[k].type);
    fputc('\n', f);
    if (s && values)
        print_values(f, s, false);
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false, values = false;
    keel_dim_binding dims[MAX_DIMS_ARGS];
    int n_dims = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--values") == 0)
            values = true;
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc) {
            if (n_dims == MAX_DIMS_ARGS || !cli_parse_dim(argv[++i], &dims[n_dims++])) {
                fprintf(stderr, "keel info: bad --dim '%s' (want NAME=N)\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keel info: unknown option '%s'\n", argv[i]);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: keel info MODEL.onnx [--json] [--values] [--dim NAME=N]...\n");
        return 2;
    }
    keel_model *m;
    char err[KL_ERRMSG], serr[KL_ERRMSG];
    if (keel_model_load(&m, path, NULL, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "keel info: %s\n", err);
        return 1;
    }
    keel_session *s = NULL;
    bool ok = keel_session_create(&s, m, NULL, dims, n_dims, NULL, serr, sizeof serr) == KEEL_OK;
    model_summary sum;
    summarize(m, &sum);
    if (json)
        print_json(m, s, &sum, ok ? NULL : serr, values);
    else
        print_text(m, s, &sum, ok ? NULL : serr, values);
    free(sum.ops);
    keel_session_free(s);
    keel_model_free(m);
    return 0;
}
