/* fuse.h -- internal to runtime/: what the fusion passes (fuse.c, and
 * those in files of their own) share: who produces and who reads each
 * value, a pass's walk over the live nodes, and the checks and the
 * rewrite every fusion makes (defined in fuse.c). */
#ifndef KL_FUSE_H
#define KL_FUSE_H

#include "session.h"

/* Who produces and who reads each value, over the live nodes. */
typedef struct kl_fuse_ctx {
    kl_plan *s;
    kl_sgraph_uses u;
} kl_fuse_ctx;

/* One fusion tried at one node. */
typedef keel_status (*kl_fuse_fn)(kl_fuse_ctx *o, int node);

/* A pass: fn at every node still live, in order; then the nodes whose
 * work was taken over leave the graph. */
keel_status kl_fuse_each_node(kl_plan *s, kl_fuse_fn fn);

/* Whether node n runs the ai.onnx op `type`: its op as resolved (which a
 * pass may have changed), not the model's node. */
bool kl_fuse_is_op(const kl_snode *n, const char *type);
/* Whether `node` is a node still in the graph, planned at creation. */
bool kl_fuse_live(const kl_fuse_ctx *o, int node);
/* The slot of n's input k, or NULL when absent. */
const kl_slot *kl_fuse_slot(const kl_fuse_ctx *o, const kl_snode *n, int k);
/* Whether n's input k is a float constant of one element whose value is
 * known now: the value in *v. */
bool kl_fuse_const_scalar(const kl_fuse_ctx *o, const kl_snode *n, int k, float *v);

/* The producer of float value v that can take fused work: an epilogue op
 * with no activation yet, whose output 0 v is, v read `readers` times
 * (so by nothing else, and not a graph output).  -1 if none. */
int kl_fuse_producer_of(const kl_fuse_ctx *o, int v, int readers);
/* kl_fuse_producer_of n's input k, read by n alone. */
int kl_fuse_producer(const kl_fuse_ctx *o, const kl_snode *n, int k);
/* Whether epilogue op n has a residual input (a pass gave it one). */
bool kl_fuse_has_residual(const kl_snode *n);
/* Node p takes over the work of node n: it writes n's output 0, and n
 * leaves the graph. */
void kl_fuse_take_over(kl_fuse_ctx *o, int p, kl_snode *n);

#endif
