/* kl.h -- keel's internal types: allocation, errors, tensors, the graph.
 * Nothing here is installed; the public face is keel.h. */
#ifndef KL_H
#define KL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel.h"

#define KL_MAX_RANK KEEL_MAX_RANK
#define KL_ERRMSG 1024
/* Internal status of infer(): the output shape depends on input data not
 * known yet (kl_op_needs_data); the node is planned at run time.  Never
 * returned to callers of the public API. */
#define KL_DEFERRED ((keel_status)100)

#if defined(__GNUC__)
#define KL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KL_PRINTF(a, b)
#endif

/* ---- allocation and errors -------------------------------------------- */

/* Everything a piece of the library needs to allocate and to report:
 * the caller's allocator, limits, and where the last error's text goes. */
typedef struct kl_env {
    keel_allocator alloc;
    uint64_t max_model_bytes, max_tensor_bytes, max_arena_bytes;
    int threads;
    int optimize;
    int isa;              /* keel_isa the kernels use (never KEEL_ISA_AUTO) */
    const struct kl_kernels *kern; /* the kernel table for isa (ops/kernels/kernels.h) */
    uint64_t time_limit_ms;  /* 0: none */
    keel_log_fn log;
    void *log_user;
    keel_status status;
    char msg[KL_ERRMSG];
} kl_env;

void kl_env_init(kl_env *env, const keel_options *opt);
/* A note for the caller's log callback (none set: dropped). */
void kl_log(const kl_env *env, keel_log_level level, const char *fmt, ...) KL_PRINTF(3, 4);

/* All allocation goes through these.  kl_alloc returns 64-byte aligned,
 * zeroed memory or NULL (and sets KEEL_ERR_NOMEM on env). */
void *kl_alloc(kl_env *env, size_t size);
void kl_free(kl_env *env, void *p, size_t size);
char *kl_strdup(kl_env *env, const char *s);
void kl_strfree(kl_env *env, char *s);

/* Records an error on env and returns `status`, so callers can write
 * `return kl_error(env, KEEL_ERR_INVALID, "...", ...)`. */
keel_status kl_error(kl_env *env, keel_status status, const char *fmt, ...) KL_PRINTF(3, 4);
keel_status kl_verror(kl_env *env, keel_status status, const char *fmt, va_list ap);
/* Prepends "prefix: " to the current message. */
void kl_error_prefix(kl_env *env, const char *fmt, ...) KL_PRINTF(2, 3);
/* Appends to the text in buf (size bytes, *used of them written), cut at
 * its end: *used never passes size - 1. */
void kl_appendf(char *buf, size_t size, size_t *used, const char *fmt, ...) KL_PRINTF(4, 5);

/* ---- tensors ---------------------------------------------------------- */

/* A tensor as keel handles it inside: same layout as the public one. */
typedef keel_tensor kl_tensor;

size_t kl_dtype_size(int dtype);
const char *kl_dtype_name(int dtype);
bool kl_dtype_supported(int dtype);       /* one keel can hold */
int64_t kl_numel(const kl_tensor *t);
/* Checked product of dims: false if any dim is negative or it overflows. */
bool kl_checked_numel(int rank, const int64_t *dims, int64_t *out);
size_t kl_nbytes(const kl_tensor *t);
bool kl_same_shape(const kl_tensor *a, const kl_tensor *b);
/* "float[1,3,224,224]" into buf. */
const char *kl_shape_str(const kl_tensor *t, char *buf, size_t size);

/* Allocates data for `t` (whose dtype and dims are set). */
keel_status kl_tensor_alloc_data(kl_env *env, kl_tensor *t);
/* A heap tensor struct plus its data; freed with kl_tensor_free. */
kl_tensor *kl_tensor_new(kl_env *env, int dtype, int rank, const int64_t *dims);
void kl_tensor_free(kl_env *env, kl_tensor *t);

/* float16 <-> float32 */
float kl_half_to_float(uint16_t h);
uint16_t kl_float_to_half(float f);
float kl_bf16_to_float(uint16_t h);
uint16_t kl_float_to_bf16(float f);   /* round to nearest even */

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
    KL_ATTR_GRAPHS = 10
} kl_attr_type;

struct kl_graph;

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
    int dtype;
    int rank;             /* -1: shape not declared */
    int64_t dims[KL_MAX_RANK];      /* -1 for symbolic or unknown */
    char *params[KL_MAX_RANK];      /* symbolic names, NULL where none */
} kl_decl;

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

typedef struct kl_opset {
    char *domain;         /* "" for ai.onnx */
    int64_t version;
} kl_opset;

struct keel_model {
    kl_env env;
    char *name;           /* the path or "<memory>", for messages */
    char *dir;            /* folder for external data, NULL if none */
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc;
    int64_t model_version;
    int n_opsets;
    kl_opset *opsets;
    kl_graph *graph;
    int n_custom;
    struct kl_op **custom;   /* keel_model_add_op's operators (runtime/custom.c) */
};

/* The model's own operator for (domain, type, opset), or NULL. */
const struct kl_op *kl_custom_find(const keel_model *m, const char *domain, const char *type, int opset);
void kl_custom_free(keel_model *m);

int kl_graph_find(const kl_graph *g, const char *name);   /* -1 if absent */
/* Adds a value named `name` (not checked for duplicates); its id or -1. */
int kl_graph_add_value(kl_env *env, kl_graph *g, const char *name);
/* Puts nodes in topological order; `file` names the model in messages. */
keel_status kl_graph_toposort(kl_env *env, kl_graph *g, const char *file);
void kl_node_clear(kl_env *env, kl_node *n);
/* Returns the opset version the model imports for `domain` (0 if none). */
int64_t kl_model_opset(const keel_model *m, const char *domain);
/* Canonical domain: "ai.onnx" -> "". */
const char *kl_domain(const char *d);

void kl_graph_free(kl_env *env, kl_graph *g);

/* Attribute lookup on a node; NULL if absent. */
const kl_attr *kl_node_attr(const kl_node *n, const char *name);

/* Loader entry (onnx/loader.c). */
keel_status kl_load_file(keel_model *m, const char *path);
keel_status kl_load_buffer(keel_model *m, const void *data, size_t size);
/* Decodes a serialized TensorProto; *out (and *name, if asked) are owned by
 * the caller. */
keel_status kl_tensor_from_pb(kl_env *env, const void *data, size_t size, const char *file,
                              kl_tensor **out, char **name);

#endif /* KL_H */
