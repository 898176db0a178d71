/* epilogue.c -- fused residual-add and activation applied by the kernels
 * that produce a value (see kl_epilogue in op.h). */
#include "conv_kernels.h"
#include "mathfn.h"

void kl_epilogue_apply(const kl_epilogue *e, float *out, size_t offset, size_t n)
{
    kl_epilogue_bias_apply(e, 0.0f, out, offset, n);
}

KL_HOT void kl_epilogue_bias_apply(const kl_epilogue *e, float bias, float *restrict out, size_t offset, size_t n)
{
    if (e->residual) {
        const float *restrict r = (const float *)e->residual->data + offset;
        for (size_t i = 0; i < n; i++)
            out[i] += r[i] + bias;
    } else if (bias != 0.0f)
        for (size_t i = 0; i < n; i++)
            out[i] += bias;
    const float a = e->alpha, b = e->beta;
    switch (e->act) {
    case KL_ACT_NONE:
        break;
    case KL_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] > 0 ? out[i] : 0;
        break;
    case KL_ACT_CLIP:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] < a ? a : out[i] > b ? b : out[i];
        break;
    case KL_ACT_LEAKYRELU:
        for (size_t i = 0; i < n; i++)
            out[i] = out[i] < 0 ? a * out[i] : out[i];
        break;
    case KL_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = kl_sigmoidf(out[i]);
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
        for (size_t i = 0; i < n; i++)
            out[i] *= kl_sigmoidf(out[i]);
        break;
    }
}
