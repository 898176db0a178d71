/* op.h -- the contract between the runtime and each operator.
 *
 * Every operator implementation is a static descriptor (kl_op) in a file
 * under ops/: file FOO.c lists its descriptors (one per opset range) in
 * kl_opfile_FOO[], and the file is listed once, as X(FOO), in ops/oplist.h,
 * which ops/registry.c reads.  The runtime calls:
 *
 *   infer(c)    at session creation: read c->in[i] (dtype, rank, dims; and
 *               data when the input is a constant, else data == NULL) and
 *               the node's attributes; set c->out[i]->dtype/rank/dims.
 *               Report problems with kl_op_fail().  Must not touch
 *               c->out[i]->data.
 *   scratch(c)  optional, after infer: bytes of temporary memory run() needs.
 *   run(c)      compute c->out[i]->data from c->in[i]->data.  Shapes are as
 *               infer() set them.  c->scratch points to scratch(c) bytes.
 *               Must not allocate.  Report bad data (e.g. an index out of
 *               range) with kl_op_fail(c, KEEL_ERR_RUNTIME, ...).
 *   macs(c)     optional: multiply-accumulates of one run, for `keel info`.
 *   prepare(c)  optional, once at session creation after planning: build
 *               c->state (e.g. weights packed for the kernel) from constant
 *               inputs; release(env, state) frees it with the session.
 *
 * When every input of a node is constant, the runtime runs the node once at
 * session creation and treats its outputs as constants (constant folding).
 */
#ifndef KL_OP_H
#define KL_OP_H

#include "../runtime/base.h"
#include "../runtime/graph.h"
#include "../runtime/pool.h"

/* Flags of an operator implementation. */
enum {
    /* Output 0 is input 0's bytes reinterpreted (Reshape, Flatten, Squeeze,
     * Unsqueeze, Identity, Dropout): the planner makes it a view and run()
     * is not called for it. */
    KL_OP_VIEW = 1u << 0,
    /* Output 0 may share the buffer of any input with the same dtype and
     * dims (elementwise ops): run() must be correct when out[0]->data ==
     * in[k]->data. */
    KL_OP_INPLACE = 1u << 1,
    /* The outputs depend only on input shapes, not data (Shape, Size):
     * folded whenever the input shapes are known. */
    KL_OP_SHAPE_ONLY = 1u << 2,
    /* Never fold (random ops). */
    KL_OP_NO_FOLD = 1u << 3,
    /* run() applies c->epi to out[0] (Conv, Gemm, MatMul): the fusion passes
     * may fuse a following bias, residual Add or activation into it. */
    KL_OP_EPILOGUE = 1u << 4,
    /* Every output is optional, the first one included (RNN, GRU, LSTM):
     * infer() and run() check each c->out[k] for NULL.  Without this flag
     * the runtime requires output 0. */
    KL_OP_ANY_OUTPUT = 1u << 5,
    /* run() honours c->pre_pad, zero padding of input 0 a pass took over
     * from a Pad before the node (Conv, AveragePool). */
    KL_OP_PRE_PAD = 1u << 6,
    /* The op takes or gives string tensors, sequences or empty optionals
     * (keel.h), and handles each input's kind itself; it gives such
     * outputs with kl_out_value (runtime/exec.h).  Without this flag the
     * runtime refuses such values at the node. */
    KL_OP_VALUES = 1u << 7
};

/* What an operator that accepts fused work (flag KL_OP_EPILOGUE) applies to
 * out[0] before it is stored: out = act((out + bias) + residual), the bias
 * a row along out[0]'s last axis. */
typedef enum kl_act {
    KL_ACT_NONE = 0,
    KL_ACT_RELU,
    KL_ACT_CLIP,          /* alpha = min, beta = max */
    KL_ACT_LEAKYRELU,     /* alpha */
    KL_ACT_SIGMOID,
    KL_ACT_HARDSIGMOID,   /* max(0, min(1, alpha * x + beta)) */
    KL_ACT_HARDSWISH,
    KL_ACT_SILU,          /* x * sigmoid(x) */
    KL_ACT_GELU,          /* 0.5 x (1 + erf(x / sqrt(2))) */
    KL_ACT_GELU_TANH      /* 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
} kl_act;

typedef struct kl_epilogue {
    kl_act act;
    float alpha, beta;
    /* NULL, or bias_len values added along out[0]'s last axis (bias_len
     * is that axis' length): element i of out[0] gets bias[i % bias_len] */
    const float *bias;
    int64_t bias_len;
    const kl_tensor *residual;   /* NULL, or same dtype and shape as out[0] */
    const struct kl_kernels *kern; /* the session's kernels (NULL: the generic ones) */
} kl_epilogue;

/* Applies e to out[0..n), which sits at element `offset` of the output
 * (the residual is read at the same offset), through e->kern's epilogue
 * (ops/kernels/kernels.c). */
void kl_epilogue_apply(const kl_epilogue *e, float *out, size_t offset, size_t n);
/* kl_epilogue_apply after adding bias to every element. */
void kl_epilogue_bias_apply(const kl_epilogue *e, float bias, float *out, size_t offset, size_t n);
/* kl_epilogue_apply on columns [j0, j1) of `rows` rows of y, ldy apart
 * (y at element `offset` of the output): in one call when they are whole
 * rows, one after the other (a squeeze-excite's 1x1 map: one element a
 * row, where a call per row cost as much as the product). */
void kl_epilogue_apply_rows(const kl_epilogue *e, float *y, size_t offset, int64_t rows, int64_t ldy, int64_t j0,
                            int64_t j1);

typedef struct kl_opctx {
    const struct kl_op *op;
    const kl_node *node;
    int opset;            /* the model's opset version for the op's domain */
    int n_in, n_out;
    kl_tensor **in;       /* in[i] is NULL for an omitted optional input */
    kl_tensor **out;      /* out[i] is NULL for an omitted optional output */
    void *scratch;
    size_t scratch_size;
    void *state;          /* reserved for prepared kernels */
    kl_epilogue epi;      /* fused work from the passes (KL_OP_EPILOGUE ops) */
    /* NULL, or zero padding of input 0 that the pass fuse_pad took over from a
     * Pad before the node (Conv, AveragePool): pre_pad[s] leading and
     * pre_pad[3 + s] trailing for spatial dim s of the model's tensor,
     * added to the node's own pads; in[0] is then the Pad's input */
    const int64_t *pre_pad;
    /* 0, or a factor the pass fuse_softmax took over from a Mul (or a Div
     * by a power of two) before the node (Softmax): run() computes on
     * in[0] times in_scale, rounded to float as the Mul did */
    float in_scale;
    kl_pool *pool;        /* the session's threads for kl_parallel_for (NULL: one) */
    kl_env *env;          /* allocator and error text */
    struct kl_plan *plan;    /* the plan running it (for subgraphs and stopping) */
} kl_opctx;

typedef keel_status (*kl_infer_fn)(kl_opctx *c);
typedef keel_status (*kl_run_fn)(kl_opctx *c);
typedef size_t (*kl_scratch_fn)(kl_opctx *c);
typedef int64_t (*kl_macs_fn)(kl_opctx *c);
/* Optional, once per node at session creation, after planning: build
 * c->state (packed weights, tables) from the constant inputs.  Allocate
 * with kl_alloc(c->env, ...); release() frees it at session teardown. */
typedef keel_status (*kl_prepare_fn)(kl_opctx *c);
typedef void (*kl_release_fn)(kl_env *env, void *state);
/* The axis along which output 0 is the node's inputs laid end to end, or
 * -1 (Concat); the planner may then have the producers write each input
 * in place as a slice of the output, and run() skips inputs already there. */
typedef int (*kl_slice_axis_fn)(const kl_opctx *c);
/* Whether output 0 is input 0's bytes in the same order at the shapes the
 * node has now (a Transpose that moves only dims of 1); the planner then
 * makes the node a view, as it does KL_OP_VIEW ops always. */
typedef bool (*kl_keeps_order_fn)(kl_opctx *c);

/* How an op's outputs depend on the images of a batch (the leading dim of
 * its inputs and outputs), for the batch split (runtime/split.c). */
typedef enum kl_batch_role {
    KL_BATCH_MIXES = 0,   /* not said: the images may mix */
    KL_BATCH_ELEMENTWISE, /* image i of the output from image i of each batched input
                             (of the output's rank) and constants that broadcast over
                             the batch (Add, Relu, Concat off the batch's axis) */
    KL_BATCH_PER_IMAGE,   /* image i of the outputs from image i of input 0 and
                             constant inputs (Conv, pools; Reshape keeping the
                             leading dim; Softmax off the batch's axis) */
    KL_BATCH_PRODUCT,     /* rows of input 0 (not transposed) by a constant, or by
                             batched matrices of rank 3 and more (Gemm, MatMul) */
} kl_batch_role;

typedef struct kl_op {
    const char *type;     /* "Conv" */
    const char *domain;   /* NULL (or "") for ai.onnx: compared through kl_domain() */
    int since;            /* first opset version this implementation covers */
    int until;            /* last one, inclusive; 0 = open-ended */
    int min_inputs, max_inputs;   /* node input count bounds (max -1 = any) */
    unsigned flags;
    kl_infer_fn infer;
    kl_run_fn run;
    kl_scratch_fn scratch;        /* may be NULL */
    kl_macs_fn macs;              /* may be NULL */
    kl_prepare_fn prepare;        /* may be NULL */
    kl_release_fn release;        /* with prepare */
    const keel_custom_op *custom; /* an embedder's op behind this descriptor */
    /* KL_OP_EPILOGUE ops: the input index at which a pass may give the node
     * a residual (0: none), and after it a bias along the last axis; run()
     * then finds them as c->epi.residual and c->epi.bias, and c->n_in stops
     * before them */
    int residual_input;
    kl_slice_axis_fn slice_axis;  /* may be NULL */
    kl_keeps_order_fn keeps_order; /* may be NULL */
    kl_batch_role batch;
    /* May be NULL: whether the node, at its attributes and outputs, keeps
     * the images apart as `batch` says (Softmax off axis 0, a MaxPool
     * without the indices that count the images before) */
    bool (*images_apart)(const kl_opctx *c);
} kl_op;

/* ---- ops only the passes make (not in the registry: no model names them) -- */

/* ai.keel's Gelu (ops/gelu.c): out[0] = GELU(in[0]) in the form of the
 * node's epilogue act (KL_ACT_GELU or KL_ACT_GELU_TANH), set by fuse_gelu. */
extern const kl_op kl_op_gelu;
/* ai.keel's ops of the blocked layout (ops/kernels/conv.h), which the pass
 * blocked_layout (runtime/layout.c) makes: BlockedConv (ops/blockedconv.c),
 * BlockedMaxPool (ops/blockedmaxpool.c), BlockedGlobalAveragePool
 * (ops/blockedglobalpool.c), BlockedScale (ops/blockedscale.c),
 * FromBlocked (ops/fromblocked.c). */
extern const kl_op kl_op_blocked_conv, kl_op_blocked_maxpool, kl_op_blocked_global_average_pool, kl_op_blocked_scale,
    kl_op_from_blocked;

/* ---- helpers for op implementations (ops/common.c) ---------------------- */

/* Sets the error "node 'NAME' (OP): <message>" and returns status. */
keel_status kl_op_fail(kl_opctx *c, keel_status status, const char *fmt, ...) KL_PRINTF(3, 4);

/* For images_apart: whether the node's attribute `axis` (dflt when
 * absent), counted on input 0's rank, is not the batch's (0). */
bool kl_axis_not_batch(const kl_opctx *c, int64_t dflt);

/* Attributes, with defaults when absent. */
int64_t kl_attr_int(const kl_node *n, const char *name, int64_t dflt);
float kl_attr_float(const kl_node *n, const char *name, float dflt);
const char *kl_attr_str(const kl_node *n, const char *name, const char *dflt);
/* Number of ints (and *vals) of an INTS attribute; -1 when absent. */
int kl_attr_ints(const kl_node *n, const char *name, const int64_t **vals);
int kl_attr_floats(const kl_node *n, const char *name, const float **vals);
bool kl_attr_has(const kl_node *n, const char *name);

/* For infer() of an op whose output shape depends on the *data* of input i
 * (Reshape's shape, Expand, Tile, Range, NonZero, TopK's K, ...) when that
 * data is not known at session creation (c->in[i]->data == NULL): returns
 * the status infer() must return at once.  Ops call it instead of failing;
 * the runtime decides whether the node can be planned at run time. */
keel_status kl_op_needs_data(kl_opctx *c, int i);

/* Input i as a list of int64 (from an int64 or int32 constant tensor):
 * fails with a clear message if the input is not constant.  Writes up to
 * `cap` values; returns the count through *n. */
keel_status kl_input_ints(kl_opctx *c, int i, int64_t *vals, int cap, int *n);

/* Normalizes an axis in [-rank, rank) to [0, rank); fails if outside. */
keel_status kl_norm_axis(kl_opctx *c, int64_t axis, int rank, int *out);

/* Sets out's dtype and shape. */
void kl_set_shape(kl_tensor *out, int dtype, int rank, const int64_t *dims);

/* numpy-style broadcast of a and b into out's shape; fails if they do not
 * broadcast. */
keel_status kl_broadcast_shape(kl_opctx *c, const kl_tensor *a, const kl_tensor *b,
                               int *rank, int64_t *dims);

/* Requires input i to be present and of one of the listed dtypes
 * (terminated by 0). */
keel_status kl_require_dtype(kl_opctx *c, int i, const int *dtypes);

#endif /* KL_OP_H */
