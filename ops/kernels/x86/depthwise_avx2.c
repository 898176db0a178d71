/* depthwise_avx2.c -- the x86 kernels of ops/kernels/depthwise.c on AVX2
 * and FMA: rows 8 columns wide (dw_rows, with dw_split_row for stride 2),
 * take_even (im2col's stride-2 rows) and 8 channels interleaved
 * (dw_group8). */
#include <string.h>

#include "depthwise.h"
#include "transpose.h"

/* Up to DW_ROWS output rows, 8 columns, of a K x K stride-S plane: one
 * accumulator per row so that the FMA chains of the taps overlap.  For
 * S == 1, e is the padded plane; for S == 2, e and o hold its even and
 * odd columns, so that every tap reads 8 consecutive floats.  ld: row
 * stride of e and o; y: row stride ldy, only the lanes of `mask` stored
 * when `tail` (through a copy: a masked store is slow on AMD cores). */
#define DW_ROWS 4
static inline __attribute__((always_inline, target("avx2,fma"))) void
dw_block(const float *e, const float *o, int64_t ld, const float *w, __m256 vb, float *y, int64_t ldy,
         __m256i mask, bool tail, int rows, int K, int S)
{
    __m256 acc[DW_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < DW_ROWS; r++)
        acc[r] = vb;
#pragma GCC unroll 5
    for (int kh = 0; kh < K; kh++)
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++) {
            __m256 wv = _mm256_broadcast_ss(w + kh * K + kw);
            const float *src = (S == 1 ? e + kw : (kw & 1 ? o : e) + kw / 2) + kh * ld;
#pragma GCC unroll 4
            for (int r = 0; r < DW_ROWS; r++)
                if (r < rows)
                    acc[r] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(src + r * S * ld), acc[r]);
        }
#pragma GCC unroll 4
    for (int r = 0; r < DW_ROWS; r++)
        if (r < rows) {
            if (tail) {
                float t[8];
                _mm256_storeu_ps(t, acc[r]);
                for (int i = 0; i < 8 && _mm256_movemask_ps(_mm256_castsi256_ps(mask)) >> i & 1; i++)
                    y[r * ldy + i] = t[i];
            } else
                _mm256_storeu_ps(y + r * ldy, acc[r]);
        }
}

/* A whole plane: oh rows of ow columns, computed 8 at a time. */
static inline __attribute__((always_inline, target("avx2,fma"))) void
dw_plane_avx2(const float *e, const float *o, int64_t ld, const float *w, float bias, float *y, int64_t oh,
              int64_t ow, int K, int S)
{
    const __m256 vb = _mm256_set1_ps(bias);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t oy = 0;
    for (; oy < oh; oy += DW_ROWS) {
        int rows = oh - oy < DW_ROWS ? (int)(oh - oy) : DW_ROWS;
        for (int64_t ox = 0; ox < ow; ox += 8) {
            __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(ow - ox)), lane);
            const float *eb = e + oy * S * ld + ox, *ob = o + oy * S * ld + ox;
            float *yb = y + oy * ow + ox;
            bool tail = ow - ox < 8;
            /* the last rows as one block too: a lone row is one chain of
             * K * K dependent FMAs */
            if (rows == DW_ROWS)
                dw_block(eb, ob, ld, w, vb, yb, ow, mask, tail, DW_ROWS, K, S);
            else if (rows == 3)
                dw_block(eb, ob, ld, w, vb, yb, ow, mask, tail, 3, K, S);
            else if (rows == 2)
                dw_block(eb, ob, ld, w, vb, yb, ow, mask, tail, 2, K, S);
            else
                dw_block(eb, ob, ld, w, vb, yb, ow, mask, tail, 1, K, S);
        }
    }
}

#define DW_AVX2_PLANE(NAME, K, S)                                                                         \
    __attribute__((target("avx2,fma"))) static void NAME(const float *e, const float *o, int64_t ld,     \
                                                         const float *w, float bias, float *y, int64_t oh, \
                                                         int64_t wide)                                     \
    {                                                                                                     \
        dw_plane_avx2(e, o, ld, w, bias, y, oh, wide, K, S);                                              \
    }
DW_AVX2_PLANE(dw8_3x3s1, 3, 1)
DW_AVX2_PLANE(dw8_3x3s2, 3, 2)
DW_AVX2_PLANE(dw8_5x5s1, 5, 1)
DW_AVX2_PLANE(dw8_5x5s2, 5, 2)
DW_AVX2_PLANE(dw8_7x7s1, 7, 1)
DW_AVX2_PLANE(dw8_7x7s2, 7, 2)

/* Rows of 8 columns of a 3x3, 5x5 or 7x7, stride 1 or 2 plane. */
void klk_dw_rows_avx2(int K, int S, const float *e, const float *o, int64_t ld, const float *w, float bias, float *y,
                      int64_t oh, int64_t ow)
{
    if (K == 3)
        (S == 1 ? dw8_3x3s1 : dw8_3x3s2)(e, o, ld, w, bias, y, oh, ow);
    else if (K == 5)
        (S == 1 ? dw8_5x5s1 : dw8_5x5s2)(e, o, ld, w, bias, y, oh, ow);
    else
        (S == 1 ? dw8_7x7s1 : dw8_7x7s2)(e, o, ld, w, bias, y, oh, ow);
}

/* klk_dw_split_row_generic, 16 columns at a time from the first even column. */
KL_AVX2 void klk_dw_split_row_avx2(const float *row, int64_t c0, int64_t c1, float *e, float *o)
{
    int64_t c = c0 + (c0 & 1);
    klk_dw_split_row_generic(row, c0, c < c1 ? c : c1, e, o);
    for (; c + 16 <= c1; c += 16) {
        __m256 a = _mm256_loadu_ps(row + c), b = _mm256_loadu_ps(row + c + 8);
        __m256 ev = _mm256_shuffle_ps(a, b, 0x88), od = _mm256_shuffle_ps(a, b, 0xDD);
        /* [a0 a2 b0 b2 | a4 a6 b4 b6] -> [a0 a2 a4 a6 | b0 b2 b4 b6] */
        _mm256_storeu_ps(e + c / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8)));
        _mm256_storeu_ps(o + c / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xD8)));
    }
    if (c < c1)
        klk_dw_split_row_generic(row, c, c1, e, o);
}

/* dst[i] = src[2 i] for i < n, reading src[0 .. 2 n - 1) only. */
KL_AVX2 void klk_take_even_avx2(float *dst, const float *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 9 <= n; i += 8) { /* a step reads src[2 i + 15], so i + 8 < n */
        __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
        __m256 ev = _mm256_shuffle_ps(a, b, 0x88);
        _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8)));
    }
    for (; i < n; i++)
        dst[i] = src[2 * i];
}

/* ---- channel-blocked kernel (dw_group8; dw_group16 in depthwise_avx512.c) ----
 * On small maps a plane's rows are too short for the row kernel: per-plane
 * work (filling the padded plane, a masked last vector per row) outweighs
 * the taps.  Here L channels are interleaved, [pos][L] (8 here, 16 on
 * AVX-512), so every tap is one full-width FMA over L channels and no
 * lane is wasted. */

/* n consecutive floats of 8 rows (src, row stride lds) into n positions
 * of 8 channels, positions L floats apart (dst[i * L + c] = src[c * lds +
 * i]). */
__attribute__((target("avx2,fma"))) static void interleave8(const float *src, int64_t lds, int64_t n, float *dst,
                                                             int L)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r[8];
        for (int c = 0; c < 8; c++)
            r[c] = _mm256_loadu_ps(src + c * lds + i);
        kl_transpose8(r);
        for (int k = 0; k < 8; k++)
            _mm256_storeu_ps(dst + (i + k) * L, r[k]);
    }
    for (; i < n; i++)
        for (int c = 0; c < 8; c++)
            dst[i * L + c] = src[c * lds + i];
}

/* The inverse: n positions of 8 channels (L floats apart) into 8 rows of
 * dst (stride ldd). */
__attribute__((target("avx2,fma"))) static void deinterleave8(const float *src, int64_t n, float *dst, int64_t ldd,
                                                               int L)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r[8];
        for (int k = 0; k < 8; k++)
            r[k] = _mm256_loadu_ps(src + (i + k) * L);
        kl_transpose8(r);
        for (int c = 0; c < 8; c++)
            _mm256_storeu_ps(dst + c * ldd + i, r[c]);
    }
    for (; i < n; i++)
        for (int c = 0; c < 8; c++)
            dst[c * ldd + i] = src[i * L + c];
}

/* Output row oy of 8 interleaved channels: 4 positions at a time so that
 * four FMA chains overlap.  K, S constants where inlined. */
static inline __attribute__((always_inline, target("avx2,fma"))) void
dw8c_row(const float *pad, int64_t pw, const float *w8, __m256 vb, float *out, int64_t oy, int64_t ow, int K, int S)
{
    int64_t ox = 0;
    for (; ox + 4 <= ow; ox += 4) {
        __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
        for (int kh = 0; kh < K; kh++) {
            const float *r = pad + ((oy * S + kh) * pw + ox * S) * 8;
            for (int kw = 0; kw < K; kw++) {
                __m256 wv = _mm256_loadu_ps(w8 + (kh * K + kw) * 8);
                a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + (kw + 0 * S) * 8), a0);
                a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + (kw + 1 * S) * 8), a1);
                a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + (kw + 2 * S) * 8), a2);
                a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + (kw + 3 * S) * 8), a3);
            }
        }
        float *o = out + (oy * ow + ox) * 8;
        _mm256_storeu_ps(o, a0);
        _mm256_storeu_ps(o + 8, a1);
        _mm256_storeu_ps(o + 16, a2);
        _mm256_storeu_ps(o + 24, a3);
    }
    for (; ox < ow; ox++) {
        __m256 a = vb;
        for (int kh = 0; kh < K; kh++) {
            const float *r = pad + ((oy * S + kh) * pw + ox * S) * 8;
            for (int kw = 0; kw < K; kw++)
                a = _mm256_fmadd_ps(_mm256_loadu_ps(w8 + (kh * K + kw) * 8), _mm256_loadu_ps(r + kw * 8), a);
        }
        _mm256_storeu_ps(out + (oy * ow + ox) * 8, a);
    }
}

/* A plane for kernel size K and stride S: constants in the functions
 * DW8C defines, the arguments in dw8c_any. */
static inline __attribute__((always_inline, target("avx2,fma"))) void
dw8c_plane(const float *pad, int64_t pw, const float *w8, const float *b8, float *out, int64_t oh, int64_t ow, int K,
           int S)
{
    __m256 vb = _mm256_loadu_ps(b8);
    for (int64_t oy = 0; oy < oh; oy++)
        dw8c_row(pad, pw, w8, vb, out, oy, ow, K, S);
}

#define DW8C(NAME, K, S)                                                                                    \
    __attribute__((target("avx2,fma"))) static void NAME(const float *pad, int64_t pw, const float *w8,    \
                                                         const float *b8, float *out, int64_t oh,           \
                                                         int64_t ow, int k, int s)                          \
    {                                                                                                       \
        (void)k, (void)s;                                                                                   \
        dw8c_plane(pad, pw, w8, b8, out, oh, ow, K, S);                                                     \
    }
DW8C(dw8c_3x3s1, 3, 1)
DW8C(dw8c_3x3s2, 3, 2)
DW8C(dw8c_5x5s1, 5, 1)
DW8C(dw8c_5x5s2, 5, 2)
DW8C(dw8c_7x7s1, 7, 1)
DW8C(dw8c_7x7s2, 7, 2)

__attribute__((target("avx2,fma"))) static void dw8c_any(const float *pad, int64_t pw, const float *w8,
                                                          const float *b8, float *out, int64_t oh, int64_t ow, int k,
                                                          int s)
{
    dw8c_plane(pad, pw, w8, b8, out, oh, ow, k, s);
}

static kl_dw_lanes_fn lanes8_for(int k, int s)
{
    static const kl_dw_lanes_fn built[3][2] = {{dw8c_3x3s1, dw8c_3x3s2}, {dw8c_5x5s1, dw8c_5x5s2},
                                               {dw8c_7x7s1, dw8c_7x7s2}};
    return (k == 3 || k == 5 || k == 7) && (s == 1 || s == 2) ? built[(k - 3) / 2][s - 1] : dw8c_any;
}


/* Planes [p, p + L) of the job (one group of L channels of one image). */
void kl_dw_group_lanes(const kl_conv_geom *g, kl_dw_lanes_fn fn, int L, const float *x, const float *w, const float *bias,
                      float *y, int64_t ch0, float *buf)
{
    int64_t ph, pw;
    kl_dw_blocked_dims(g, &ph, &pw);
    const int64_t ksize = g->k[1] * g->k[2], top = g->pad[1], left = g->pad[2];
    const int64_t ih = g->in[1], iw = g->in[2];
    float *pad = buf, *out = pad + L * ph * pw, *wl = out + L * g->out_size, *bl = wl + L * ksize;
    for (int64_t r = 0; r < ih; r++) { /* rows inside the padded plane only; the border stays zero */
        int64_t pr = r + top, c1 = iw < pw - left ? iw : pw - left;
        if (pr >= ph || c1 <= 0)
            continue;
        for (int c8 = 0; c8 < L; c8 += 8)
            interleave8(x + c8 * g->in_size + r * iw, g->in_size, c1, pad + (pr * pw + left) * L + c8, L);
    }
    for (int64_t t = 0; t < ksize; t++)
        for (int c = 0; c < L; c++)
            wl[t * L + c] = w[(ch0 + c) * ksize + t];
    for (int c = 0; c < L; c++)
        bl[c] = bias ? bias[ch0 + c] : 0.0f;
    fn(pad, pw, wl, bl, out, g->out[1], g->out[2], (int)g->k[1], (int)g->stride[1]);
    for (int c8 = 0; c8 < L; c8 += 8)
        deinterleave8(out + c8, g->out_size, y + c8 * g->out_size, g->out_size, L);
}

void klk_dw_group8_avx2(const kl_conv_geom *g, const float *x, const float *w, const float *bias, float *y,
                        int64_t ch0, float *buf)
{
    kl_dw_group_lanes(g, lanes8_for((int)g->k[1], (int)g->stride[1]), 8, x, w, bias, y, ch0, buf);
}
