/* recurrent.h -- the driver shared by RNN, GRU and LSTM.
 *
 * The driver reads the common inputs and attributes (X, W, R, B,
 * sequence_lens, initial_h; direction, hidden_size, layout, clip,
 * activations), computes X * W^T for all time steps with one sgemm per
 * direction, and walks the time steps, handing each cell the gate
 * pre-activations of the active batch rows.  The op supplies the cell. */
#ifndef KL_RECURRENT_H
#define KL_RECURRENT_H

#include "../op.h"

typedef enum kl_rnn_fn_kind {
    KL_RNN_RELU, KL_RNN_TANH, KL_RNN_SIGMOID, KL_RNN_AFFINE, KL_RNN_LEAKYRELU,
    KL_RNN_THRESHOLDEDRELU, KL_RNN_SCALEDTANH, KL_RNN_HARDSIGMOID, KL_RNN_ELU,
    KL_RNN_SOFTSIGN, KL_RNN_SOFTPLUS
} kl_rnn_fn_kind;

typedef struct kl_rnn_fn {
    kl_rnn_fn_kind kind;
    float alpha, beta;
} kl_rnn_fn;

typedef struct kl_rnn {
    int gates;               /* G: 1 RNN, 3 GRU, 4 LSTM */
    int n_fns;               /* activation functions per direction */
    int dirs, layout;
    int64_t seq, batch, input, hidden;
    float clip;              /* 0: none */
    kl_rnn_fn fn[2][3];      /* per direction */
    const float *w, *r, *b;  /* b may be NULL */
    const int32_t *lens;     /* NULL: every sequence has length seq */
} kl_rnn;

/* One time step of one direction for `rows` batch rows: gates[rows][G*H]
 * holds X*W^T + Wb + Rb; the cell adds H*R^T itself (r: [G*H, H]) and
 * updates h (and c) in place.  rb is this direction's R bias (GRU needs it
 * apart).  scratch holds rows * G * H floats. */
typedef void (*kl_rnn_cell)(const kl_rnn *m, int dir, int64_t rows, float *gates, const float *r,
                            const float *rb, float *h, float *c, const float *peep, float *scratch);

/* infer(): checks the common inputs and sets the shapes of Y, Y_h (and,
 * when `with_c`, Y_c as output 2).  n_fns activations per direction with
 * the op's defaults (default_fns). */
keel_status kl_rnn_infer(kl_opctx *c, int gates, int n_fns, bool with_c);
size_t kl_rnn_scratch(kl_opctx *c, int gates);
/* run(): c0 (initial_c) and peepholes are LSTM's (inputs 6 and 7). */
keel_status kl_rnn_run(kl_opctx *c, int gates, int n_fns, const kl_rnn_fn_kind *default_fns,
                       kl_rnn_cell cell, bool with_c);

float kl_rnn_apply(const kl_rnn_fn *f, float x);
/* Clips a pre-activation to [-clip, clip] when clip is set. */
static inline float kl_rnn_clip(const kl_rnn *m, float x)
{
    return m->clip > 0 ? (x < -m->clip ? -m->clip : x > m->clip ? m->clip : x) : x;
}
/* out[rows][n] += in[rows][k] * r^T (r: [n, k]); out's rows are ldo apart */
void kl_rnn_gemm_rt(int64_t rows, int64_t n, int64_t k, const float *in, const float *r, float *out,
                    int64_t ldo);

#endif
