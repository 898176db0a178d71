/* lstm.c -- LSTM, gates in the order input (i), output (o), forget (f),
 * cell (c); peepholes P in the order i, o, f:
 *   i = f(Xi + H*Ri^T + Pi . C + Wbi + Rbi)   f' = f(Xf + H*Rf^T + Pf . C + ...)
 *   c = g(Xc + H*Rc^T + Wbc + Rbc)            C' = f' . C + i . c
 *   o = f(Xo + H*Ro^T + Po . C' + Wbo + Rbo)  H' = o . h(C')
 * f = Sigmoid, g = h = Tanh by default; input_forget couples f' = 1 - i. */
#include "drivers/recurrent.h"

static const kl_rnn_fn_kind lstm_defaults[] = {KL_RNN_SIGMOID, KL_RNN_TANH, KL_RNN_TANH};

static void lstm_cell_with(bool input_forget, const kl_rnn *m, int dir, int64_t rows, float *gates,
                           const float *r, const float *rb, float *h, float *c, const float *peep)
{
    int64_t H = m->hidden, G = 4 * H;
    const kl_rnn_fn *f = &m->fn[dir][0], *g = &m->fn[dir][1], *hf = &m->fn[dir][2];
    kl_rnn_gemm_rt(rows, G, H, h, r, gates, G);
    for (int64_t k = 0; k < rows; k++) {
        float *gt = gates + k * G;
        for (int64_t j = 0; j < H; j++) {
            float b_i = rb ? rb[j] : 0, b_o = rb ? rb[H + j] : 0, b_f = rb ? rb[2 * H + j] : 0,
                  b_c = rb ? rb[3 * H + j] : 0;
            float c_prev = c[k * H + j];
            float ig = kl_rnn_apply(f, kl_rnn_clip(m, gt[j] + b_i + (peep ? peep[j] * c_prev : 0)));
            float fg = input_forget ? 1 - ig
                                    : kl_rnn_apply(f, kl_rnn_clip(m, gt[2 * H + j] + b_f +
                                                                         (peep ? peep[2 * H + j] * c_prev : 0)));
            float cand = kl_rnn_apply(g, kl_rnn_clip(m, gt[3 * H + j] + b_c));
            float c_new = fg * c_prev + ig * cand;
            float og = kl_rnn_apply(f, kl_rnn_clip(m, gt[H + j] + b_o + (peep ? peep[H + j] * c_new : 0)));
            c[k * H + j] = c_new;
            h[k * H + j] = og * kl_rnn_apply(hf, c_new);
        }
    }
}

static void lstm_cell_0(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r, const float *rb,
                        float *h, float *c, const float *peep, float *scratch)
{
    (void)scratch;
    lstm_cell_with(false, m, dir, rows, gates, r, rb, h, c, peep);
}

static void lstm_cell_1(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r, const float *rb,
                        float *h, float *c, const float *peep, float *scratch)
{
    (void)scratch;
    lstm_cell_with(true, m, dir, rows, gates, r, rb, h, c, peep);
}

static keel_status lstm_infer(kl_opctx *c)
{
    return kl_rnn_infer(c, 4, 3, true);
}

static keel_status lstm_run(kl_opctx *c)
{
    bool coupled = kl_attr_int(c->node, "input_forget", 0) != 0;
    return kl_rnn_run(c, 4, 3, lstm_defaults, coupled ? lstm_cell_1 : lstm_cell_0, true);
}

static size_t lstm_scratch(kl_opctx *c)
{
    return kl_rnn_scratch(c, 4);
}

static const kl_op lstm = {.type = "LSTM", .since = 1, .min_inputs = 3, .max_inputs = 8,
                           .flags = KL_OP_ANY_OUTPUT, .infer = lstm_infer, .run = lstm_run,
                           .scratch = lstm_scratch};

const kl_op *const kl_opfile_lstm[] = {&lstm, NULL};
