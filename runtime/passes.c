/* passes.c -- the passes a session's creation runs over its graph, in
 * order, and the record of the graph after each. */
#include <stdio.h>
#include <string.h>

#include "session.h"

const kl_pass kl_passes[] = {
    {.name = "fold", .does = "infer shapes; run nodes whose inputs are known at creation", .run = kl_pass_fold},
    {.name = "fuse_batchnorm", .does = "fold BatchNormalization into the Conv before it", .optional = true,
     .rewrite = true, .run = kl_pass_fuse_batchnorm},
    {.name = "fuse_norm", .does = "LayerNorm spelt ReduceMean, Sub, Pow, Sqrt, Div becomes LayerNormalization",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_norm},
    {.name = "fuse_softmax", .does = "a Mul or Div by a constant before Softmax becomes its input scale",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_softmax},
    {.name = "fuse_pad", .does = "a zero Pad becomes the padding of the Conv or AveragePool after it",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_pad},
    {.name = "fuse_bias", .does = "an Add of a constant row becomes the bias of the MatMul or Gemm before it",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_bias},
    {.name = "fuse_residual", .does = "an Add becomes the residual input of the product before it",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_residual},
    {.name = "fuse_gelu", .does = "a spelled-out GELU becomes the product's epilogue, or one Gelu node",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_gelu},
    {.name = "fuse_gated", .does = "x*sigmoid(x), x*hardsigmoid(x) become the product's epilogue",
     .optional = true, .rewrite = true, .run = kl_pass_fuse_gated},
    {.name = "fuse_activation", .does = "activations become the product's epilogue", .optional = true,
     .rewrite = true, .run = kl_pass_fuse_activation},
    {.name = "drop_unread", .does = "outputs nothing reads leave reshaping ops (Dropout's mask)",
     .optional = true, .rewrite = true, .run = kl_pass_drop_unread},
    {.name = "blocked_layout",
     .does = "runs of convolutions carry their values in channel blocks of one vector (16 or 8)",
     .optional = true, .rewrite = true, .run = kl_pass_blocked_layout},
    {.name = "schedule", .does = "one step per node, in order", .run = kl_pass_schedule},
    {.name = "views", .does = "reshaping ops share their input's storage", .optional = true,
     .run = kl_pass_views},
    {.name = "lifetimes", .does = "first and last step of each storage", .run = kl_pass_lifetimes},
    {.name = "slices", .does = "inputs of a Concat are written in place as slices of its output",
     .optional = true, .run = kl_pass_slices},
    {.name = "in_place", .does = "elementwise outputs take the storage of an input that dies",
     .optional = true, .run = kl_pass_in_place},
    {.name = "arena", .does = "one block for every value and scratch", .run = kl_pass_arena},
    {.name = "prepare", .does = "kernels pack their constant inputs", .run = kl_pass_prepare},
};
const int kl_n_passes = (int)(sizeof kl_passes / sizeof kl_passes[0]);

static int pass_index(const char *name, size_t len)
{
    for (int k = 0; k < kl_n_passes; k++)
        if (strlen(kl_passes[k].name) == len && strncmp(kl_passes[k].name, name, len) == 0)
            return k;
    return -1;
}

keel_status kl_passes_parse(kl_env *env, const char *list, unsigned *off)
{
    *off = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ", ");
        int k = len ? pass_index(p, len) : -2;
        if (k == -1 || (k >= 0 && !kl_passes[k].optional)) {
            char known[512] = "";
            size_t used = 0;
            for (int j = 0; j < kl_n_passes; j++)
                if (kl_passes[j].optional)
                    kl_appendf(known, sizeof known, &used, "%s%s", used ? ", " : "", kl_passes[j].name);
            return kl_error(env, KEEL_ERR_ARGUMENT, "keel_options.passes_off: %s pass '%.*s'; those that can be turned off: %s",
                            k == -1 ? "no" : "cannot turn off the", (int)len, p, known);
        }
        if (k >= 0)
            *off |= 1u << k;
        p += len;
        p += strspn(p, ", ");
    }
    return KEEL_OK;
}

void kl_pass_note(kl_plan *s, const char *fmt, ...)
{
    if (!s->records)
        return;
    kl_pass_record *r = &s->records[s->n_records];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

/* The op histogram of the session graph into r. */
static keel_status record_graph(kl_plan *s, kl_pass_record *r)
{
    r->n_nodes = s->n_nodes;
    size_t cap = (size_t)(s->n_nodes ? s->n_nodes : 1);
    r->types = kl_alloc(&s->env, cap * sizeof *r->types);
    r->counts = kl_alloc(&s->env, cap * sizeof *r->counts);
    if (!r->types || !r->counts)
        return KEEL_ERR_NOMEM;
    for (int i = 0; i < s->n_nodes; i++) {
        const char *type = kl_snode_type(&s->nodes[i]);
        int t = 0;
        while (t < r->n_types && strcmp(r->types[t], type))
            t++;
        if (t == r->n_types)
            r->types[r->n_types++] = type;
        r->counts[t]++;
    }
    return KEEL_OK;
}

static bool pass_on(const kl_plan *s, int k)
{
    return !(s->passes_off & (1u << k)) && (!kl_passes[k].rewrite || s->env.optimize);
}

keel_status kl_passes_run(kl_plan *s)
{
    s->records = kl_alloc(&s->env, (size_t)(kl_n_passes + 1) * sizeof *s->records);
    if (!s->records)
        return KEEL_ERR_NOMEM;
    /* the graph as loaded */
    s->records[0].pass = "model";
    keel_status st0 = s->parent ? KEEL_OK : record_graph(s, &s->records[0]);
    s->n_records = 1;
    if (st0)
        return st0;
    for (int k = 0; k < kl_n_passes; k++) {
        if (!pass_on(s, k))
            continue;
        kl_pass_record *r = &s->records[s->n_records];
        r->pass = kl_passes[k].name;
        r->start_ns = kl_now_ns();
        keel_status st = kl_passes[k].run(s);
        r->ns = kl_now_ns() - r->start_ns;
        if (!st && !s->parent)
            st = record_graph(s, r);
        s->n_records++;
        if (st)
            return st;
    }
    return KEEL_OK;
}

void kl_passes_free(kl_plan *s)
{
    for (int k = 0; s->records && k < s->n_records; k++) {
        kl_pass_record *r = &s->records[k];
        size_t cap = (size_t)(r->n_nodes ? r->n_nodes : 1);
        kl_free(&s->env, r->types, cap * sizeof *r->types);
        kl_free(&s->env, r->counts, cap * sizeof *r->counts);
    }
    kl_free(&s->env, s->records, (size_t)(kl_n_passes + 1) * sizeof *s->records);
    s->records = NULL;
}

const char *keel_pass_name(int k)
{
    return k >= 0 && k < kl_n_passes ? kl_passes[k].name : NULL;
}
