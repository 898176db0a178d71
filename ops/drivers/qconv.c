/* qconv.c -- the direct integer convolution (qconv.h).  Quantized models
 * are rare among keel's users, so this is plain loops, not packed. */
#include "qconv.h"
#include "quant.h"

void kl_qconv_run(const kl_conv_geom *g, const kl_tensor *x, const kl_tensor *w, const kl_tensor *x_zero,
                  const kl_tensor *w_zero, int32_t *acc)
{
    int64_t cg = g->c / g->group, mg = g->m / g->group, xz = kl_qzero_at(x_zero, 0);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t m = 0; m < g->m; m++) {
            int64_t grp = m / mg, wz = kl_qzero_at(w_zero, m);
            for (int64_t od = 0; od < g->out[0]; od++)
                for (int64_t oh = 0; oh < g->out[1]; oh++)
                    for (int64_t ow = 0; ow < g->out[2]; ow++) {
                        int64_t sum = 0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t kd = 0; kd < g->k[0]; kd++)
                                for (int64_t kh = 0; kh < g->k[1]; kh++)
                                    for (int64_t kw = 0; kw < g->k[2]; kw++) {
                                        int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
                                        int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
                                        int64_t iw = ow * g->stride[2] - g->pad[2] + kw * g->dil[2];
                                        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1] || iw < 0 ||
                                            iw >= g->in[2])
                                            continue;
                                        int64_t c = grp * cg + ci;
                                        int64_t xi = (((n * g->c + c) * g->in[0] + id) * g->in[1] + ih) * g->in[2] + iw;
                                        int64_t wi = (((m * cg + ci) * g->k[0] + kd) * g->k[1] + kh) * g->k[2] + kw;
                                        sum += (int64_t)(kl_qget(x, xi) - xz) * (kl_qget(w, wi) - wz);
                                    }
                        acc[((n * g->m + m) * g->out[0] + od) * g->out[1] * g->out[2] + oh * g->out[2] + ow] =
                            (int32_t)sum;
                    }
        }
}
