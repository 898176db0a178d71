/* depthwise.h -- what the x86 depthwise kernels share. */
#ifndef KL_X86_DEPTHWISE_H
#define KL_X86_DEPTHWISE_H

#include <immintrin.h>

#include "../kernels.h"
#include "vmath.h"

/* L interleaved channels of a K x K stride-S plane: the padded input pad
 * [ph][pw][L], weights w [K * K][L], biases b [L] into out [oh][ow][L].
 * The common sizes have functions of their own with K and S built in,
 * which ignore the two arguments. */
typedef void (*kl_dw_lanes_fn)(const float *pad, int64_t pw, const float *w, const float *b, float *out, int64_t oh,
                               int64_t ow, int K, int S);

/* Planes [ch0, ch0 + L) of one image (x, y at its first) through fn, in
 * buf (kl_dw_blocked_dims' planes interleaved, then the outputs, weights
 * and biases; the border of the planes zeroed by the caller). */
void kl_dw_group_lanes(const kl_conv_geom *g, kl_dw_lanes_fn fn, int L, const float *x, const float *w,
                       const float *bias, float *y, int64_t ch0, float *buf);

#endif
