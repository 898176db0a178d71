/* exec.h -- what the executor offers the ops it runs: subgraph runs for
 * control flow, and the check long kernels make for a stop.  Implemented
 * in exec.c. */
#ifndef KL_EXEC_H
#define KL_EXEC_H

#include "../ops/op.h"

/* Runs subgraph g (an attribute of c's node: an If branch, a Loop body)
 * once.  Its formal inputs are inputs[0..n_inputs) (read, not kept); the
 * values it reads from enclosing scopes come from c's session.  On success
 * outs[i] (g's i-th output) is a new tensor the caller frees with
 * kl_tensor_free.  The subgraph is planned for these inputs and folded
 * where possible; this allocates, so ops using it run at run time only. */
keel_status kl_run_subgraph(kl_opctx *c, const kl_graph *g, const kl_tensor *const *inputs,
                            int n_inputs, kl_tensor **outs);

/* Output k of c (a string tensor, a sequence or an empty optional, which
 * make their node a dynamic step) becomes a copy of v, of any kind, in a
 * buffer its value keeps between runs. */
keel_status kl_out_value(kl_opctx *c, int k, const kl_tensor *v);
/* Output k of c becomes a sequence of items[0..n) (copied). */
keel_status kl_out_sequence(kl_opctx *c, int k, const kl_tensor *items, int64_t n);

/* KEEL_ERR_CANCELLED, failing the node with a message, once the run (or
 * the session's creation) was cancelled or its time limit has passed;
 * else KEEL_OK.  Long kernels call it in their outer loops. */
keel_status kl_op_check_cancel(kl_opctx *c);
/* Whether kl_op_check_cancel would fail now, without failing the node:
 * for work on the session's worker threads, which leave the message to
 * the thread that runs the node. */
bool kl_op_stopping(const kl_opctx *c);

/* Whether input k of c is a constant (its data known at creation), also
 * when it is a weight the model keeps released until a plan holds it. */
bool kl_input_const(const kl_opctx *c, int k);
/* Makes the data of constant input k present for the rest of the plan's
 * life (a weight read back if the model released it); for an op that
 * runs on the input as it is.  A no-op for other inputs. */
keel_status kl_input_hold(kl_opctx *c, int k);

/* Builds a form of c's constant input (form: the op's own number) with
 * the model's allocator `env`, setting *bytes. */
typedef void *(*kl_pack_fn)(kl_env *env, kl_opctx *c, int form, size_t *bytes);

/* *out: input `input` of c in the form `form`, made by pack() once per
 * model and shared read-only by every session of it (freed with the
 * model), when that input is the model's own bytes (an initializer, or
 * weights a pass folded once per model) and c's node is the model's;
 * else NULL, and the op packs for its own plan.  Fails only out of
 * memory.  Thread-safe. */
keel_status kl_shared_pack(kl_opctx *c, int input, int form, kl_pack_fn pack, const void **out);

#endif
