/* sequence.h -- what the ops on sequences and optional values share
 * (keel.h: a sequence is rank 1, dims[0] items, data an array of
 * kl_tensor; an empty optional is KEEL_NONE). */
#ifndef KL_SEQUENCE_H
#define KL_SEQUENCE_H

#include "../op.h"
#include "../../runtime/exec.h"

/* Input k as a sequence: present, known and a sequence (else a failure
 * naming it, or KL_DEFERRED while its value is not known). */
keel_status kl_seq_input(kl_opctx *c, int k, const kl_tensor **seq);
/* The position in optional scalar input k (int32 or int64; absent:
 * `dflt`), counted from the end when negative, into *pos: within [0, n)
 * or, with `end_ok`, [0, n].  KL_DEFERRED while its data is unknown. */
keel_status kl_seq_position(kl_opctx *c, int k, int64_t n, bool end_ok, int64_t dflt, int64_t *pos);
/* infer(): output k is a sequence of n items. */
void kl_seq_set_shape(kl_opctx *c, int k, int64_t n);
/* infer(): output k takes value v's kind, dtype and shape. */
void kl_value_set_shape(kl_opctx *c, int k, const kl_tensor *v);
/* run(): output k becomes a copy of v, whatever its kind (the output's
 * shape is v's, set by kl_value_set_shape). */
keel_status kl_value_give(kl_opctx *c, int k, const kl_tensor *v);
/* Fails unless tensor t may join a sequence whose items are of dtype
 * `dtype` (0: any). */
keel_status kl_seq_check_item(kl_opctx *c, const kl_tensor *t, int dtype, const char *what);

#endif
