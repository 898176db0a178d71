/* depthwise.c -- convolution with one input and one output channel per
 * group (MobileNet, EfficientNet, ShuffleNet).  Each plane is copied once
 * into a zero-padded buffer so that the tap loops need no bounds checks;
 * the common shapes (3x3 and 5x5, stride 1 and 2) get loops whose sizes
 * are compile-time constants, which gcc unrolls over the taps and
 * vectorizes over the output row.  The fused epilogue runs on each plane
 * while it is in cache; planes are split over the session's threads. */
#include <string.h>

#include "conv.h"

bool kl_dw_applies(const kl_conv_geom *g)
{
    return g->group == g->c && g->group == g->m && g->group > 1 && g->in[0] == 1 && g->k[0] == 1;
}

/* Output rows are computed 8-wide: a 7- or 14-wide row (the late stages)
 * would otherwise run mostly in the loop's scalar remainder. */
static int64_t wide_cols(const kl_conv_geom *g)
{
    return (g->out[2] + 7) / 8 * 8;
}

/* Extent of the padded plane the taps read. */
static void padded_dims(const kl_conv_geom *g, int64_t *ph, int64_t *pw)
{
    *ph = (g->out[1] - 1) * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    *pw = (wide_cols(g) - 1) * g->stride[2] + (g->k[2] - 1) * g->dil[2] + 1;
}

/* Per thread: the padded plane, then the 8-wide output rows. */
/* Extent of the padded plane for the channel-blocked kernel (no rounding
 * of the output row). */
static void blocked_dims(const kl_conv_geom *g, int64_t *ph, int64_t *pw)
{
    *ph = (g->out[1] - 1) * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    *pw = (g->out[2] - 1) * g->stride[2] + (g->k[2] - 1) * g->dil[2] + 1;
}

/* Channels of a group of the channel-blocked kernel, at most. */
#define MAX_LANES 16

/* Floats the channel-blocked kernel needs: MAX_LANES interleaved padded
 * planes and outputs, the weights and bias of as many channels. */
static int64_t blocked_floats(const kl_conv_geom *g)
{
    int64_t ph, pw;
    blocked_dims(g, &ph, &pw);
    return MAX_LANES * (ph * pw + g->out_size + g->k[1] * g->k[2] + 1);
}

static int64_t thread_floats(const kl_conv_geom *g)
{
    int64_t ph, pw;
    padded_dims(g, &ph, &pw);
    int64_t rows = ph * (pw + 1) + g->out[1] * wide_cols(g); /* + 1: fill_interior's split rounds pw up */
    int64_t blocked = blocked_floats(g);
    return rows > blocked ? rows : blocked;
}

size_t kl_dw_scratch(const kl_conv_geom *g, int threads)
{
    return (size_t)thread_floats(g) * sizeof(float) * (size_t)threads;
}

static void pad_plane(const kl_conv_geom *g, const float *restrict x, float *restrict buf, int64_t ph,
                      int64_t pw)
{
    const int64_t ih = g->in[1], iw = g->in[2], top = g->pad[1], left = g->pad[2];
    /* columns [lo, hi) of a padded row come from the input row */
    int64_t lo = left < pw ? left : pw, hi = left + iw < pw ? left + iw : pw;
    for (int64_t r = 0; r < ph; r++, buf += pw) {
        int64_t iy = r - top;
        if (iy < 0 || iy >= ih || hi <= lo) {
            memset(buf, 0, (size_t)pw * sizeof *buf);
            continue;
        }
        memset(buf, 0, (size_t)lo * sizeof *buf);
        memcpy(buf + lo, x + iy * iw + (lo - left), (size_t)(hi - lo) * sizeof *buf);
        memset(buf + hi, 0, (size_t)(pw - hi) * sizeof *buf);
    }
}

/* One output row; K and S are constants where this is inlined. */
static inline __attribute__((always_inline)) void dw_row(float *restrict out, const float *restrict r,
                                                         int64_t pw, const float *restrict w, int K, int S,
                                                         int64_t ow, float bias)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        float s = bias;
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++)
                s += w[kh * K + kw] * r[kh * pw + ox * S + kw];
        out[ox] = s;
    }
}

#define DW_PLANE(NAME, K, S)                                                                              \
    KL_HOT static void NAME(const float *restrict buf, int64_t pw, const float *restrict w, float bias,  \
                            float *restrict y, int64_t oh, int64_t ow)                                    \
    {                                                                                                     \
        for (int64_t oy = 0; oy < oh; oy++)                                                               \
            dw_row(y + oy * ow, buf + oy * (S) * pw, pw, w, K, S, ow, bias);                              \
    }
DW_PLANE(dw_3x3s1, 3, 1)
DW_PLANE(dw_3x3s2, 3, 2)
DW_PLANE(dw_5x5s1, 5, 1)
DW_PLANE(dw_5x5s2, 5, 2)

/* Any kernel size, stride and dilation. */
static void dw_generic(const kl_conv_geom *g, const float *restrict buf, int64_t pw, const float *restrict w,
                       float bias, float *restrict y)
{
    const int64_t oh = g->out[1], ow = g->out[2], kh = g->k[1], kw = g->k[2];
    const int64_t sh = g->stride[1], sw = g->stride[2], dh = g->dil[1], dw = g->dil[2];
    for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++) {
            float s = bias;
            for (int64_t a = 0; a < kh; a++)
                for (int64_t b = 0; b < kw; b++)
                    s += w[a * kw + b] * buf[(oy * sh + a * dh) * pw + ox * sw + b * dw];
            y[oy * ow + ox] = s;
        }
}

typedef void (*dw_plane_fn)(const float *, int64_t, const float *, float, float *, int64_t, int64_t);

static dw_plane_fn fast_kernel(const kl_conv_geom *g)
{
    if (g->k[1] != g->k[2] || g->stride[1] != g->stride[2] || g->dil[1] != 1 || g->dil[2] != 1)
        return NULL;
    int k = (int)g->k[1], s = (int)g->stride[1];
    if (k == 3)
        return s == 1 ? dw_3x3s1 : s == 2 ? dw_3x3s2 : NULL;
    if (k == 5)
        return s == 1 ? dw_5x5s1 : s == 2 ? dw_5x5s2 : NULL;
    return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DW_AVX2 1

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
#endif

typedef void (*dw8_plane_fn)(const float *, const float *, int64_t, const float *, float, float *, int64_t, int64_t);

/* The AVX2 kernel for this shape on this CPU, or NULL. */
static dw8_plane_fn avx2_kernel(const kl_conv_geom *g)
{
#ifdef DW_AVX2
    if (!fast_kernel(g) || !kl_pw_usable(g->isa))
        return NULL;
    int k = (int)g->k[1], s = (int)g->stride[1];
    if (k == 3)
        return s == 1 ? dw8_3x3s1 : dw8_3x3s2;
    return s == 1 ? dw8_5x5s1 : dw8_5x5s2;
#else
    (void)g;
    return NULL;
#endif
}

/* Columns [c0, c1) of a padded row (row[c] its value) into its even
 * columns e[c / 2] and odd columns o[c / 2]. */
static void split_row(const float *restrict row, int64_t c0, int64_t c1, float *restrict e, float *restrict o)
{
    for (int64_t c = c0 + (c0 & 1); c < c1; c += 2)
        e[c >> 1] = row[c];
    for (int64_t c = c0 | 1; c < c1; c += 2)
        o[c >> 1] = row[c];
}

#ifdef DW_AVX2
/* split_row, 16 columns at a time from the first even column. */
__attribute__((target("avx2,fma"))) static void split_row_avx2(const float *row, int64_t c0, int64_t c1, float *e,
                                                                float *o)
{
    int64_t c = c0 + (c0 & 1);
    split_row(row, c0, c < c1 ? c : c1, e, o);
    for (; c + 16 <= c1; c += 16) {
        __m256 a = _mm256_loadu_ps(row + c), b = _mm256_loadu_ps(row + c + 8);
        __m256 ev = _mm256_shuffle_ps(a, b, 0x88), od = _mm256_shuffle_ps(a, b, 0xDD);
        /* [a0 a2 b0 b2 | a4 a6 b4 b6] -> [a0 a2 a4 a6 | b0 b2 b4 b6] */
        _mm256_storeu_ps(e + c / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8)));
        _mm256_storeu_ps(o + c / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xD8)));
    }
    if (c < c1)
        split_row(row, c, c1, e, o);
}
#endif

/* dst[i] = src[2 i] for i < n, reading src[0 .. 2 n - 1) only. */
#ifdef DW_AVX2
__attribute__((target("avx2,fma"))) static void take_even_avx2(float *dst, const float *src, int64_t n)
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
#endif

void kl_take_even(int isa, float *dst, const float *src, int64_t n)
{
#ifdef DW_AVX2
    if (kl_pw_usable(isa)) {
        take_even_avx2(dst, src, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        dst[i] = src[2 * i];
}

/* The input plane into the interior of the padded plane (ph x pw), whose
 * border the caller zeroed once: for stride 1 as it is, for stride 2
 * split into its even and odd columns, each ph x half with
 * half = (pw + 1) / 2, e then o in buf. */
static void fill_interior(const kl_conv_geom *g, const float *restrict x, float *restrict buf, int64_t ph, int64_t pw,
                          bool split)
{
    const int64_t ih = g->in[1], iw = g->in[2], top = g->pad[1], left = g->pad[2], half = (pw + 1) / 2;
    int64_t y0 = top, y1 = top + ih < ph ? top + ih : ph, x1 = left + iw < pw ? left + iw : pw;
    for (int64_t r = y0; r < y1; r++) {
        const float *restrict row = x + (r - top) * iw - left;
        if (!split) {
            float *restrict dst = buf + r * pw;
            for (int64_t c = left; c < x1; c++)
                dst[c] = row[c];
            continue;
        }
#ifdef DW_AVX2
        split_row_avx2(row, left, x1, buf + r * half, buf + (ph + r) * half);
#else
        split_row(row, left, x1, buf + r * half, buf + (ph + r) * half);
#endif
    }
}

#ifdef DW_AVX2
/* ---- channel-blocked kernel ----
 * On a 7x7 or 14x14 map a plane's rows are too short for the row kernel:
 * per-plane work (filling the padded plane, a masked last vector per row)
 * outweighed the taps.  Here L channels are interleaved, [pos][L] (8 for
 * AVX2, 16 for AVX-512), so every tap is one full-width FMA over L
 * channels and no lane is wasted (EfficientNet-B0's 5x5 on 14x14: 0.30 ->
 * 0.20 ms; on 28x28 0.32 -> 0.24 ms, with L = 8). */

/* Rows r[0..8) (8 floats each) transposed in place. */
__attribute__((target("avx2,fma"))) static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

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
        transpose8(r);
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
        transpose8(r);
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

#define DW8C(NAME, K, S)                                                                                  \
    __attribute__((target("avx2,fma"))) static void NAME(const float *pad, int64_t pw, const float *w8,  \
                                                         const float *b8, float *out, int64_t oh,         \
                                                         int64_t ow)                                      \
    {                                                                                                     \
        __m256 vb = _mm256_loadu_ps(b8);                                                                  \
        for (int64_t oy = 0; oy < oh; oy++)                                                               \
            dw8c_row(pad, pw, w8, vb, out, oy, ow, K, S);                                                 \
    }
DW8C(dw8c_3x3s1, 3, 1)
DW8C(dw8c_3x3s2, 3, 2)
DW8C(dw8c_5x5s1, 5, 1)
DW8C(dw8c_5x5s2, 5, 2)

/* dw8c_row on AVX-512: 16 interleaved channels, 8 positions at a time
 * (two FMA pipes of 4 cycles' latency want 8 chains in flight), then 4,
 * then one. */
#define DW16_STEP(P)                                                                                   \
    for (; ox + (P) <= ow; ox += (P)) {                                                               \
        __m512 a[P];                                                                                  \
        _Pragma("GCC unroll 8") for (int i = 0; i < (P); i++) a[i] = vb;                              \
        for (int kh = 0; kh < K; kh++) {                                                              \
            const float *r = pad + ((oy * S + kh) * pw + ox * S) * 16;                               \
            for (int kw = 0; kw < K; kw++) {                                                          \
                __m512 wv = _mm512_loadu_ps(w16 + (kh * K + kw) * 16);                                \
                _Pragma("GCC unroll 8") for (int i = 0; i < (P); i++)                                 \
                    a[i] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(r + (kw + i * S) * 16), a[i]);         \
            }                                                                                         \
        }                                                                                             \
        _Pragma("GCC unroll 8") for (int i = 0; i < (P); i++)                                         \
            _mm512_storeu_ps(out + (oy * ow + ox + i) * 16, a[i]);                                    \
    }
static inline __attribute__((always_inline, target("avx512f"))) void
dw16c_row(const float *pad, int64_t pw, const float *w16, __m512 vb, float *out, int64_t oy, int64_t ow, int K,
          int S)
{
    int64_t ox = 0;
    DW16_STEP(8)
    DW16_STEP(4)
    DW16_STEP(1)
}
#undef DW16_STEP

#define DW16C(NAME, K, S)                                                                                 \
    __attribute__((target("avx512f"))) static void NAME(const float *pad, int64_t pw, const float *w16,  \
                                                        const float *b16, float *out, int64_t oh,         \
                                                        int64_t ow)                                       \
    {                                                                                                     \
        __m512 vb = _mm512_loadu_ps(b16);                                                                 \
        for (int64_t oy = 0; oy < oh; oy++)                                                               \
            dw16c_row(pad, pw, w16, vb, out, oy, ow, K, S);                                               \
    }
DW16C(dw16c_3x3s1, 3, 1)
DW16C(dw16c_3x3s2, 3, 2)
DW16C(dw16c_5x5s1, 5, 1)
DW16C(dw16c_5x5s2, 5, 2)

typedef void (*dwc_fn)(const float *, int64_t, const float *, const float *, float *, int64_t, int64_t);

/* The channel-blocked kernel for this convolution and its lanes (*lanes),
 * or NULL: maps of at most 56x56 out (beyond, its buffers outgrow L2 and
 * the row kernel measured as fast) of 3x3/5x5 stride 1/2 with channels in
 * groups of 16 (AVX-512) or 8. */
static dwc_fn blocked_kernel(const kl_conv_geom *g, int *lanes)
{
    *lanes = kl_pw_avx512(g->isa) && g->c % 16 == 0 ? 16 : 8;
    if (!fast_kernel(g) || !kl_pw_usable(g->isa) || g->c % *lanes != 0 || g->out_size > 3136)
        return NULL;
    int k = (int)g->k[1], s = (int)g->stride[1];
    if (*lanes == 16)
        return k == 3 ? (s == 1 ? dw16c_3x3s1 : dw16c_3x3s2) : (s == 1 ? dw16c_5x5s1 : dw16c_5x5s2);
    return k == 3 ? (s == 1 ? dw8c_3x3s1 : dw8c_3x3s2) : (s == 1 ? dw8c_5x5s1 : dw8c_5x5s2);
}

/* Zeroes the part of L interleaved padded planes (ph x pw) that the
 * input does not cover: rows above and below it, columns left and right
 * of it.  Only this part: a job runs in several ranges per thread, and
 * zeroing the whole plane each time cost more than the taps on 56x56. */
static void zero_border(const kl_conv_geom *g, float *pad, int64_t ph, int64_t pw, int L)
{
    const int64_t top = g->pad[1], left = g->pad[2];
    int64_t y1 = top + g->in[1] < ph ? top + g->in[1] : ph, x1 = left + g->in[2] < pw ? left + g->in[2] : pw;
    int64_t y0 = top < ph ? top : ph, x0 = left < pw ? left : pw;
    memset(pad, 0, (size_t)(L * y0 * pw) * sizeof *pad);
    memset(pad + L * y1 * pw, 0, (size_t)(L * (ph - y1) * pw) * sizeof *pad);
    for (int64_t r = y0; r < y1; r++) {
        memset(pad + L * r * pw, 0, (size_t)(L * x0) * sizeof *pad);
        memset(pad + L * (r * pw + x1), 0, (size_t)(L * (pw - x1)) * sizeof *pad);
    }
}

/* Planes [p, p + L) of the job (one group of L channels of one image). */
static void dwc_group(const kl_conv_geom *g, dwc_fn fn, int L, const float *x, const float *w, const float *bias,
                      float *y, int64_t ch0, float *buf)
{
    int64_t ph, pw;
    blocked_dims(g, &ph, &pw);
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
    fn(pad, pw, wl, bl, out, g->out[1], g->out[2]);
    for (int c8 = 0; c8 < L; c8 += 8)
        deinterleave8(out + c8, g->out_size, y + c8 * g->out_size, g->out_size, L);
}
#endif

typedef struct dw_job {
    kl_opctx *c;
    const kl_conv_geom *g;
    const float *x, *w, *bias;
    float *y;
    int64_t planes;
} dw_job;

static void dw_planes(void *arg, int64_t lo, int64_t hi)
{
    const dw_job *j = arg;
    const kl_conv_geom *g = j->g;
    int64_t ph, pw;
    padded_dims(g, &ph, &pw);
    float *buf = (float *)j->c->scratch + (size_t)kl_pool_slot(j->c->pool, j->planes, lo) * (size_t)thread_floats(g);
    float *rows = buf + ph * pw;
    const int64_t oh = g->out[1], ow = g->out[2], wide = wide_cols(g);
#ifdef DW_AVX2
    int lanes;
    dwc_fn blocked = blocked_kernel(g, &lanes);
    if (blocked) { /* items are groups of `lanes` channels */
        int64_t bph, bpw;
        blocked_dims(g, &bph, &bpw);
        float *cb = (float *)j->c->scratch +
                    (size_t)kl_pool_slot(j->c->pool, j->planes / lanes, lo) * (size_t)thread_floats(g);
        zero_border(g, cb, bph, bpw, lanes); /* the border, zero for every group */
        for (int64_t grp = lo; grp < hi; grp++) {
            int64_t p = grp * lanes;
            dwc_group(g, blocked, lanes, j->x + p * g->in_size, j->w, j->bias, j->y + p * g->out_size, p % g->c,
                      cb);
            kl_epilogue_apply(&j->c->epi, j->y + p * g->out_size, (size_t)(p * g->out_size),
                              (size_t)(lanes * g->out_size));
        }
        return;
    }
#endif
    dw_plane_fn fast = fast_kernel(g);
    dw8_plane_fn fast8 = avx2_kernel(g);
    const int64_t ksize = g->k[1] * g->k[2], half = (pw + 1) / 2;
    if (fast8) /* the border, zero for every plane */
        memset(buf, 0, (size_t)(ph * (pw + 1)) * sizeof *buf);
    for (int64_t p = lo; p < hi; p++) {
        int64_t ch = p % g->c;
        float *y = j->y + p * g->out_size;
        float bias = j->bias ? j->bias[ch] : 0.0f;
        if (fast8) {
            bool split = g->stride[1] == 2;
            fill_interior(g, j->x + p * g->in_size, buf, ph, pw, split);
            fast8(buf, buf + ph * half, split ? half : pw, j->w + ch * ksize, bias, y, oh, ow);
            kl_epilogue_apply(&j->c->epi, y, (size_t)(p * g->out_size), (size_t)g->out_size);
            continue;
        }
        pad_plane(g, j->x + p * g->in_size, buf, ph, pw);
        if (fast && wide == ow)
            fast(buf, pw, j->w + ch * ksize, bias, y, oh, ow);
        else if (fast) {
            fast(buf, pw, j->w + ch * ksize, bias, rows, oh, wide);
            for (int64_t r = 0; r < oh; r++)
                memcpy(y + r * ow, rows + r * wide, (size_t)ow * sizeof *y);
        } else
            dw_generic(g, buf, pw, j->w + ch * ksize, bias, y);
        kl_epilogue_apply(&j->c->epi, y, (size_t)(p * g->out_size), (size_t)g->out_size);
    }
}

void kl_dw_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *w, const float *bias, float *y)
{
    dw_job j = {c, g, x, w, bias, y, g->n * g->c};
    int64_t items = j.planes;
#ifdef DW_AVX2
    int lanes;
    if (blocked_kernel(g, &lanes))
        items = j.planes / lanes; /* groups of `lanes` channels */
#endif
    kl_parallel_for(kl_conv_pool(c, j.planes * g->out_size * g->k_size), items, dw_planes, &j);
}
