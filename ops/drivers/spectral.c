/* spectral.c -- the DFT kernel shared by DFT and STFT (spectral.h).  A
 * direct O(n^2) transform in double: the suite's and most models' signals
 * are short; angles come from one table of len entries. */
#include <math.h>

#include "spectral.h"

void kl_dft(const float *in, int64_t in_stride, bool complex_in, int64_t n_in, const float *window, int64_t len,
            bool inverse, float *out, int64_t out_stride, int64_t n_out)
{
    double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / (double)len : 1.0;
    int64_t n = n_in < len ? n_in : len;
    for (int64_t k = 0; k < n_out; k++) {
        double re = 0, im = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *s = in + i * in_stride;
            double w = window ? window[i] : 1.0, xr = s[0] * w, xi = complex_in ? s[1] * w : 0;
            double angle = sign * 2.0 * M_PI * (double)((k * i) % len) / (double)len;
            double cr = cos(angle), ci = sin(angle);
            re += xr * cr - xi * ci;
            im += xr * ci + xi * cr;
        }
        out[k * out_stride] = (float)(re * scale);
        out[k * out_stride + 1] = (float)(im * scale);
    }
}

keel_status kl_scalar_int(kl_opctx *c, int i, int64_t *v)
{
    int n = 0;
    if (c->in[i] && kl_numel(c->in[i]) != 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d must hold one integer", i);
    return kl_input_ints(c, i, v, 1, &n);
}
