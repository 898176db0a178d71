/* stft.c -- STFT (opset 17): DFTs of frames of a signal [batch, length,
 * 1 | 2] taken every frame_step samples, each frame weighted by the
 * optional window; frame_length is the window's length when a window is
 * given.  onesided (default 1) keeps len/2 + 1 bins of a real signal.
 * Output [batch, frames, bins, 2]. */
#include "drivers/spectral.h"

enum { SIGNAL, STEP, WINDOW, LENGTH };

typedef struct stft_plan {
    int64_t step, len, frames, bins;
} stft_plan;

static keel_status plan(kl_opctx *c, stft_plan *p)
{
    const kl_tensor *x = c->in[SIGNAL], *w = c->n_in > WINDOW ? c->in[WINDOW] : NULL;
    const kl_tensor *len = c->n_in > LENGTH ? c->in[LENGTH] : NULL;
    if (x->dtype != KEEL_FLOAT || x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "signal must be float [batch, length, 1 or 2]");
    keel_status st = kl_scalar_int(c, STEP, &p->step);
    if (st)
        return st;
    if (w && (w->dtype != KEEL_FLOAT || w->rank != 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "window must be a float vector");
    if (!w && !len)
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs a window or a frame_length");
    p->len = w ? w->dims[0] : 0;
    if (len && (st = kl_scalar_int(c, LENGTH, &p->len)))
        return st;
    if (w && p->len != w->dims[0])
        return kl_op_fail(c, KEEL_ERR_SHAPE, "frame_length %lld differs from the window's %lld", (long long)p->len,
                          (long long)w->dims[0]);
    if (p->step < 1 || p->len < 1 || p->len > x->dims[1])
        return kl_op_fail(c, KEEL_ERR_INVALID, "frame_step %lld and frame_length %lld do not fit %lld samples",
                          (long long)p->step, (long long)p->len, (long long)x->dims[1]);
    bool onesided = kl_attr_int(c->node, "onesided", 1) != 0;
    if (onesided && x->dims[2] != 1)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "onesided needs a real signal");
    p->frames = (x->dims[1] - p->len) / p->step + 1;
    p->bins = onesided ? p->len / 2 + 1 : p->len;
    return KEEL_OK;
}

static keel_status stft_infer(kl_opctx *c)
{
    stft_plan p;
    keel_status st = plan(c, &p);
    if (!st)
        kl_set_shape(c->out[0], KEEL_FLOAT, 4, (int64_t[]){c->in[SIGNAL]->dims[0], p.frames, p.bins, 2});
    return st;
}

static keel_status stft_run(kl_opctx *c)
{
    stft_plan p;
    keel_status st = plan(c, &p);
    if (st)
        return st;
    const kl_tensor *x = c->in[SIGNAL], *w = c->n_in > WINDOW ? c->in[WINDOW] : NULL;
    int64_t comps = x->dims[2];
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < p.frames; f++) {
            const float *frame = (const float *)x->data + (b * x->dims[1] + f * p.step) * comps;
            float *out = (float *)c->out[0]->data + ((b * p.frames + f) * p.bins) * 2;
            kl_dft(frame, comps, comps == 2, p.len, w ? w->data : NULL, p.len, false, out, 2, p.bins);
        }
    return KEEL_OK;
}

static const kl_op stft = {.type = "STFT", .since = 17, .min_inputs = 2, .max_inputs = 4,
                           .infer = stft_infer, .run = stft_run};

const kl_op *const kl_opfile_stft[] = {&stft, NULL};
