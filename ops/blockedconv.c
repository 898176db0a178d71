/* blockedconv.c -- ai.keel's BlockedConv: a 2-D float Conv of one group,
 * or depthwise, and dilation 1 whose output is in the blocked layout
 * (conv.h), its input too, or in the plain layout when it has few
 * channels (a stem; one group).
 * Not in the registry: the pass blocked_layout (runtime/layout.c) retypes
 * a Conv node to it, which keeps the node's attributes, weights, bias and
 * fused epilogue (a fused residual comes in Y's layout).  The work is the
 * kernel table's bconv, or bdwconv for depthwise
 * (ops/kernels/x86/blocked.h), on W packed once in prepare(), its
 * tiles shared out by bands of output rows: each thread takes the same
 * rows of every block, as the layer before did. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "../runtime/exec.h"

#define PASS_STEPS 128 /* steps of k per pass over the output rows: W's slice, 32 KB, in L1 */

/* The node's geometry, its input taken as [N][C][H][W] with C the
 * weights' (the blocked input holds ceil(C / B) blocks of it, B the
 * kernels' block). */
static keel_status geometry(kl_opctx *c, kl_conv_geom *g)
{
    const kl_tensor *x = c->in[0], *w = c->in[1];
    const int64_t bl = c->env->kern->block;
    if (!bl)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the session's kernels have no blocked layout");
    if (x->dtype != KEEL_FLOAT || w->dtype != KEEL_FLOAT || w->rank != 4)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only 2-D float convolutions are supported");
    const bool plain = x->rank == 4;
    const int64_t group = kl_attr_int(c->node, "group", 1);
    if (group < 1 || w->dims[1] > INT64_MAX / group)
        return kl_op_fail(c, KEEL_ERR_INVALID, "attribute 'group' is %lld", (long long)group);
    const int64_t ch = w->dims[1] * group;
    if (!plain && (x->rank != 5 || x->dims[4] != bl || x->dims[1] != (ch + bl - 1) / bl))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input is not %lld channels in blocks of %lld", (long long)ch,
                          (long long)bl);
    kl_tensor view = *x;
    view.rank = 4;
    view.dims[1] = ch;
    keel_status st = kl_conv_geometry(c, &view, w, g);
    if (st)
        return st;
    if ((g->group != 1 && (plain || !kl_dw_applies(g))) || g->dil[1] != 1 || g->dil[2] != 1 || g->nsp != 2)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "only one group or depthwise, dilation 1, in the blocked layout");
    if (plain && g->c > bl)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "a plain input of %lld channels (at most %lld)", (long long)g->c,
                          (long long)bl);
    return KEEL_OK;
}

static int64_t blocks_of(int64_t channels, int64_t bl)
{
    return (channels + bl - 1) / bl;
}

static keel_status bconv_infer(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    if (!(g.group == 1 ? c->env->kern->bconv.fn != NULL : c->env->kern->bdwconv.fn != NULL))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the session's kernels have no blocked convolution");
    const int64_t bl = c->env->kern->block, dims[5] = {g.n, blocks_of(g.m, bl), g.out[1], g.out[2], bl};
    kl_set_shape(c->out[0], KEEL_FLOAT, 5, dims);
    return KEEL_OK;
}

static int64_t bconv_macs(kl_opctx *c)
{
    kl_conv_geom g;
    if (geometry(c, &g))
        return 0;
    return g.n * g.m * g.out_size * (g.c / g.group) * g.k_size;
}

/* W packed (kl_cv_pack over steps ordered input block, tap row, tap
 * column, channel), the model's (shared) or the plan's own; the bias
 * padded to whole blocks. */
typedef struct bconv_state {
    const float *packed;
    float *own, *bias;
    size_t own_bytes, bias_bytes;
} bconv_state;

#define FORM_BLOCKED 16 /* kl_shared_pack's form: apart from Conv's */
#define FORM_BLOCKED_DW 17

static void bconv_release(kl_env *env, void *state)
{
    bconv_state *st = state;
    if (!st)
        return;
    kl_free(env, st->own, st->own_bytes);
    kl_free(env, st->bias, st->bias_bytes);
    kl_free(env, st, sizeof *st);
}

/* Channels of an input block: the kernels' block, or all of a plain
 * input's. */
static int64_t block_channels(const kl_opctx *c, const kl_conv_geom *g)
{
    return c->in[0]->rank == 4 ? g->c : c->env->kern->block;
}

/* w [m][c][kh][kw] as [m][k] with k ordered block, tap row, tap column,
 * channel of the block (zeros for the lanes past c). */
static void reorder_weights(const kl_conv_geom *g, int64_t cpb, const float *w, float *out)
{
    const int64_t kh = g->k[1], kw = g->k[2], blocks = (g->c + cpb - 1) / cpb, k = blocks * kh * kw * cpb;
    memset(out, 0, (size_t)(g->m * k) * sizeof(float));
    for (int64_t m = 0; m < g->m; m++)
        for (int64_t ch = 0; ch < g->c; ch++)
            for (int64_t y = 0; y < kh; y++)
                for (int64_t x = 0; x < kw; x++)
                    out[m * k + ((ch / cpb * kh + y) * kw + x) * cpb + ch % cpb] =
                        w[((m * g->c + ch) * kh + y) * kw + x];
}

/* Depthwise weights [c][1][kh][kw] as [block][kh][kw][bl], lanes past c
 * zero. */
static float *pack_depthwise(kl_env *env, const kl_conv_geom *g, int64_t bl, const float *w, size_t *bytes)
{
    const int64_t taps = g->k[1] * g->k[2];
    *bytes = (size_t)(blocks_of(g->c, bl) * taps * bl) * sizeof(float);
    float *p = kl_alloc(env, *bytes);
    if (!p)
        return NULL;
    memset(p, 0, *bytes);
    for (int64_t ch = 0; ch < g->c; ch++)
        for (int64_t t = 0; t < taps; t++)
            p[(ch / bl * taps + t) * bl + ch % bl] = w[ch * taps + t];
    return p;
}

/* W packed for the tiles (kl_pack_fn) */
static void *pack_weights(kl_env *env, kl_opctx *c, int form, size_t *bytes)
{
    kl_conv_geom g;
    geometry(c, &g);
    if (form == FORM_BLOCKED_DW)
        return pack_depthwise(env, &g, c->env->kern->block, c->in[1]->data, bytes);
    const int64_t cpb = block_channels(c, &g), k = (g.c + cpb - 1) / cpb * g.k[1] * g.k[2] * cpb;
    const size_t flat_bytes = (size_t)(g.m * k) * sizeof(float);
    float *flat = kl_alloc(env, flat_bytes);
    *bytes = kl_cv_packed_floats(g.m, k) * sizeof(float);
    float *packed = kl_alloc(env, *bytes);
    if (flat && packed) {
        reorder_weights(&g, cpb, c->in[1]->data, flat);
        kl_cv_pack(g.m, k, flat, packed); /* rows past m, to whole blocks of 64, zero */
    } else {
        kl_free(env, packed, *bytes);
        packed = NULL;
    }
    kl_free(env, flat, flat_bytes);
    return packed;
}

static keel_status bconv_prepare(kl_opctx *c)
{
    kl_conv_geom g;
    keel_status st = geometry(c, &g);
    if (st)
        return st;
    if (!kl_input_const(c, 1))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "the blocked layout needs constant weights");
    bconv_state *s = kl_alloc(c->env, sizeof *s);
    if (!s)
        return KEEL_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    const void *packed;
    const int form = g.group == 1 ? FORM_BLOCKED : FORM_BLOCKED_DW;
    st = kl_shared_pack(c, 1, form, pack_weights, &packed);
    if (!st && !packed && !(packed = s->own = pack_weights(c->env, c, form, &s->own_bytes)))
        st = KEEL_ERR_NOMEM;
    s->packed = packed;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    const int64_t bl = c->env->kern->block;
    s->bias_bytes = bias ? (size_t)(blocks_of(g.m, bl) * bl) * sizeof(float) : 0;
    if (!st && bias && !(s->bias = kl_alloc(c->env, s->bias_bytes)))
        st = KEEL_ERR_NOMEM;
    if (st) {
        bconv_release(c->env, s);
        return st;
    }
    if (bias) {
        memset(s->bias, 0, s->bias_bytes);
        memcpy(s->bias, bias, (size_t)g.m * sizeof(float));
    }
    c->state = s;
    return KEEL_OK;
}

/* Whether the kernel applies the epilogue in its stores: the residual and
 * Relu or Clip; others run over the finished rows. */
static bool in_store(const kl_epilogue *e)
{
    return !e->bias && (e->act == KL_ACT_NONE || e->act == KL_ACT_RELU || e->act == KL_ACT_CLIP);
}

typedef struct bconv_job {
    kl_opctx *c;
    const kl_bc_span *s;
    bool depthwise;          /* items over output blocks (bdwconv), not groups of KL_CV_NB channels (bconv) */
    bool by_groups;          /* items group-major (each thread streams its part of W), not band-major */
    int64_t groups, bands;
    size_t y_offset;         /* the image's first element in the output */
} bconv_job;

/* The output rows of band `band` of `bands` over oh rows. */
static int64_t band_start(int64_t oh, int64_t bands, int64_t band)
{
    return oh * band / bands;
}

/* Items band-major: thread t's share of the items is its bands of rows
 * over every group of output blocks (every block, depthwise); or, where
 * W outweighs the input, group-major: its groups over every row. */
static void bconv_items(void *arg, int64_t lo, int64_t hi)
{
    const bconv_job *j = arg;
    const kl_bc_span *s = j->s;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t band = j->by_groups ? item % j->bands : item / j->groups;
        const int64_t group = j->by_groups ? item / j->bands : item % j->groups;
        const int64_t r0 = band_start(s->oh, j->bands, band), r1 = band_start(s->oh, j->bands, band + 1);
        if (r0 == r1)
            continue;
        if (j->depthwise)
            j->c->env->kern->bdwconv.fn(s, group, r0, r1);
        else
            j->c->env->kern->bconv.fn(s, group, r0, r1);
        if (in_store(&j->c->epi))
            continue;
        const int64_t bl = j->c->env->kern->block, per = j->depthwise ? 1 : KL_CV_NB / bl, plane = s->oh * s->ow * bl;
        const int64_t b1 = per * group + per < s->m_blocks ? per * group + per : s->m_blocks;
        for (int64_t b = per * group; b < b1; b++) {
            const int64_t at = b * plane + r0 * s->ow * bl;
            kl_epilogue_apply(&j->c->epi, s->y + at, j->y_offset + (size_t)at, (size_t)((r1 - r0) * s->ow * bl));
        }
    }
}

static keel_status bconv_run(kl_opctx *c)
{
    kl_conv_geom g;
    geometry(c, &g); /* validated by infer */
    const bconv_state *st = c->state;
    const kl_epilogue *e = &c->epi;
    const bool plain = c->in[0]->rank == 4, fused = in_store(e);
    const bool depthwise = g.group > 1;
    const int64_t bl = c->env->kern->block, cpb = block_channels(c, &g), steps = g.k[1] * g.k[2] * cpb;
    kl_bc_span s = {.plain = plain, .cpb = cpb, .x_ch = plain ? g.in[1] * g.in[2] : 1,
                    .x_col = plain ? 1 : bl, .in_blocks = (g.c + cpb - 1) / cpb,
                    .ih = g.in[1], .iw = g.in[2], .kh = g.k[1], .kw = g.k[2], .sh = g.stride[1],
                    .sw = g.stride[2], .ph = g.pad[1], .pw = g.pad[2], .oh = g.out[1], .ow = g.out[2],
                    .m_blocks = blocks_of(g.m, bl), .packed = st->packed, .bias = st->bias,
                    .lo = -INFINITY, .hi = INFINITY};
    s.x_row = s.iw * s.x_col;
    s.x_block = plain ? 0 : s.ih * s.x_row;
    s.k = s.in_blocks * steps;
    s.pass_blocks = PASS_STEPS / steps > 1 ? PASS_STEPS / steps : 1;
    if (fused && e->act == KL_ACT_RELU)
        s.lo = 0.0f;
    if (fused && e->act == KL_ACT_CLIP)
        s.lo = e->alpha, s.hi = e->beta;
    const int threads = kl_pool_threads(c->pool);
    const int64_t image_in = plain ? g.c * g.in_size : s.in_blocks * g.in_size * bl;
    const int64_t image_out = s.m_blocks * g.out_size * bl;
    /* where W outweighs the input (a 1x1 conv from 320 to 1280 channels on
     * 7x7: 1.6 MB of W for 63 KB), the threads split the output channels,
     * each streaming its part of W; split by rows, each would read all of it */
    const bool w_heavy = !depthwise && (int64_t)kl_cv_packed_floats(g.m, s.k) > image_in;
    bconv_job j = {c, &s, depthwise, w_heavy, depthwise ? s.m_blocks : kl_cv_blocks(g.m),
                   threads > 1 ? (s.oh < 2 * threads ? s.oh : 2 * threads) : 1, 0};
    kl_pool *pool = kl_conv_pool(c, g.m * g.out_size * (g.c / g.group) * g.k_size);
    for (int64_t n = 0; n < g.n && !kl_op_stopping(c); n++) {
        s.x = (const float *)c->in[0]->data + n * image_in;
        s.y = (float *)c->out[0]->data + n * image_out;
        s.res = fused && e->residual ? (const float *)e->residual->data + n * image_out : NULL;
        j.y_offset = (size_t)(n * image_out);
        kl_parallel_for_fine(pool, j.groups * j.bands, w_heavy ? KL_CV_SPLIT_RANGES : 1, bconv_items, &j);
    }
    return kl_op_check_cancel(c);
}

const kl_op kl_op_blocked_conv = {.type = "BlockedConv", .domain = "ai.keel", .since = 1, .min_inputs = 2,
                                  .max_inputs = 3, .flags = KL_OP_EPILOGUE | KL_OP_PRE_PAD, .infer = bconv_infer,
                                  .run = bconv_run, .macs = bconv_macs, .prepare = bconv_prepare,
                                  .release = bconv_release, .residual_input = 3, .batch = KL_BATCH_PER_IMAGE};
