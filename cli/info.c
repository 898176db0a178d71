/* info.c -- `keel info`: what a model holds and what keel makes of it;
 * --dot draws its graph, or with --passes the session's, for Graphviz. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

static void summarize(const keel_model *m, model_summary *sum)
{
    kl_model_info info;
    kl_inspect_model(m, &info);
    memset(sum, 0, sizeof *sum);
    sum->parameters = info.parameters;
    sum->ops = calloc((size_t)(info.n_nodes ? info.n_nodes : 1), sizeof *sum->ops);
    for (int i = 0; sum->ops && i < info.n_nodes; i++) {
        kl_node_info n;
        kl_inspect_node(m, i, &n);
        int k = 0;
        while (k < sum->n_ops && (strcmp(sum->ops[k].type, n.op_type) || strcmp(sum->ops[k].domain, n.domain)))
            k++;
        if (k == sum->n_ops) {
            sum->ops[k] = (op_count){n.op_type, n.domain, 0, n.supported};
            sum->n_unsupported += !n.supported;
            sum->n_ops++;
        }
        sum->ops[k].count++;
    }
}

static void print_dims_json(FILE *f, const keel_tensor *t, const char **sym)
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

static void print_dims_text(FILE *f, const keel_tensor *t, const char **sym)
{
    if (t->rank < 0) { /* planned at run time */
        fprintf(f, "%s[?]", keel_dtype_name(t->dtype));
        return;
    }
    fprintf(f, "%s[", keel_dtype_name(t->dtype));
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
        fprintf(f, ", \"dtype\": \"%s\", \"declared\": ", keel_dtype_name(decl.dtype));
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
    kl_plan_info plan;
    kl_inspect_plan(s, &plan);
    bool first = true;
    if (json)
        fputs(", \"values\": [", f);
    else
        fputs("values:\n", f);
    for (int v = 0; v < plan.n_values; v++) {
        const char *name;
        keel_tensor t;
        bool constant;
        if (!kl_inspect_value(s, v, &name, &t, &constant))
            continue;
        if (json) {
            fprintf(f, "%s{\"name\": ", first ? "" : ", ");
            cli_json_str(f, name);
            fprintf(f, ", \"dtype\": \"%s\", \"shape\": ", keel_dtype_name(t.dtype));
            print_dims_json(f, &t, NULL);
            fprintf(f, ", \"constant\": %s}", constant ? "true" : "false");
        } else {
            fprintf(f, "  %-40s ", name);
            print_dims_text(f, &t, NULL);
            fputs(constant ? "  (constant)\n" : "\n", f);
        }
        first = false;
    }
    if (json)
        fputc(']', f);
}

/* The count of op type `op` in pass record k, 0 if none. */
static int pass_op_count(const keel_session *s, int k, const char *op)
{
    kl_pass_info r;
    kl_inspect_pass(s, k, &r);
    for (int t = 0; t < r.n_op_types; t++) {
        const char *type;
        int count;
        kl_inspect_pass_op(s, k, t, &type, &count);
        if (strcmp(type, op) == 0)
            return count;
    }
    return 0;
}

/* How the op histogram of record k differs from record k - 1's, as
 * " +Conv 3 -BatchNormalization 53": first the types of record k whose
 * count changed, then those gone since k - 1. */
static void print_op_deltas(FILE *f, const keel_session *s, int k)
{
    for (int gone = 0; gone < 2; gone++) {
        int here = gone ? k - 1 : k, there = gone ? k : k - 1;
        kl_pass_info r;
        kl_inspect_pass(s, here, &r);
        for (int t = 0; t < r.n_op_types; t++) {
            const char *type;
            int count;
            kl_inspect_pass_op(s, here, t, &type, &count);
            int other = pass_op_count(s, there, type);
            int delta = gone ? (other ? 0 : -count) : count - other;
            if (delta)
                fprintf(f, " %c%s %d", delta > 0 ? '+' : '-', type, abs(delta));
        }
    }
}

/* The session graph as loaded and after each pass: text lists record 0's
 * op histogram and then each pass's changes; JSON every histogram. */
static void print_passes(FILE *f, const keel_session *s, bool json)
{
    int n = kl_inspect_pass_count(s);
    fputs(json ? ", \"passes\": [" : "passes:\n", f);
    for (int k = 0; k < n; k++) {
        kl_pass_info r, prev = {0};
        kl_inspect_pass(s, k, &r);
        if (k)
            kl_inspect_pass(s, k - 1, &prev);
        if (json) {
            fprintf(f, "%s{\"pass\": ", k ? ", " : "");
            cli_json_str(f, r.pass);
            fprintf(f, ", \"nodes\": %d, \"note\": ", r.n_nodes);
            cli_json_str(f, r.note);
            fputs(", \"ops\": {", f);
            for (int t = 0; t < r.n_op_types; t++) {
                const char *type;
                int count;
                kl_inspect_pass_op(s, k, t, &type, &count);
                fputs(t ? ", " : "", f);
                cli_json_str(f, type);
                fprintf(f, ": %d", count);
            }
            fputs("}}", f);
            continue;
        }
        char change[16] = "";
        if (k)
            snprintf(change, sizeof change, "%+d", r.n_nodes - prev.n_nodes);
        if (k && r.n_nodes == prev.n_nodes)
            snprintf(change, sizeof change, "0");
        fprintf(f, "  %-16s %6d nodes %6s", r.pass, r.n_nodes, change);
        if (r.note && r.note[0])
            fprintf(f, "  (%s)", r.note);
        if (k == 0) {
            for (int t = 0; t < r.n_op_types; t++) {
                const char *type;
                int count;
                kl_inspect_pass_op(s, k, t, &type, &count);
                fprintf(f, " %s %d", type, count);
            }
        } else
            print_op_deltas(f, s, k);
        fputc('\n', f);
    }
    if (json)
        fputc(']', f);
}

/* What --values and --passes add; --dot draws instead. */
typedef struct info_opts {
    bool json, values, passes, dot;
} info_opts;

const char *cli_value_shape(const keel_session *s, int v, char *buf, size_t size)
{
    const char *name;
    keel_tensor t;
    bool constant;
    if (!s || !kl_inspect_value(s, v, &name, &t, &constant)) {
        snprintf(buf, size, "?");
        return buf;
    }
    return kl_shape_str(&t, buf, size);
}

/* ---- --dot ---------------------------------------------------------------------- */

/* Bytes of the well-formed UTF-8 character at p, 0 if it is not one. */
static int utf8_len(const unsigned char *p)
{
    int n = *p < 0xc2 ? 0 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : *p < 0xf5 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* s inside a DOT double-quoted string: '"' and '\' escaped (a label's
 * backslash would start an escape such as \N), control characters as
 * spaces, bytes that are not UTF-8 (Graphviz's charset) as '?'. */
static void dot_str(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = *p < 0x80 ? 1 : utf8_len(p);
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fputc(' ', f);
        else if (n == 0)
            fputc('?', f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n ? n : 1;
    }
}

/* A node to draw: the model's node, or the session graph's with the ops
 * fused into it. */
typedef struct dot_node {
    const char *name, *label;
    int n_in, n_out;
    const int *in, *out;
} dot_node;

static void get_node(const keel_model *m, const keel_session *s, bool passes, int i, dot_node *d,
                     kl_snode_info *room)
{
    if (passes) {
        kl_inspect_snode(s, i, room);
        *d = (dot_node){room->name, room->label, room->n_in, room->n_out, room->in, room->out};
        return;
    }
    kl_node_info n;
    kl_inspect_node(m, i, &n);
    *d = (dot_node){n.name, n.op_type, n.n_in, n.n_out, n.in, n.out};
}

/* Who writes value v, drawn as: node i is "n<i>", graph input k "i<k>". */
#define WRITER_NONE (-1)
#define WRITER_INPUT(k) (-2 - (k))

static void dot_ref(FILE *f, int writer)
{
    if (writer >= 0)
        fprintf(f, "n%d", writer);
    else
        fprintf(f, "i%d", -2 - writer);
}

/* An edge from the writer of v (if any) to `to`, labeled with v's shape. */
static void dot_edge(FILE *f, const keel_session *s, const int *writer, int v, char to, int k)
{
    if (v < 0 || writer[v] == WRITER_NONE)
        return;
    char shape[128];
    fputs("  ", f);
    dot_ref(f, writer[v]);
    fprintf(f, " -> %c%d [label=\"", to, k);
    dot_str(f, cli_value_shape(s, v, shape, sizeof shape));
    fputs("\"];\n", f);
}

/* Graph inputs as "i<k>" (inverted houses) labeled with name and shape. */
static void dot_inputs(FILE *f, const keel_model *m, const keel_session *s, int *writer)
{
    for (int k = 0; k < keel_model_input_count(m); k++) {
        int v = kl_inspect_io_value(m, false, k);
        char shape[128];
        fprintf(f, "  i%d [shape=invhouse, style=filled, fillcolor=\"#dde8f8\", label=\"", k);
        dot_str(f, keel_model_input_name(m, k));
        fputs("\\n", f);
        dot_str(f, cli_value_shape(s, v, shape, sizeof shape));
        fputs("\"];\n", f);
        writer[v] = WRITER_INPUT(k);
    }
}

/* Graph outputs as "o<k>" (houses), each with an edge from its writer. */
static void dot_outputs(FILE *f, const keel_model *m, const keel_session *s, const int *writer)
{
    for (int k = 0; k < keel_model_output_count(m); k++) {
        fprintf(f, "  o%d [shape=house, style=filled, fillcolor=\"#f8e8d0\", label=\"", k);
        dot_str(f, keel_model_output_name(m, k));
        fputs("\"];\n", f);
        dot_edge(f, s, writer, kl_inspect_io_value(m, true, k), 'o', k);
    }
}

/* The model's graph (passes: the session graph after every pass) in
 * DOT: one box per node, "n<i>", labeled with its name and op type (the
 * session graph's: op type and fused ops, "Conv+Relu"), and an edge per
 * value a node reads from a node or graph input, labeled with its shape
 * as the session planned it ("?" without a session).  Values no node
 * writes (weights, folded constants) have no edges. */
static int print_dot(const keel_model *m, const keel_session *s, bool passes)
{
    kl_model_info mi;
    kl_plan_info plan = {0};
    kl_inspect_model(m, &mi);
    if (s)
        kl_inspect_plan(s, &plan);
    int n_values = passes ? plan.n_values : mi.n_values, n_nodes = passes ? plan.n_nodes : mi.n_nodes;
    int *writer = malloc(((size_t)n_values + 1) * sizeof *writer);
    if (!writer)
        return 1;
    for (int v = 0; v < n_values; v++)
        writer[v] = WRITER_NONE;
    FILE *f = stdout;
    fputs("digraph keel {\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\", fontsize=10];\n", f);
    dot_inputs(f, m, s, writer);
    for (int i = 0; i < n_nodes; i++) { /* in run order: a node's inputs are written before it */
        dot_node d;
        kl_snode_info room;
        get_node(m, s, passes, i, &d, &room);
        fprintf(f, "  n%d [label=\"", i);
        if (d.name[0]) {
            dot_str(f, d.name);
            fputs("\\n", f);
        }
        dot_str(f, d.label);
        fputs("\"];\n", f);
        for (int k = 0; k < d.n_in; k++)
            dot_edge(f, s, writer, d.in[k], 'n', i);
        for (int k = 0; k < d.n_out; k++)
            if (d.out[k] >= 0 && d.out[k] < n_values)
                writer[d.out[k]] = i;
    }
    dot_outputs(f, m, s, writer);
    fputs("}\n", f);
    free(writer);
    return 0;
}

/* What the file says about itself: producer, domain, version, doc string,
 * metadata_props, IR version. */
static void print_about_json(FILE *f, const keel_model *m)
{
    keel_model_about about;
    keel_model_describe(m, &about);
    fputs(", \"producer\": ", f);
    cli_json_str(f, about.producer_name);
    fputs(", \"producer_version\": ", f);
    cli_json_str(f, about.producer_version);
    fputs(", \"domain\": ", f);
    cli_json_str(f, about.domain);
    fprintf(f, ", \"model_version\": %lld, \"doc_string\": ", (long long)about.model_version);
    cli_json_str(f, about.doc_string);
    fputs(", \"metadata\": {", f);
    const char *key, *value;
    for (int i = 0; i < keel_model_metadata(m, i, &key, &value); i++) {
        fputs(i ? ", " : "", f);
        cli_json_str(f, key);
        fputs(": ", f);
        cli_json_str(f, value);
    }
    fprintf(f, "}, \"ir_version\": %lld", (long long)about.ir_version);
}

static void print_about_text(FILE *f, const keel_model *m)
{
    keel_model_about about;
    keel_model_describe(m, &about);
    fprintf(f, "producer:    %s %s\n", about.producer_name, about.producer_version);
    if (about.domain[0] || about.model_version)
        fprintf(f, "domain:      %s (model version %lld)\n", about.domain, (long long)about.model_version);
    if (about.doc_string[0])
        fprintf(f, "doc:         %.200s%s\n", about.doc_string, strlen(about.doc_string) > 200 ? "..." : "");
    const char *key, *value;
    for (int i = 0; i < keel_model_metadata(m, i, &key, &value); i++)
        fprintf(f, "metadata:    %s = %s\n", key, value);
    fprintf(f, "ir_version:  %lld\n", (long long)about.ir_version);
}

static void print_json(const keel_model *m, const keel_session *s, const model_summary *sum,
                       const char *session_err, const info_opts *o)
{
    FILE *f = stdout;
    kl_model_info mi;
    kl_inspect_model(m, &mi);
    fputs("{\"file\": ", f);
    cli_json_str(f, mi.name);
    print_about_json(f, m);
    fputs(", \"opsets\": {", f);
    for (int i = 0; i < mi.n_opsets; i++) {
        const char *domain;
        int64_t version;
        kl_inspect_opset(m, i, &domain, &version);
        fputs(i ? ", " : "", f);
        cli_json_str(f, domain[0] ? domain : "ai.onnx");
        fprintf(f, ": %lld", (long long)version);
    }
    fputs("}, \"inputs\": [", f);
    for (int i = 0; i < keel_model_input_count(m); i++)
        print_io(f, m, s, true, i, true);
    fputs("], \"outputs\": [", f);
    for (int i = 0; i < keel_model_output_count(m); i++)
        print_io(f, m, s, false, i, true);
    fprintf(f, "], \"parameters\": %lld, \"nodes\": %d", (long long)sum->parameters, mi.n_nodes);
    if (s) {
        kl_plan_info plan;
        kl_inspect_plan(s, &plan);
        fprintf(f, ", \"macs\": %lld, \"arena_bytes\": %zu, \"intermediate_bytes\": %zu, \"folded_nodes\": %d",
                (long long)plan.macs, plan.arena_bytes, plan.intermediate_bytes, plan.n_folded);
    } else
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
    if (s && o->values)
        print_values(f, s, true);
    if (o->passes) {
        if (s)
            print_passes(f, s, true);
        else
            fputs(", \"passes\": null", f);
    }
    fputs("}\n", f);
}

static void print_text(const keel_model *m, const keel_session *s, const model_summary *sum,
                       const char *session_err, const info_opts *o)
{
    FILE *f = stdout;
    kl_model_info mi;
    kl_inspect_model(m, &mi);
    fprintf(f, "model:       %s\n", mi.name);
    print_about_text(f, m);
    fputs("opsets:     ", f);
    for (int i = 0; i < mi.n_opsets; i++) {
        const char *domain;
        int64_t version;
        kl_inspect_opset(m, i, &domain, &version);
        fprintf(f, " %s %lld", domain[0] ? domain : "ai.onnx", (long long)version);
    }
    fputs("\ninputs:\n", f);
    for (int i = 0; i < keel_model_input_count(m); i++)
        print_io(f, m, s, true, i, false);
    fputs("outputs:\n", f);
    for (int i = 0; i < keel_model_output_count(m); i++)
        print_io(f, m, s, false, i, false);
    fprintf(f, "parameters:  %lld\nnodes:       %d\n", (long long)sum->parameters, mi.n_nodes);
    if (s) {
        kl_plan_info plan;
        kl_inspect_plan(s, &plan);
        fprintf(f, "MACs:        %lld (%.3f G)\n", (long long)plan.macs, (double)plan.macs / 1e9);
        fprintf(f, "arena:       %.2f MiB (intermediates %.2f MiB; %d nodes folded at creation)\n",
                (double)plan.arena_bytes / 1048576.0, (double)plan.intermediate_bytes / 1048576.0, plan.n_folded);
        if (plan.n_dynamic)
            fprintf(f, "run time:    %d nodes planned at each run (shapes depend on data)\n", plan.n_dynamic);
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
    if (s && o->values)
        print_values(f, s, false);
    if (s && o->passes)
        print_passes(f, s, false);
}

/* --dot: the graph, or without a session (why: session_err) the model's
 * with unknown shapes; the session graph needs the session. */
static int info_dot(const keel_model *m, const keel_session *s, const char *session_err, bool passes)
{
    kl_plan_info plan = {0};
    if (s)
        kl_inspect_plan(s, &plan);
    if (passes && !plan.planned) {
        fprintf(stderr, "keel info: --dot --passes draws the session graph, but no plan was made%s%s\n",
                session_err ? ": " : "", session_err ? session_err : "");
        return 1;
    }
    if (session_err)
        fprintf(stderr, "keel info: no session (%s): shapes unknown\n", session_err);
    return print_dot(m, s, passes);
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    info_opts o = {0};
    keel_options opt;
    keel_options_init(&opt);
    keel_dim_binding dims[MAX_DIMS_ARGS];
    int n_dims = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o.json = true;
        else if (strcmp(argv[i], "--values") == 0)
            o.values = true;
        else if (strcmp(argv[i], "--passes") == 0)
            o.passes = true;
        else if (strcmp(argv[i], "--dot") == 0)
            o.dot = true;
        else if (strcmp(argv[i], "--passes-off") == 0 && i + 1 < argc)
            opt.passes_off = argv[++i];
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc) {
            if (n_dims == MAX_DIMS_ARGS || !cli_parse_dim(argv[++i], &dims[n_dims++])) {
                fprintf(stderr, "keel info: bad --dim '%s' (want NAME=N)\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keel info: unknown option '%s'\n", argv[i]);
            cli_usage("info", stderr);
            return 2;
        } else
            path = argv[i];
    }
    if (!path || (o.dot && (o.json || o.values))) {
        if (path)
            fprintf(stderr, "keel info: --dot draws the graph alone, without --json or --values\n");
        cli_usage("info", stderr);
        return 2;
    }
    keel_model *m;
    char err[CLI_ERRMSG], serr[CLI_ERRMSG];
    if (keel_model_load(&m, path, &opt, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "keel info: %s\n", err);
        return 1;
    }
    keel_session *s = NULL;
    n_dims = cli_default_dims(m, dims, n_dims, MAX_DIMS_ARGS, "info");
    keel_status st = keel_session_create(&s, m, &opt, dims, n_dims, NULL, serr, sizeof serr);
    if (st == KEEL_ERR_ARGUMENT) {
        /* the caller's mistake (a bad --passes-off), not the model's */
        fprintf(stderr, "keel info: %s\n", serr);
        keel_model_free(m);
        return 1;
    }
    if (o.dot) {
        int rc = info_dot(m, s, st == KEEL_OK ? NULL : serr, o.passes);
        keel_session_free(s);
        keel_model_free(m);
        return rc;
    }
    model_summary sum;
    summarize(m, &sum);
    if (o.json)
        print_json(m, s, &sum, st == KEEL_OK ? NULL : serr, &o);
    else
        print_text(m, s, &sum, st == KEEL_OK ? NULL : serr, &o);
    free(sum.ops);
    keel_session_free(s);
    keel_model_free(m);
    return 0;
}
