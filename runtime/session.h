/* session.h -- internal to runtime/: a session, its plans and their graphs.
 *
 * A session (struct keel_session) keeps plans, one per set of input shapes
 * it has run (or was given at creation), most recently used first, up to
 * keel_options.max_plans; they share its arena and threads.  Making a plan
 * copies the model's graph into a session graph (one kl_snode per node,
 * with the plan's value ids) and runs the passes of passes.c over it, each
 * rewriting nodes: folding, fusions, scheduling, planning.  What a pass
 * decides lives in the nodes and values themselves (new constants among a
 * node's inputs, epilogue and padding as node data), so the executor runs
 * the steps it is given and knows no op. */
#ifndef KL_SESSION_H
#define KL_SESSION_H

#include <stdatomic.h>

#include "graph.h"
#include "model.h"
#include "../ops/op.h"

typedef struct kl_plan kl_plan;

/* What the session knows about one value.  Ids below the model graph's
 * n_values are the model's values; passes append constants they make. */
typedef struct kl_slot {
    kl_tensor t;          /* dtype, shape; data once placed or constant */
    const char *name;     /* the model's name, or own_name */
    char *own_name;       /* a pass's value: its name, owned */
    bool from_model;      /* a value of the model's graph (else a pass made it) */
    bool computed;        /* produced by a node (not an input or constant) */
    bool known;           /* shape inferred */
    bool is_const;        /* data known at creation: initializer or folded */
    bool owns_data;       /* t.data was allocated by the session */
    int root;             /* value whose storage this one uses (itself if none) */
    size_t root_offset;   /* where in the root's bytes (a slice of a root built from slices) */
    int def, last;        /* first and last step touching the storage */
    size_t offset, nbytes;
    bool in_arena;
    bool dynamic;         /* shape known only at run time: own buffer, not in the arena */
    size_t dyn_cap;       /* bytes of that buffer (t.data) */
    const void *source;   /* the model's bytes it holds, as the model's store knows
                             them (an initializer's kl_value, a shared tensor); NULL
                             for the plan's own */
    kl_weight *weight;    /* a weight the model releases while no plan holds it: its
                             data is NULL unless `held` (kl_plan_hold) */
    bool held;
} kl_slot;

/* A node of the session graph. */
typedef struct kl_snode {
    const kl_node *src;   /* the model's node: name, type, attributes; or one
                             a pass made (kl_sgraph_new_node) */
    const kl_op *op;
    int opset;            /* the version op was chosen for; 0: the model's import */
    int n_in, n_out;
    int n_deps;           /* n_in plus the values its subgraphs read, after them in `in` */
    int cap_in;           /* entries allocated for `in` */
    int *in, *out;        /* value ids; -1 for an omitted optional one */
    kl_epilogue epi;      /* fused activation; a fused residual is input op->residual_input */
    bool has_pre_pad;
    int64_t pre_pad[6];   /* zero padding taken over from a Pad (kl_opctx.pre_pad) */
    float in_scale;       /* 0, or a factor taken over from a Mul before it (kl_opctx.in_scale) */
    bool dynamic;         /* output shapes depend on run-time data */
    bool dead;            /* removed by the pass under way */
} kl_snode;

typedef struct kl_step {
    int node;             /* index into the session graph's nodes */
    const kl_op *op;
    kl_opctx ctx;         /* in/out point at slot tensors */
    bool view;            /* output 0 aliases input 0: no kernel call */
    size_t scratch_offset;
    bool dynamic;         /* inferred and given buffers at every run */
    size_t dyn_scratch_cap;
} kl_step;

/* The session graph after one pass, for `keel info --passes`. */
typedef struct kl_pass_record {
    const char *pass;
    int n_nodes;
    int n_types;
    const char **types;   /* op type of each entry of counts */
    int *counts;
    char note[96];        /* what the pass decided, when not a node count */
    double start_ns, ns;  /* when the pass began (kl_now_ns) and how long it ran; 0 for record 0 */
} kl_pass_record;

/* A plan: the session graph for one set of input shapes, its steps and
 * where every value lives. */
struct kl_plan {
    kl_env env;           /* the session's, with this plan's errors */
    const keel_model *model;
    const kl_graph *g;    /* the model's graph: its inputs and outputs */
    keel_session *owner;  /* the session (NULL for a subgraph's plan) */
    const kl_plan *parent;  /* a subgraph's enclosing plan, else NULL */
    int n_values, cap_values;
    kl_slot *slots;       /* one per value */
    int n_nodes, cap_nodes;
    kl_snode *nodes;      /* the session graph, in run order */
    int n_steps;
    kl_step *steps;
    uint8_t *arena;       /* the session's (a subgraph plan's own) */
    size_t arena_size;    /* bytes this plan uses of it */
    size_t sum_intermediates;  /* bytes if every computed value had a buffer of its own */
    int64_t macs;
    int n_folded, n_fused, n_dynamic;
    int n_made, cap_made;
    kl_node **made;       /* the nodes passes made, owned */
    unsigned passes_off;  /* bit k: pass k of passes.c is turned off */
    int n_records;
    kl_pass_record *records;  /* the graph as loaded, then after each pass run */
    kl_pool *pool;        /* the session's worker threads (NULL with one thread) */
    double plan_ns;       /* time making it took */
    bool image;           /* a plan of one image of a split batch (split.h): on
                             one thread, with an arena of its own, its inputs'
                             leading dim 1 whatever the model declares */
    /* Batch split (split.c): when every step treats the images of the batch
     * apart, they run one by one through plans of one image, one per thread
     * (n_image_plans of them; 0: the plan runs its own steps) */
    int64_t batch;        /* images in the batch when split */
    int n_image_plans;
    kl_plan **image_plans;
};

/* A session: its plans, shared arena and threads, and how to stop it. */
struct keel_session {
    kl_env env;           /* options; the last failed call's message */
    const keel_model *model;
    const kl_graph *g;
    unsigned passes_off;
    int n_dims;
    keel_dim_binding *dims;   /* the creation's bindings (names copied) */
    int max_plans;
    int n_plans;
    kl_plan **plans;      /* most recently used first; plans[0] ran last */
    uint8_t *arena;       /* every plan's values and scratch */
    size_t arena_size;
    kl_pool *pool;
    int64_t runs, plans_made;
    double last_plan_ns;  /* time the newest plan took to make */
    /* Stopping: keel_session_cancel() sets `cancel` until a run stops for
     * it; the creation or run under way stops after deadline_ns
     * (CLOCK_MONOTONIC; 0: no limit). */
    atomic_int cancel;
    double deadline_ns;
};

/* The plan for these input shapes (and bound values), made if no cached
 * one fits; it becomes the most recently used.  inputs: one per graph
 * input, data read only for plans that bound values. */
keel_status kl_session_plan_for(keel_session *s, const keel_tensor *inputs, kl_plan **out);
/* A plan of s for these shapes, for one image of a split batch: on one
 * thread, with an arena of its own; on failure the message is s's. */
keel_status kl_session_image_plan(keel_session *s, const keel_tensor *shapes, kl_plan **out);
/* Runs p's steps once on the data its input slots point at (exec.c). */
keel_status kl_plan_run_steps(kl_plan *p);
/* Places the values and scratch of p in the session's arena (again, after
 * the arena moved). */
void kl_plan_place(kl_plan *p, uint8_t *arena);
void kl_plan_free(kl_plan *p);
/* Makes plan p's failure `st`, and its message, the session's. */
void kl_session_take_error(keel_session *s, const kl_plan *p, keel_status st);
/* The session's arena, grown to at least `size` bytes (contents not kept). */
keel_status kl_session_arena(keel_session *s, size_t size, uint8_t **arena);

/* ---- the session graph (sgraph.c) ---- */

/* Copies the model graph's nodes and values into s. */
keel_status kl_sgraph_init(kl_plan *s);
void kl_sgraph_free(kl_plan *s);
/* Sets input k of node n to value v, growing its inputs (new ones empty). */
keel_status kl_snode_set_input(kl_plan *s, kl_snode *n, int k, int v);
/* Adds a constant value that owns `t` (freed with the session on success
 * and on failure); its id, or -1 out of memory. */
int kl_sgraph_add_const(kl_plan *s, kl_tensor *t, const char *name_fmt, const char *node_name);
/* Drops the nodes marked dead, keeping the order of the others. */
void kl_sgraph_compact(kl_plan *s);
/* Adds a constant value holding the model's tensor t (borrowed); its id,
 * or -1 out of memory. */
int kl_sgraph_add_shared(kl_plan *s, const kl_tensor *t, const char *name_fmt, const char *node_name);
/* A node for a pass to put in a session node's src: op type `type` of the
 * default domain, the name and file position of `like`, no inputs or
 * outputs (the session node has them), a copy of attrs[0..n_attr) (INT and
 * FLOAT ones); owned by s.  NULL out of memory. */
kl_node *kl_sgraph_new_node(kl_plan *s, const kl_node *like, const char *type, const kl_attr *attrs, int n_attr);
/* Opens `count` nodes before node `at` (all zero: the pass fills them
 * with kl_snode_init), moving the later ones along. */
keel_status kl_sgraph_insert(kl_plan *s, int at, int count);
/* Makes n a node of op `op` (node src) with n_in inputs and n_out
 * outputs, all -1. */
keel_status kl_snode_init(kl_plan *s, kl_snode *n, const kl_node *src, const kl_op *op, int n_in, int n_out);
/* Adds a value a node of the pass computes, named from name_fmt and
 * node_name, shape unknown; its id, or -1 out of memory. */
int kl_sgraph_add_value(kl_plan *s, const char *name_fmt, const char *node_name);
/* Whether n is a node a pass of s made (not the model's). */
bool kl_sgraph_made(const kl_plan *s, const kl_node *n);
/* Who produces and who reads each value, over the live nodes of a
 * session graph. */
typedef struct kl_sgraph_uses {
    int *producer;        /* per value: node index, or -1 */
    int *readers;         /* per value: node inputs reading it, plus 1 if a graph output */
    int n_values;         /* entries of both (values added later are never looked up) */
} kl_sgraph_uses;
keel_status kl_sgraph_uses_init(kl_plan *s, kl_sgraph_uses *u);
void kl_sgraph_uses_free(kl_plan *s, kl_sgraph_uses *u);
/* The op node n runs: its op's type (which a pass may have changed, see
 * fuse_gelu), or the model's while unresolved. */
static inline const char *kl_snode_type(const kl_snode *n)
{
    return n->op ? n->op->type : n->src->op_type;
}
/* "node 12 'conv1' (Conv)" for messages. */
const char *kl_snode_str(const kl_snode *n, char *buf, size_t size);

/* ---- what the model's sessions share (shared.c) ---- */

/* Makes n_out new tensors into out[] (with the model's allocator env). */
typedef keel_status (*kl_make_fn)(kl_env *env, void *arg, kl_tensor **out);
/* Tensors a pass derives for its node from values[0..n_values) of plan p
 * (at most KL_SHARED_MAX_VALUES; -1 entries are absent), made by make()
 * (which reads those values' tensors) once per model and kernel table
 * `kern` (NULL when the result does not depend on it) and shared by the
 * model's sessions: out[k] are the model's, read-only.  When some value is
 * not the model's own bytes, n_out > 4 or a pass made the node, out[]
 * stays NULL (the pass keeps its result with the plan). */
#define KL_SHARED_MAX_VALUES 16
keel_status kl_shared_tensors(kl_plan *p, const kl_node *node, const void *kern, const int *values, int n_values,
                              int n_out, kl_make_fn make, void *arg, const kl_tensor **out);

/* Holds the bytes of weight value v for plan p (reading them back from the
 * file when the model released them): p's slot has its data until
 * kl_plan_unhold.  A no-op for other values. */
keel_status kl_plan_hold(kl_plan *p, int v);
void kl_plan_unhold(kl_plan *p, int v);
/* Holds each of values[0..n) (-1 entries absent) that is a weight not held
 * yet, held[k] telling which it took (all of them set); kl_plan_unhold_values
 * lets those go again. */
keel_status kl_plan_hold_values(kl_plan *p, const int *values, int n, bool *held);
void kl_plan_unhold_values(kl_plan *p, const int *values, int n, const bool *held);

/* ---- creation and running (session.c, exec.c) ---- */

/* Plans subgraph session sub (env, model, g and parent set) for these
 * formal inputs. */
keel_status kl_session_build_subgraph(kl_plan *sub, const kl_tensor *const *inputs, int n_inputs);
/* Starts the clock of keel_options.time_limit_ms for a creation or a run. */
void kl_session_arm_deadline(keel_session *s);
double kl_now_ns(void);

/* ---- contexts (session.c) ---- */
/* c for node n: its tensors, node data and the session's services. */
keel_status kl_ctx_fill(kl_plan *s, const kl_snode *n, kl_opctx *c);
void kl_ctx_free(kl_plan *s, const kl_snode *n, kl_opctx *c);
/* String, sequence and optional values only at ops flagged KL_OP_VALUES:
 * c's inputs, and with `outputs` its outputs as inferred. */
keel_status kl_ctx_check_kinds(kl_opctx *c, bool outputs);
/* Outputs of c have valid dtypes and shapes within the limits. */
keel_status kl_ctx_check_outputs(kl_plan *s, kl_opctx *c);

/* ---- passes (passes.c and the files of each) ---- */

typedef keel_status (*kl_pass_fn)(kl_plan *s);

typedef struct kl_pass {
    const char *name;
    const char *does;
    bool optional;        /* may be turned off (keel_options.passes_off) */
    bool rewrite;         /* a graph rewrite: off with keel_options.optimize = 0 */
    kl_pass_fn run;
} kl_pass;

extern const kl_pass kl_passes[];
extern const int kl_n_passes;

/* Parses keel_options.passes_off into *off (bit k: pass k). */
keel_status kl_passes_parse(kl_env *env, const char *list, unsigned *off);
/* Runs every pass not turned off, in order, recording each. */
keel_status kl_passes_run(kl_plan *s);
void kl_passes_free(kl_plan *s);
/* What the pass under way decided, for its record. */
void kl_pass_note(kl_plan *s, const char *fmt, ...) KL_PRINTF(2, 3);

keel_status kl_pass_fold(kl_plan *s);              /* fold.c */
keel_status kl_pass_fuse_batchnorm(kl_plan *s);    /* fuse.c */
keel_status kl_pass_fuse_norm(kl_plan *s);         /* fuse_norm.c */
keel_status kl_pass_fuse_softmax(kl_plan *s);
keel_status kl_pass_fuse_pad(kl_plan *s);
keel_status kl_pass_fuse_bias(kl_plan *s);
keel_status kl_pass_fuse_residual(kl_plan *s);
keel_status kl_pass_fuse_gelu(kl_plan *s);         /* fuse_gelu.c */
keel_status kl_pass_fuse_gated(kl_plan *s);        /* fuse.c */
keel_status kl_pass_fuse_activation(kl_plan *s);
keel_status kl_pass_drop_unread(kl_plan *s);
keel_status kl_pass_blocked_layout(kl_plan *s);    /* layout.c */
keel_status kl_pass_schedule(kl_plan *s);          /* plan.c */
keel_status kl_pass_views(kl_plan *s);
keel_status kl_pass_lifetimes(kl_plan *s);
keel_status kl_pass_slices(kl_plan *s);
keel_status kl_pass_in_place(kl_plan *s);
keel_status kl_pass_arena(kl_plan *s);
keel_status kl_pass_prepare(kl_plan *s);

/* Checks the plan: returns the number of pairs of arena blocks that are
 * live at the same step and overlap in memory, plus the number of values
 * whose bytes do not lie wholly inside the arena (0 for a correct plan). */
int kl_session_plan_conflicts(const kl_plan *s);

/* keel_session_run, adding each step's wall time in nanoseconds to
 * step_ns[k] (n_steps entries) when step_ns is not NULL. */
keel_status kl_session_run_timed(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                 double *step_ns);
/* keel_session_run, storing when each step k < n_steps began and ended
 * (kl_now_ns) in start_ns[k] and end_ns[k]; a view's entries (no kernel)
 * are left as they were. */
keel_status kl_session_run_traced(keel_session *s, const keel_tensor *inputs, keel_tensor *outputs,
                                  int n_steps, double *start_ns, double *end_ns);

#endif
