/* inspect.h -- what tools built on keel.h (the keel command) may see inside
 * a model and a session beyond the public API: the model's metadata and
 * ops, the plan's figures, the steps and their timing, the session graph
 * after each pass.  Functions over the opaque handles only; not installed. */
#ifndef KL_INSPECT_H
#define KL_INSPECT_H

#include <stdbool.h>

#include "keel.h"

/* ---- the model ---- */

typedef struct kl_model_info {
    const char *name;                 /* the path, or the buffer's name (producer etc.: keel_model_describe) */
    int n_opsets;
    int n_nodes;                      /* of the main graph */
    int n_values;                     /* of the main graph: value ids are below it */
    int64_t parameters;               /* elements of floating-point initializers */
} kl_model_info;

void kl_inspect_model(const keel_model *m, kl_model_info *info);
/* Opset import k: its domain ("" for ai.onnx) and version. */
void kl_inspect_opset(const keel_model *m, int k, const char **domain, int64_t *version);

/* Node i of the main graph (0 <= i < n_nodes): its op type and domain,
 * whether keel has an implementation at the model's opset, and the value
 * ids it reads and writes (-1 for an omitted optional one; the ids of
 * kl_inspect_value, which knows their shapes). */
typedef struct kl_node_info {
    const char *name, *op_type, *domain;
    bool supported;
    int n_in, n_out;
    const int *in, *out;
} kl_node_info;
void kl_inspect_node(const keel_model *m, int i, kl_node_info *info);
/* The value id of graph input k (output: graph output k), as
 * keel_model_input_name orders them. */
int kl_inspect_io_value(const keel_model *m, bool output, int k);

/* ---- a session: its newest plan (the last run's, or the creation's) ---- */

typedef struct kl_plan_info {
    keel_isa isa;                     /* of the kernels it runs */
    bool planned;                     /* a plan exists (else the rest is 0) */
    int n_steps;
    int n_nodes;                      /* of the session graph, after every pass */
    int64_t macs;                     /* of one run, where ops count them */
    size_t arena_bytes;
    size_t intermediate_bytes;        /* if every computed value had its own buffer */
    int n_folded, n_fused, n_dynamic; /* nodes folded at creation, fused away, planned at each run */
    int n_values;
    int64_t split_batch;              /* images of a split batch (split.h), else 0 */
    int n_image_plans;                /* its plans of one image */
    size_t image_arena_bytes;         /* the arena of each */
} kl_plan_info;
void kl_inspect_plan(const keel_session *s, kl_plan_info *info);

/* Step k (0 <= k < n_steps). */
typedef struct kl_step_info {
    const char *node_name, *op_type;
    bool runs_kernel;                 /* false for a view */
    int64_t macs;                     /* 0 where the op does not count them */
    int node;                         /* the session-graph node it runs (kl_inspect_snode) */
} kl_step_info;
void kl_inspect_step(const keel_session *s, int k, kl_step_info *info);

/* Node i of the session graph (0 <= i < n_nodes), after every pass: the
 * model node it came from (name, op type), the value ids it reads and
 * writes (a fused residual among the inputs, constants the passes made
 * too), and a label naming the work it does: its op type joined by '+'
 * with the ops fused into it, in the order they ran in the model
 * ("Pad+Conv+BatchNormalization+Add+Relu"), cut to fit. */
typedef struct kl_snode_info {
    const char *name, *op_type;
    int n_in, n_out;
    const int *in, *out;
    char label[160];
} kl_snode_info;
void kl_inspect_snode(const keel_session *s, int i, kl_snode_info *info);

/* keel_session_run, adding each step's wall time in nanoseconds to
 * step_ns[k] (n_steps entries) when step_ns is not NULL. */
keel_status kl_inspect_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns);
/* keel_session_run, storing when each step k < n_steps that runs a kernel
 * began and ended (kl_inspect_now_ns) in start_ns[k] and end_ns[k]; a
 * view's entries are left as they were. */
keel_status kl_inspect_run_traced(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                  int n_steps, double *start_ns, double *end_ns);
/* The clock of those readings and of the passes' (CLOCK_MONOTONIC, ns). */
double kl_inspect_now_ns(void);

/* Value v of the session (0 <= v < n_values): its name and, when its type
 * is known, dtype and shape in *t (data NULL; rank -1 when only a run
 * knows it).  False for initializers and values of unknown type. */
bool kl_inspect_value(const keel_session *s, int v, const char **name, keel_tensor *t, bool *constant);

/* The session graph as loaded (record 0) and after each pass that ran. */
typedef struct kl_pass_info {
    const char *pass;                 /* "model" for record 0 */
    int n_nodes;
    int n_op_types;
    const char *note;                 /* what the pass decided, or "" */
    double start_ns, ns;              /* when it began (kl_inspect_now_ns) and how long it ran; 0 for "model" */
} kl_pass_info;
int kl_inspect_pass_count(const keel_session *s);
void kl_inspect_pass(const keel_session *s, int k, kl_pass_info *info);
/* Op type t (0 <= t < n_op_types) of record k and its node count. */
void kl_inspect_pass_op(const keel_session *s, int k, int t, const char **op_type, int *count);

/* ---- helpers tools share with the runtime ---- */

/* "float[1,3,224,224]" into buf. */
const char *kl_shape_str(const keel_tensor *t, char *buf, size_t size);
float kl_half_to_float(uint16_t h);
float kl_bf16_to_float(uint16_t h);

#endif
