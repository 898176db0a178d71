/* gru.c -- GRU, gates in the order update (z), reset (r), hidden (h):
 *   z = f(X*Wz^T + H*Rz^T + Wbz + Rbz),  r = f(X*Wr^T + H*Rr^T + Wbr + Rbr)
 *   h = g(X*Wh^T + (r . H)*Rh^T + Rbh + Wbh)        linear_before_reset = 0
 *   h = g(X*Wh^T + r . (H*Rh^T + Rbh) + Wbh)        linear_before_reset = 1
 *   H' = (1 - z) . h + z . H;  f = Sigmoid, g = Tanh by default. */
#include <string.h>

#include "drivers/recurrent.h"

static const kl_rnn_fn_kind gru_defaults[] = {KL_RNN_SIGMOID, KL_RNN_TANH};

/* set by the op before the driver runs: the cell has no context pointer */
typedef struct gru_cfg {
    bool linear_before_reset;
} gru_cfg;

static void gru_cell_with(const gru_cfg *cfg, const kl_rnn *m, int dir, int64_t rows, float *gates,
                          const float *r, const float *rb, float *h, float *scratch)
{
    int64_t H = m->hidden, G = 3 * H;
    const kl_rnn_fn *f = &m->fn[dir][0], *g = &m->fn[dir][1];
    kl_rnn_gemm_rt(rows, 2 * H, H, h, r, gates, G); /* z and r gates */
    float *z = scratch, *rs = scratch + rows * H, *hh = scratch + 2 * rows * H;
    for (int64_t k = 0; k < rows; k++)
        for (int64_t j = 0; j < H; j++) {
            z[k * H + j] = kl_rnn_apply(f, kl_rnn_clip(m, gates[k * G + j] + (rb ? rb[j] : 0)));
            rs[k * H + j] = kl_rnn_apply(f, kl_rnn_clip(m, gates[k * G + H + j] + (rb ? rb[H + j] : 0)));
        }
    const float *rh = r + 2 * H * H, *rbh = rb ? rb + 2 * H : NULL;
    memset(hh, 0, (size_t)(rows * H) * sizeof(float));
    if (cfg->linear_before_reset) {
        kl_rnn_gemm_rt(rows, H, H, h, rh, hh, H);
        for (int64_t k = 0; k < rows * H; k++)
            hh[k] = rs[k] * (hh[k] + (rbh ? rbh[k % H] : 0));
    } else {
        for (int64_t k = 0; k < rows * H; k++)
            rs[k] *= h[k];
        kl_rnn_gemm_rt(rows, H, H, rs, rh, hh, H);
        for (int64_t k = 0; k < rows * H; k++)
            hh[k] += rbh ? rbh[k % H] : 0;
    }
    for (int64_t k = 0; k < rows; k++)
        for (int64_t j = 0; j < H; j++) {
            float cand = kl_rnn_apply(g, kl_rnn_clip(m, gates[k * G + 2 * H + j] + hh[k * H + j]));
            float zz = z[k * H + j];
            h[k * H + j] = (1 - zz) * cand + zz * h[k * H + j];
        }
}

static void gru_cell_0(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r, const float *rb,
                       float *h, float *c, const float *peep, float *scratch)
{
    (void)c, (void)peep;
    static const gru_cfg cfg = {false};
    gru_cell_with(&cfg, m, dir, rows, gates, r, rb, h, scratch);
}

static void gru_cell_1(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r, const float *rb,
                       float *h, float *c, const float *peep, float *scratch)
{
    (void)c, (void)peep;
    static const gru_cfg cfg = {true};
    gru_cell_with(&cfg, m, dir, rows, gates, r, rb, h, scratch);
}

static keel_status gru_infer(kl_opctx *c)
{
    return kl_rnn_infer(c, 3, 2, false);
}

static keel_status gru_run(kl_opctx *c)
{
    bool lbr = kl_attr_int(c->node, "linear_before_reset", 0) != 0;
    return kl_rnn_run(c, 3, 2, gru_defaults, lbr ? gru_cell_1 : gru_cell_0, false);
}

static size_t gru_scratch(kl_opctx *c)
{
    return kl_rnn_scratch(c, 3);
}

static const kl_op gru = {.type = "GRU", .since = 1, .min_inputs = 3, .max_inputs = 6,
                          .flags = KL_OP_ANY_OUTPUT, .infer = gru_infer, .run = gru_run,
                          .scratch = gru_scratch};

const kl_op *const kl_opfile_gru[] = {&gru, NULL};
