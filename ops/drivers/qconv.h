/* qconv.h -- the integer convolution behind ConvInteger and QLinearConv:
 * int32 sums of (x - x_zero) * (w - w_zero[m]) over each output's window,
 * zero-padded (padding holds x_zero, so it adds nothing). */
#ifndef KL_QCONV_H
#define KL_QCONV_H

#include "../kernels/conv.h"

/* acc[n][m][out spatial] for x [N, C, ...] and w [M, C/group, ...] of
 * uint8/int8; x_zero one value or NULL; w_zero one or M values or NULL. */
void kl_qconv_run(const kl_conv_geom *g, const kl_tensor *x, const kl_tensor *w, const kl_tensor *x_zero,
                  const kl_tensor *w_zero, int32_t *acc);

#endif
