/* rnn.c -- RNN: H = f(X*Wi^T + H*Ri^T + Wbi + Rbi), f = Tanh by default.
 * The time loop, directions, layouts and sequence lengths are the shared
 * driver's (recurrent.c). */
#include "drivers/recurrent.h"

static const kl_rnn_fn_kind rnn_defaults[] = {KL_RNN_TANH};

static void rnn_cell(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r, const float *rb,
                     float *h, float *c, const float *peep, float *scratch)
{
    (void)c, (void)peep, (void)scratch;
    int64_t H = m->hidden;
    kl_rnn_gemm_rt(rows, H, H, h, r, gates, H);
    for (int64_t k = 0; k < rows * H; k++)
        h[k] = kl_rnn_apply(&m->fn[dir][0], kl_rnn_clip(m, gates[k] + (rb ? rb[k % H] : 0)));
}

static keel_status rnn_infer(kl_opctx *c)
{
    return kl_rnn_infer(c, 1, 1, false);
}

static keel_status rnn_run(kl_opctx *c)
{
    return kl_rnn_run(c, 1, 1, rnn_defaults, rnn_cell, false);
}

static size_t rnn_scratch(kl_opctx *c)
{
    return kl_rnn_scratch(c, 1);
}

static const kl_op rnn = {.type = "RNN", .since = 1, .min_inputs = 3, .max_inputs = 6,
                          .flags = KL_OP_ANY_OUTPUT, .infer = rnn_infer, .run = rnn_run,
                          .scratch = rnn_scratch};

const kl_op *const kl_opfile_rnn[] = {&rnn, NULL};
