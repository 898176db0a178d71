/* spectral.h -- what DFT and STFT share: a DFT of one strided signal. */
#ifndef KL_SPECTRAL_H
#define KL_SPECTRAL_H

#include "../op.h"

/* One transform of length len over n_in input samples (zero-padded or
 * truncated to len): in[i * in_stride] holds sample i as (re, im) when
 * `complex_in`, else re only; writes n_out bins (k = 0..n_out) to
 * out[k * out_stride] as (re, im).  `window` (n_in values or NULL)
 * multiplies the input.  Inverse: the conjugate transform divided by len. */
void kl_dft(const float *in, int64_t in_stride, bool complex_in, int64_t n_in, const float *window, int64_t len,
            bool inverse, float *out, int64_t out_stride, int64_t n_out);

/* The integer value of a scalar-like int32/int64 input i; fails if it is
 * not constant or not one value. */
keel_status kl_scalar_int(kl_opctx *c, int i, int64_t *v);

#endif
