/* im2col.c -- a convolution's input unfolded into columns (im2col, for
 * ops/conv.c's products) and the transposed convolution's columns added
 * back where they land (col2im, ops/convtranspose.c).  Portable loops that
 * the compiler vectorizes; ops/kernels/x86/im2col_avx2.c builds them again
 * for AVX2. */
#include "kernels.h"

/* Output columns [xo0, xo1) of one unfolded row: input row `row` (NULL
 * where the kernel tap falls outside the input) read from column ix0 at
 * stride s; only output columns [lo, hi) read inside the row. */
static inline void unfold_row(const kl_conv_geom *g, const float *restrict row, int64_t ix0, int64_t s, int64_t lo,
                              int64_t hi, int64_t xo0, int64_t xo1, float *restrict col)
{
    lo = lo > xo0 ? lo : xo0;
    hi = hi < xo1 ? hi : xo1;
    if (!row || hi <= lo)
        lo = hi = xo1;
    /* plain loops, not memset/memcpy: rows of 17 or 35 floats made the
     * calls most of the unfolding */
    for (int64_t xo = xo0; xo < lo; xo++)
        col[xo - xo0] = 0.0f;
    if (s == 1)
        for (int64_t xo = lo; xo < hi; xo++)
            col[xo - xo0] = row[ix0 + xo];
    else if (s == 2 && hi > lo) /* row is NULL when hi == lo */
        g->kern->take_even.fn(col + (lo - xo0), row + ix0 + 2 * lo, hi - lo);
    else
        for (int64_t xo = lo; xo < hi; xo++)
            col[xo - xo0] = row[ix0 + xo * s];
    for (int64_t xo = hi; xo < xo1; xo++)
        col[xo - xo0] = 0.0f;
}

/* Whether output row r reads input rows r + shift at stride 1 along both
 * axes with rows as wide as the input's ("same" padding, 2-D): then
 * output position j reads input element j + shift of the plane, or zero
 * where the tap falls outside it. */
static bool same_rows(const kl_conv_geom *g)
{
    return g->stride[2] == 1 && g->stride[1] == 1 && g->out[2] == g->in[2] && g->in[0] == 1 && g->k[0] == 1 &&
           g->out[0] == 1;
}

/* One unfolded row of a same_rows geometry, positions [j0, j1): tap row kh,
 * tap column at input offset ix0, inside the row for output columns
 * [lo, hi).  One copy over all the rows the tap's input rows cover, then
 * zeros where it read across a row's edge: no call per output row (rows
 * of 17 or 35 floats made the per-row work most of the unfolding). */
static void unfold_same(const kl_conv_geom *g, const float *restrict plane, int64_t kh, int64_t ix0, int64_t lo,
                        int64_t hi, int64_t j0, int64_t j1, float *restrict col)
{
    const int64_t ow = g->out[2], dy = kh * g->dil[1] - g->pad[1], shift = dy * ow + ix0;
    /* positions whose input row lies inside the plane, then inside its elements */
    int64_t ja = -dy * ow, jb = (g->in[1] - dy) * ow;
    ja = ja > j0 ? ja : j0;
    jb = jb < j1 ? jb : j1;
    jb = jb > ja ? jb : ja;
    int64_t ca = -shift > ja ? -shift : ja, cb = g->in_size - shift < jb ? g->in_size - shift : jb;
    cb = cb > ca ? cb : ca;
    for (int64_t j = j0; j < ca; j++)
        col[j - j0] = 0.0f;
    for (int64_t j = ca; j < cb; j++)
        col[j - j0] = plane[j + shift];
    for (int64_t j = cb; j < j1; j++)
        col[j - j0] = 0.0f;
    if (lo == 0 && hi == ow)
        return;
    for (int64_t r = ja / ow; r * ow < jb; r++) {
        const int64_t row = r * ow;
        for (int64_t c = 0; c < lo; c++)
            if (row + c >= ja && row + c < jb)
                col[row + c - j0] = 0.0f;
        for (int64_t c = hi; c < ow; c++)
            if (row + c >= ja && row + c < jb)
                col[row + c - j0] = 0.0f;
    }
}

/* Rows [kb, kb + kc) of one group's unfolded input (row k for input
 * channel k / K, kernel tap k % K; x is [cg, D, H, W]), output positions
 * [j0, j1) of it, into cols, rows ldc apart. */
void KL_KFN(im2col)(const kl_conv_geom *g, const float *restrict x, int64_t kb, int64_t kc, int64_t j0, int64_t j1,
                          float *restrict cols, int64_t ldc)
{
    const int64_t oh = g->out[1], ow = g->out[2], kw_n = g->k[2], kh_n = g->k[1];
    for (int64_t k = kb; k < kb + kc; k++, cols += ldc) {
        const int64_t tap = k % g->k_size, kw = tap % kw_n, kh = tap / kw_n % kh_n, kd = tap / (kw_n * kh_n);
        const float *plane = x + k / g->k_size * g->in_size;
        const int64_t ix0 = kw * g->dil[2] - g->pad[2], s = g->stride[2];
        /* output columns whose input column is inside the row */
        int64_t lo = ix0 < 0 ? (-ix0 + s - 1) / s : 0;
        int64_t hi = g->in[2] - 1 - ix0 < 0 ? 0 : (g->in[2] - 1 - ix0) / s + 1;
        lo = lo < ow ? lo : ow;
        hi = hi < ow ? hi : ow;
        hi = hi > lo ? hi : lo;
        float *col = cols;
        if (same_rows(g)) {
            unfold_same(g, plane, kh, ix0, lo, hi, j0, j1, col);
            continue;
        }
        /* the output row (rz, ry) of position j0, then row after row:
         * no division per row */
        const int64_t r0 = j0 / ow, iy_step = g->stride[1], ih = g->in[1], iw = g->in[2];
        int64_t rz = r0 / oh, ry = r0 % oh, xo0 = j0 % ow;
        int64_t iy = ry * iy_step - g->pad[1] + kh * g->dil[1];
        const int64_t iy_first = -g->pad[1] + kh * g->dil[1];
        for (int64_t j = j0; j < j1;) {
            const int64_t xo1 = ow - xo0 < j1 - j ? ow : xo0 + (j1 - j);
            const int64_t iz = rz * g->stride[0] - g->pad[0] + kd * g->dil[0];
            const bool inside = iz >= 0 && iz < g->in[0] && iy >= 0 && iy < ih;
            unfold_row(g, inside ? plane + (iz * ih + iy) * iw : NULL, ix0, s, lo, hi, xo0, xo1, col);
            col += xo1 - xo0;
            j += xo1 - xo0;
            xo0 = 0;
            iy += iy_step;
            if (++ry == oh)
                ry = 0, rz++, iy = iy_first;
        }
    }
}

/* Adds the contributions in cols (mg * k_size rows of in_size) into y
 * (mg planes of out_size). */
void KL_KFN(col2im)(const ct_geom *g, const float *cols, int64_t mg, float *y)
{
    for (int64_t m = 0; m < mg; m++) {
        float *plane = y + m * g->out_size;
        const float *row = cols + m * g->k_size * g->in_size;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, row += g->in_size) {
                    int64_t d0, d1, h0, h1, w0, w1;
                    tap_range(g, 0, kd, &d0, &d1);
                    tap_range(g, 1, kh, &h0, &h1);
                    tap_range(g, 2, kw, &w0, &w1);
                    const int64_t ws = g->stride[2], w_off = kw * g->dil[2] - g->pad[2];
                    for (int64_t id = d0; id < d1; id++) {
                        const int64_t od = id * g->stride[0] - g->pad[0] + kd * g->dil[0];
                        for (int64_t ih = h0; ih < h1; ih++) {
                            const int64_t oh = ih * g->stride[1] - g->pad[1] + kh * g->dil[1];
                            const float *restrict src = row + (id * g->in[1] + ih) * g->in[2];
                            float *restrict dst = plane + (od * g->out[1] + oh) * g->out[2];
                            if (ws == 1)
                                for (int64_t iw = w0; iw < w1; iw++)
                                    dst[iw + w_off] += src[iw];
                            else
                                for (int64_t iw = w0; iw < w1; iw++)
                                    dst[iw * ws + w_off] += src[iw];
                        }
                    }
                }
    }
}
