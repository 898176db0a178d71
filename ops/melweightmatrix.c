/* melweightmatrix.c -- MelWeightMatrix (opset 17): the [dft_length/2 + 1,
 * num_mel_bins] matrix of triangular filters that maps a linear spectrum
 * onto the mel scale (mel = 2595 log10(1 + hz / 700)) between
 * lower_edge_hertz and upper_edge_hertz.  The filter edges are spectrum
 * bins: floor((dft_length + 1) * hz / sample_rate) of num_mel_bins + 2
 * points spaced evenly in mel, as the ONNX reference computes them. */
#include <math.h>
#include <string.h>

#include "drivers/spectral.h"

enum { BINS, DFT_LEN, RATE, LOWER, UPPER };

static keel_status read_args(kl_opctx *c, int64_t *bins, int64_t *len, int64_t *rate, double *lo, double *hi)
{
    keel_status st;
    if ((st = kl_scalar_int(c, BINS, bins)) || (st = kl_scalar_int(c, DFT_LEN, len)) ||
        (st = kl_scalar_int(c, RATE, rate)))
        return st;
    for (int i = LOWER; i <= UPPER; i++) {
        const kl_tensor *t = c->in[i];
        if (t->dtype != KEEL_FLOAT || kl_numel(t) != 1)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d must be one float", i);
        if (!t->data)
            return kl_op_needs_data(c, i);
    }
    *lo = *(const float *)c->in[LOWER]->data;
    *hi = *(const float *)c->in[UPPER]->data;
    if (*bins < 1 || *len < 1 || *rate < 1 || !(*lo >= 0 && *hi > *lo && isfinite(*hi)))
        return kl_op_fail(c, KEEL_ERR_INVALID, "num_mel_bins, dft_length and sample_rate must be positive and "
                                                "0 <= lower_edge_hertz < upper_edge_hertz");
    if (*bins > 65536)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "num_mel_bins %lld", (long long)*bins);
    return KEEL_OK;
}

static keel_status mel_infer(kl_opctx *c)
{
    int64_t bins = 0, len = 0, rate = 0;
    double lo = 0, hi = 0;
    keel_status st = read_args(c, &bins, &len, &rate, &lo, &hi);
    if (st)
        return st;
    int dtype = (int)kl_attr_int(c->node, "output_datatype", KEEL_FLOAT);
    if (dtype != KEEL_FLOAT)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "output_datatype %s", kl_dtype_name(dtype));
    kl_set_shape(c->out[0], KEEL_FLOAT, 2, (int64_t[]){len / 2 + 1, bins});
    return KEEL_OK;
}

static double hz_to_mel(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

static keel_status mel_run(kl_opctx *c)
{
    int64_t bins = 0, len = 0, rate = 0;
    double lo = 0, hi = 0;
    keel_status st = read_args(c, &bins, &len, &rate, &lo, &hi);
    if (st)
        return st;
    int64_t rows = len / 2 + 1;
    float *out = c->out[0]->data;
    memset(out, 0, (size_t)(rows * bins) * sizeof *out);
    double mel_lo = hz_to_mel(lo), step = (hz_to_mel(hi) - mel_lo) / (double)(bins + 2);
    int64_t *edge = c->scratch;
    for (int64_t i = 0; i < bins + 2; i++) {
        double hz = 700.0 * (pow(10.0, (mel_lo + (double)i * step) / 2595.0) - 1.0);
        double e = floor((double)(len + 1) * hz / (double)rate); /* clamped before it is converted */
        edge[i] = !(e > 0) ? 0 : e >= (double)rows ? rows - 1 : (int64_t)e;
    }
    for (int64_t m = 0; m < bins; m++) {
        int64_t left = edge[m], center = edge[m + 1], right = edge[m + 2];
        if (center == left)
            out[center * bins + m] = 1;
        for (int64_t j = left; center > left && j <= center; j++)
            out[j * bins + m] = (float)(j - left) / (float)(center - left);
        for (int64_t j = center; right > center && j < right; j++)
            out[j * bins + m] = (float)(right - j) / (float)(right - center);
    }
    return KEEL_OK;
}

static size_t mel_scratch(kl_opctx *c)
{
    return (size_t)(c->out[0]->dims[1] + 2) * sizeof(int64_t);
}

static const kl_op mel = {.type = "MelWeightMatrix", .since = 17, .min_inputs = 5, .max_inputs = 5,
                          .infer = mel_infer, .run = mel_run, .scratch = mel_scratch};

const kl_op *const kl_opfile_melweightmatrix[] = {&mel, NULL};
