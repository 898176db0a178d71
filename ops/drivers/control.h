/* control.h -- what If and Loop share: both compute their outputs at
 * infer() time by running subgraphs (their shapes depend on the data), keep
 * them in c->state, and hand them over in run(). */
#ifndef KL_CONTROL_H
#define KL_CONTROL_H

#include "../op.h"

#define KL_MAX_LOOP_VALUES 64

typedef struct kl_results {
    int n;
    kl_tensor **t;        /* n owned tensors (entries may be NULL while building) */
} kl_results;

/* A holder for n results, or NULL when out of memory. */
kl_results *kl_results_new(kl_env *env, int n);
/* Frees the holder and every tensor in it (a kl_release_fn). */
void kl_results_free(kl_env *env, void *state);
/* infer(): sets c->out[k]'s shape from result k and keeps the results in
 * c->state (taking ownership of r). */
keel_status kl_results_publish(kl_opctx *c, kl_results *r);
/* run(): copies the kept results into the outputs and frees them. */
keel_status kl_results_copy_out(kl_opctx *c);
/* A new tensor: t's sub-tensor at `index` along `axis` (that axis removed). */
kl_tensor *kl_tensor_slice(kl_env *env, const kl_tensor *t, int axis, int64_t index);
/* A new tensor stacking n same-shaped tensors along a new axis `axis`
 * (0 <= axis <= rank), in order, or in reverse order when `reverse`.
 * NULL when out of memory; the caller checks shapes first. */
kl_tensor *kl_tensor_stack(kl_env *env, kl_tensor *const *parts, int n, int axis, bool reverse);
/* Fails unless parts[0..n) all have one dtype and shape. */
keel_status kl_check_same_shapes(kl_opctx *c, kl_tensor *const *parts, int n, const char *what);

/* The single value of a scalar-like bool or numeric tensor, as true/false. */
bool kl_tensor_truth(const kl_tensor *t);

#endif
