/* session.h -- a model prepared to run: inferred shapes, folded constants,
 * one planned arena and the schedule of kernels. */
#ifndef KL_SESSION_H
#define KL_SESSION_H

#include <stdatomic.h>

#include "kl.h"
#include "../ops/op.h"

/* What the session knows about each value of the main graph. */
typedef struct kl_slot {
    kl_tensor t;          /* dtype, shape; data once placed or constant */
    bool known;           /* shape inferred */
    bool is_const;        /* data known at creation: initializer or folded */
    bool owns_data;       /* t.data was allocated by the session (folded) */
    bool defaulted;       /* a symbolic input dim was set to 1 for lack of a value */
    int root;             /* value whose storage this one uses (itself if none) */
    size_t root_offset;   /* where in the root's bytes (a Concat input written in place) */
    int def, last;        /* first and last step touching the storage */
    size_t offset, nbytes;
    bool in_arena;
    bool dynamic;         /* shape known only at run time: own buffer, not in the arena */
    size_t dyn_cap;       /* bytes of that buffer (t.data) */
} kl_slot;

typedef struct kl_step {
    int node;             /* index into graph->nodes */
    const kl_op *op;
    kl_opctx ctx;         /* in/out point at slot tensors */
    bool view;            /* output 0 aliases input view_input: no kernel call */
    int view_input;
    size_t scratch_offset;
    bool dynamic;         /* inferred and given buffers at every run */
    size_t dyn_scratch_cap;
} kl_step;

struct keel_session {
    kl_env env;
    const keel_model *model;
    const kl_graph *g;
    kl_slot *slots;       /* one per graph value */
    const kl_op **ops;    /* per node (NULL for folded-away nodes never resolved) */
    bool *folded;         /* per node: computed at creation */
    bool *dynamic;        /* per node: output shapes depend on run-time data */
    int n_dynamic;
    int n_steps;
    kl_step *steps;
    uint8_t *arena;
    size_t arena_size;
    size_t sum_intermediates;  /* bytes if every computed value had a buffer of its own */
    int64_t macs;
    int n_folded;
    /* the optimizer's rewrites (runtime/optimize.c), per node */
    int *alias_input;     /* >= 0: the node's work was fused away; its output is that input */
    kl_epilogue *epi;     /* fused work the node's kernel applies */
    kl_tensor **conv_w, **conv_b;  /* BatchNormalization folded into a Conv (owned) */
    int *pre_pad_src;     /* >= 0: a Pad before the node was fused into it; the node reads this value */
    int64_t (*pre_pad)[6];  /* that Pad's spatial pads (kl_opctx.pre_pad) */
    bool *read_through;   /* a fused Pad: its output is never read, its consumer reads its input */
    int n_fused;
    kl_pool *pool;        /* worker threads (NULL with one thread) */
    const struct keel_session *parent;  /* a subgraph's enclosing session, else NULL */
    /* Stopping, read through the outermost session: keel_session_cancel()
     * sets `cancel` until a run stops for it; the creation or run under
     * way stops after deadline_ns (CLOCK_MONOTONIC; 0: no limit). */
    atomic_int cancel;
    double deadline_ns;
};

/* Fuses BatchNormalization, residual Adds and activations into the
 * producing kernels (see optimize.c). */
keel_status kl_optimize(keel_session *s);

/* Checks the plan: returns the number of pairs of arena blocks that are
 * live at the same step and overlap in memory, plus the number of values
 * whose bytes do not lie wholly inside the arena (0 for a correct plan). */
int kl_session_plan_conflicts(const keel_session *s);

/* keel_session_run, adding each step's wall time in nanoseconds to
 * step_ns[k] (n_steps entries) when step_ns is not NULL. */
keel_status kl_session_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns);

#endif
