/* graph.c -- keel's in-memory graph: values by name, nodes in order. */
#include <string.h>

#include "model.h"
#include "checker.h"

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int kl_graph_find(const kl_graph *g, const char *name)
{
    if (!g->hash_cap)
        return -1;
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int id = g->hash[i];
        if (id < 0)
            return -1;
        if (strcmp(g->values[id].name, name) == 0)
            return id;
    }
}

static keel_status rehash(kl_env *env, kl_graph *g, int cap)
{
    int *hash = kl_alloc(env, (size_t)cap * sizeof *hash);
    if (!hash)
        return KEEL_ERR_NOMEM;
    for (int i = 0; i < cap; i++)
        hash[i] = -1;
    uint32_t mask = (uint32_t)cap - 1;
    for (int id = 0; id < g->n_values; id++) {
        uint32_t i = hash_name(g->values[id].name) & mask;
        while (hash[i] >= 0)
            i = (i + 1) & mask;
        hash[i] = id;
    }
    kl_free(env, g->hash, (size_t)g->hash_cap * sizeof *g->hash);
    g->hash = hash;
    g->hash_cap = cap;
    return KEEL_OK;
}

int kl_graph_add_value(kl_env *env, kl_graph *g, const char *name)
{
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        kl_value *v = kl_alloc(env, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        if (g->n_values)
            memcpy(v, g->values, (size_t)g->n_values * sizeof *v);
        kl_free(env, g->values, (size_t)g->cap_values * sizeof *v);
        g->values = v;
        g->cap_values = cap;
    }
    kl_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = kl_strdup(env, name);
    if (!v->name)
        return -1;
    v->producer = -1;
    v->decl.rank = -1;
    g->n_values++;
    if (g->n_values * 2 > g->hash_cap && rehash(env, g, g->hash_cap ? g->hash_cap * 2 : 128)) {
        g->n_values--;
        kl_strfree(env, v->name);
        return -1;
    }
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    uint32_t i = hash_name(name) & mask;
    while (g->hash[i] >= 0)
        i = (i + 1) & mask;
    g->hash[i] = g->n_values - 1;
    return g->n_values - 1;
}

const kl_attr *kl_node_attr(const kl_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attr[i].name, name) == 0)
            return &n->attr[i];
    return NULL;
}

const char *kl_domain(const char *d)
{
    return (!d || strcmp(d, "ai.onnx") == 0) ? "" : d;
}

int64_t kl_model_opset(const keel_model *m, const char *domain)
{
    domain = kl_domain(domain);
    for (int i = 0; i < m->n_opsets; i++)
        if (strcmp(kl_domain(m->opsets[i].domain), domain) == 0)
            return m->opsets[i].version;
    return 0;
}

/* ---- freeing ------------------------------------------------------------ */

static void free_attr(kl_env *env, kl_attr *a)
{
    kl_strfree(env, a->name);
    kl_free(env, a->s, a->s ? a->s_len + 1 : 0);
    kl_tensor_free(env, a->t);
    if (a->g)
        kl_graph_free(env, a->g);
    kl_free(env, a->floats, (size_t)a->n * sizeof *a->floats);
    kl_free(env, a->ints, (size_t)a->n * sizeof *a->ints);
    if (a->strings) {
        for (int i = 0; i < a->n; i++)
            kl_strfree(env, a->strings[i]);
        kl_free(env, a->strings, (size_t)a->n * sizeof *a->strings);
    }
    if (a->tensors) {
        for (int i = 0; i < a->n; i++)
            kl_tensor_free(env, a->tensors[i]);
        kl_free(env, a->tensors, (size_t)a->n * sizeof *a->tensors);
    }
    if (a->tp) {
        for (int i = 0; i < KL_MAX_RANK; i++)
            kl_strfree(env, a->tp->params[i]);
        kl_free(env, a->tp, sizeof *a->tp);
    }
    if (a->graphs) {
        for (int i = 0; i < a->n; i++)
            if (a->graphs[i])
                kl_graph_free(env, a->graphs[i]);
        kl_free(env, a->graphs, (size_t)a->n * sizeof *a->graphs);
    }
}

void kl_node_clear(kl_env *env, kl_node *n)
{
    kl_strfree(env, n->name);
    kl_strfree(env, n->op_type);
    kl_strfree(env, n->domain);
    kl_free(env, n->in, (size_t)n->n_deps * sizeof *n->in);
    kl_free(env, n->out, (size_t)n->n_out * sizeof *n->out);
    if (n->attr) {
        for (int i = 0; i < n->n_attr; i++)
            free_attr(env, &n->attr[i]);
        kl_free(env, n->attr, (size_t)n->n_attr * sizeof *n->attr);
    }
}

static bool in_weights(const kl_graph *g, const void *p)
{
    const uint8_t *b = p;
    return g->weights && b >= g->weights && b < g->weights + g->weights_bytes;
}

void kl_graph_free(kl_env *env, kl_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++)
        kl_node_clear(env, &g->nodes[i]);
    kl_free(env, g->nodes, (size_t)g->n_nodes * sizeof *g->nodes);
    for (int i = 0; i < g->n_values; i++) {
        kl_value *v = &g->values[i];
        kl_strfree(env, v->name);
        if (v->init && in_weights(g, v->init->data))
            kl_free(env, v->init, sizeof *v->init);
        else
            kl_tensor_free(env, v->init);
        for (int d = 0; d < KL_MAX_RANK; d++)
            kl_strfree(env, v->decl.params[d]);
    }
    kl_free(env, g->values, (size_t)g->cap_values * sizeof *g->values);
    kl_free(env, g->hash, (size_t)g->hash_cap * sizeof *g->hash);
    kl_free(env, g->inputs, (size_t)g->n_inputs * sizeof *g->inputs);
    kl_free(env, g->outputs, (size_t)g->n_outputs * sizeof *g->outputs);
    kl_mark_access(g->weights, g->weights_bytes); /* the guards between payloads */
    kl_free(env, g->weights, g->weights_bytes);
    kl_strfree(env, g->name);
    kl_free(env, g, sizeof *g);
}

/* ---- topological order -------------------------------------------------- */

/* Reorders g->nodes so that every node comes after the producers of its
 * inputs (Kahn's algorithm, stable: ties keep file order).  Fails on a
 * cycle, naming a node on it. */
keel_status kl_graph_toposort(kl_env *env, kl_graph *g, const char *file)
{
    int n = g->n_nodes;
    if (n == 0)
        return KEEL_OK;
    size_t ibytes = (size_t)n * sizeof(int);
    int *indeg = kl_alloc(env, ibytes), *order = kl_alloc(env, ibytes);
    int *queue = kl_alloc(env, ibytes);
    /* consumers in CSR form */
    int n_edges = 0;
    for (int i = 0; i < n; i++)
        n_edges += g->nodes[i].n_deps;
    int *start = kl_alloc(env, (size_t)(n + 1) * sizeof(int));
    int *edge = kl_alloc(env, (size_t)(n_edges ? n_edges : 1) * sizeof(int));
    kl_node *sorted = kl_alloc(env, (size_t)n * sizeof *sorted);
    keel_status st = KEEL_OK;
    if (!indeg || !order || !queue || !start || !edge || !sorted) {
        st = KEEL_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_deps; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0) {
                indeg[i]++;
                start[g->values[v].producer + 1]++;
            }
        }
    for (int i = 0; i < n; i++)
        start[i + 1] += start[i];
    int *fill = order; /* reuse as a cursor array */
    for (int i = 0; i < n; i++)
        fill[i] = start[i];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_deps; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0)
                edge[fill[g->values[v].producer]++] = i;
        }
    /* A min-index-first queue keeps file order where the file was sorted:
     * scanning a ready flag array would be O(n^2), so use a simple binary heap. */
    int qn = 0;
#define HEAP_PUSH(x) do { int _j = qn++; queue[_j] = (x); \
        while (_j && queue[(_j - 1) / 2] > queue[_j]) { int _p = (_j - 1) / 2, _t = queue[_p]; \
            queue[_p] = queue[_j]; queue[_j] = _t; _j = _p; } } while (0)
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0)
            HEAP_PUSH(i);
    int done_count = 0;
    while (qn) {
        int top = queue[0];
        queue[0] = queue[--qn];
        for (int j = 0;;) { /* sift down */
            int l = 2 * j + 1, r = l + 1, m = j;
            if (l < qn && queue[l] < queue[m]) m = l;
            if (r < qn && queue[r] < queue[m]) m = r;
            if (m == j) break;
            int t = queue[m]; queue[m] = queue[j]; queue[j] = t; j = m;
        }
        sorted[done_count++] = g->nodes[top];
        for (int e = start[top]; e < start[top + 1]; e++)
            if (--indeg[edge[e]] == 0)
                HEAP_PUSH(edge[e]);
    }
#undef HEAP_PUSH
    if (done_count != n) {
        int culprit = 0;
        while (indeg[culprit] == 0)
            culprit++;
        st = kl_error(env, KEEL_ERR_INVALID,
                      "%s: the graph has a cycle through node %d '%s' (%s)", file,
                      g->nodes[culprit].file_index, g->nodes[culprit].name,
                      g->nodes[culprit].op_type);
        goto done;
    }
    memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                g->values[g->nodes[i].out[k]].producer = i;
done:
    kl_free(env, indeg, ibytes);
    kl_free(env, order, ibytes);
    kl_free(env, queue, ibytes);
    kl_free(env, start, (size_t)(n + 1) * sizeof(int));
    kl_free(env, edge, (size_t)(n_edges ? n_edges : 1) * sizeof(int));
    kl_free(env, sorted, (size_t)n * sizeof *sorted);
    return st;
}
