/* graph.h -- a model's graph as the loader builds it: values, nodes and
 * their attributes, in topological order.  Sessions read it, never change it. */
#ifndef KL_GRAPH_H
#define KL_GRAPH_H

#include "base.h"

/* ---- the graph -------------------------------------------------------- */

typedef enum kl_attr_type {
    KL_ATTR_UNDEFINED = 0,
    KL_ATTR_FLOAT = 1,
    KL_ATTR_INT = 2,
    KL_ATTR_STRING = 3,
    KL_ATTR_TENSOR = 4,
    KL_ATTR_GRAPH = 5,
    KL_ATTR_FLOATS = 6,
    KL_ATTR_INTS = 7,
    KL_ATTR_STRINGS = 8,
    KL_ATTR_TENSORS = 9,
    KL_ATTR_GRAPHS = 10,
    KL_ATTR_TYPE_PROTO = 13
} kl_attr_type;

struct kl_graph;
struct kl_decl;

typedef struct kl_attr {
    char *name;
    kl_attr_type type;
    float f;
    int64_t i;
    char *s;              /* NUL-terminated; s_len excludes the NUL */
    size_t s_len;
    kl_tensor *t;
    struct kl_graph *g;
    int n;                /* element count of the list kinds */
    float *floats;
    int64_t *ints;
    char **strings;
    kl_tensor **tensors;
    struct kl_graph **graphs;
    struct kl_decl *tp;   /* a TYPE_PROTO attribute's type (Optional's `type`) */
} kl_attr;

typedef struct kl_node {
    char *name;           /* never NULL; "" when the file gave none */
    char *op_type;
    char *domain;         /* "" for the default ONNX domain */
    int file_index;       /* position in the file, for messages */
    int n_in, n_out;
    int *in;              /* value ids; -1 for an omitted optional input */
    /* n_in, plus the values of this graph that the node's subgraphs (If,
     * Loop bodies) read from outside, stored after them in `in`: every
     * value the node depends on, for ordering and lifetimes */
    int n_deps;
    int *out;             /* value ids; -1 for an omitted optional output */
    int n_attr;
    kl_attr *attr;
} kl_node;

typedef enum kl_value_kind {
    KL_VALUE_NODE = 0,    /* produced by a node */
    KL_VALUE_INPUT = 1,   /* a graph input fed at run time */
    KL_VALUE_INIT = 2,    /* an initializer (constant) */
    KL_VALUE_OUTER = 3    /* a subgraph's reference to an enclosing scope */
} kl_value_kind;

/* What a ValueInfo declared about a value. */
typedef struct kl_decl {
    bool has_type;
    bool optional;        /* an optional value: dtype (and elem_dtype) are its element's */
    int dtype;            /* a tensor's element type, or KEEL_SEQUENCE */
    int elem_dtype;       /* a sequence's items' element type (0: not declared) */
    int rank;             /* -1: shape not declared */
    int64_t dims[KL_MAX_RANK];      /* -1 for symbolic or unknown */
    char *params[KL_MAX_RANK];      /* symbolic names, NULL where none */
} kl_decl;

/* Whether a value so declared is known only at run time whatever the
 * shapes: a string tensor, a sequence or an optional value. */
static inline bool kl_decl_at_run(const kl_decl *d)
{
    return d->has_type && (d->optional || d->dtype == KEEL_SEQUENCE || d->dtype == KEEL_STRING);
}

typedef struct kl_value {
    char *name;
    kl_value_kind kind;
    int producer;         /* node index for KL_VALUE_NODE, else -1 */
    kl_tensor *init;      /* initializer data (KL_VALUE_INIT) */
    kl_decl decl;         /* from graph input/output/value_info */
} kl_value;

typedef struct kl_graph {
    char *name;
    int n_values, cap_values;
    kl_value *values;
    int n_nodes;
    kl_node *nodes;       /* in topological order after loading */
    int n_inputs, n_outputs;
    int *inputs;          /* runtime inputs, initializers excluded */
    int *outputs;
    /* name -> value id, open addressing */
    int hash_cap;
    int *hash;
    /* The main graph's raw initializer payloads in one block (NULL if
     * none); initializers whose data lies in it own only their struct. */
    uint8_t *weights;
    size_t weights_bytes;
} kl_graph;

int kl_graph_find(const kl_graph *g, const char *name);   /* -1 if absent */
/* Adds a value named `name` (not checked for duplicates); its id or -1. */
int kl_graph_add_value(kl_env *env, kl_graph *g, const char *name);
/* Puts nodes in topological order; `file` names the model in messages. */
keel_status kl_graph_toposort(kl_env *env, kl_graph *g, const char *file);
void kl_node_clear(kl_env *env, kl_node *n);

void kl_graph_free(kl_env *env, kl_graph *g);

/* Canonical domain: "ai.onnx" and NULL -> "". */
const char *kl_domain(const char *d);

/* Attribute lookup on a node; NULL if absent. */
const kl_attr *kl_node_attr(const kl_node *n, const char *name);

#endif /* KL_GRAPH_H */
