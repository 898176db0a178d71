/* epilogue.c -- fused bias, residual-add and activation applied by the
 * kernels that produce a value (see kl_epilogue in op.h), reached through
 * the kernel table (kl_epilogue_apply).  Portable loops that the compiler
 * vectorizes, built again for AVX2 by ops/kernels/x86/epilogue_avx2.c;
 * sigmoids and GELU go through the table's vector kernels. */
#include <math.h>

#include "kernels.h"

/* out[i] += e->bias[(offset + i) % e->bias_len]: runs of the row, each
 * from where out[] meets it. */
static void add_row_bias(const kl_epilogue *e, float *restrict out, size_t offset, size_t n)
{
    const size_t len = (size_t)e->bias_len;
    size_t j = offset % len;
    for (size_t i = 0; i < n; j = 0) {
        const size_t run = len - j < n - i ? len - j : n - i;
        const float *restrict b = e->bias + j;
        float *restrict o = out + i;
        for (size_t t = 0; t < run; t++)
            o[t] += b[t];
        i += run;
    }
}

void KL_KFN(epilogue)(const kl_epilogue *e, float bias, float *restrict out, size_t offset, size_t n)
{
    const float a = e->alpha, b = e->beta;
    if (e->bias && e->bias_len > 0)
        add_row_bias(e, out, offset, n);
    if (e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP) {
        /* the common cases in one pass: clamp(out + bias + residual, lo, hi) */
        const float lo = e->act == KL_ACT_RELU ? 0.0f : e->act == KL_ACT_CLIP ? a : -INFINITY;
        const float hi = e->act == KL_ACT_CLIP ? b : INFINITY;
        if (e->residual) {
            const float *restrict r = (const float *)e->residual->data + offset;
            for (size_t i = 0; i < n; i++) {
                float v = out[i] + r[i] + bias;
                out[i] = v < lo ? lo : v > hi ? hi : v;
            }
        } else if (e->act != KL_ACT_NONE || bias != 0.0f)
            for (size_t i = 0; i < n; i++) {
                float v = out[i] + bias;
                out[i] = v < lo ? lo : v > hi ? hi : v;
            }
        return;
    }
    if (e->residual) {
        const float *restrict r = (const float *)e->residual->data + offset;
        for (size_t i = 0; i < n; i++)
            out[i] += r[i] + bias;
    } else if (bias != 0.0f)
        for (size_t i = 0; i < n; i++)
            out[i] += bias;
    switch (e->act) {
    case KL_ACT_NONE:
    case KL_ACT_RELU:
    case KL_ACT_CLIP:
        break; /* done above */
    case KL_ACT_LEAKYRELU:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] < 0 ? a * out[i] : out[i];
        break;
    case KL_ACT_SIGMOID:
        (e->kern ? e->kern : &kl_kernels_generic)->sigmoid.fn(out, n, false);
        break;
    case KL_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = a * out[i] + b;
            out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case KL_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++) {
            float g = out[i] / 6.0f + 0.5f;
            out[i] *= g < 0 ? 0 : g > 1 ? 1 : g;
        }
        break;
    case KL_ACT_SILU:
        (e->kern ? e->kern : &kl_kernels_generic)->sigmoid.fn(out, n, true);
        break;
    case KL_ACT_GELU:
    case KL_ACT_GELU_TANH:
        (e->kern ? e->kern : &kl_kernels_generic)->gelu.fn(out, n, e->act == KL_ACT_GELU_TANH);
        break;
    }
}
