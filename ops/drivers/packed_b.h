/* packed_b.h -- the constant B of MatMul and Gemm packed once for the
 * packed tiles (kl_pw_xpack), at session creation, shared by the
 * sessions of a model when B is the model's own.  Implemented in
 * packed_b.c. */
#ifndef KL_PACKED_B_H
#define KL_PACKED_B_H

#include "../op.h"

/* c->state of a node whose B is packed. */
typedef struct kl_packed_b {
    const float *xp;     /* B packed by kl_pw_xpack */
    float *own;          /* xp when this plan owns it */
    size_t bytes;
} kl_packed_b;

/* Whether B [k][n], rows n apart at b, runs faster packed than read in
 * place: always on the AVX2 tiles, whose reads of rows far apart the
 * prefetchers do not follow (ConvNeXt-Tiny's MatMuls ran 1.5x faster
 * packed); on the 12x32 tiles, which fetch ahead on their own and read
 * aligned rows in place 2-3 % faster than packed ones, only when its rows
 * are not 64-byte aligned. */
bool kl_packed_b_pays(const struct kl_kernels *kern, int64_t n, const void *b);

/* Packs constant input 1 of c, B as the last two dims of that input
 * ([k][n]), or its transpose ([n][k], Gemm's transB) when transposed is
 * set, into c->state (a kl_packed_b). */
keel_status kl_packed_b_prepare(kl_opctx *c, bool transposed);
void kl_packed_b_release(kl_env *env, void *state);

#endif
