/* depthwise_avx512.c -- ops/kernels/depthwise.c's channel-blocked kernel
 * on AVX-512: 16 channels interleaved (dw_group16). */
#include "depthwise.h"

/* depthwise_avx2.c's dw8c_row on AVX-512: 16 interleaved channels, 8 positions at a time
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

/* A plane for kernel size K and stride S: constants in the functions
 * DW16C defines, the arguments in dw16c_any. */
static inline __attribute__((always_inline, target("avx512f"))) void
dw16c_plane(const float *pad, int64_t pw, const float *w16, const float *b16, float *out, int64_t oh, int64_t ow,
            int K, int S)
{
    __m512 vb = _mm512_loadu_ps(b16);
    for (int64_t oy = 0; oy < oh; oy++)
        dw16c_row(pad, pw, w16, vb, out, oy, ow, K, S);
}

#define DW16C(NAME, K, S)                                                                                   \
    __attribute__((target("avx512f"))) static void NAME(const float *pad, int64_t pw, const float *w16,    \
                                                        const float *b16, float *out, int64_t oh,           \
                                                        int64_t ow, int k, int s)                           \
    {                                                                                                       \
        (void)k, (void)s;                                                                                   \
        dw16c_plane(pad, pw, w16, b16, out, oh, ow, K, S);                                                  \
    }
DW16C(dw16c_3x3s1, 3, 1)
DW16C(dw16c_3x3s2, 3, 2)
DW16C(dw16c_5x5s1, 5, 1)
DW16C(dw16c_5x5s2, 5, 2)
DW16C(dw16c_7x7s1, 7, 1)
DW16C(dw16c_7x7s2, 7, 2)

__attribute__((target("avx512f"))) static void dw16c_any(const float *pad, int64_t pw, const float *w16,
                                                         const float *b16, float *out, int64_t oh, int64_t ow, int k,
                                                         int s)
{
    dw16c_plane(pad, pw, w16, b16, out, oh, ow, k, s);
}

static kl_dw_lanes_fn lanes16_for(int k, int s)
{
    static const kl_dw_lanes_fn built[3][2] = {{dw16c_3x3s1, dw16c_3x3s2},
                                               {dw16c_5x5s1, dw16c_5x5s2},
                                               {dw16c_7x7s1, dw16c_7x7s2}};
    return (k == 3 || k == 5 || k == 7) && (s == 1 || s == 2) ? built[(k - 3) / 2][s - 1] : dw16c_any;
}

void klk_dw_group16_avx512(const kl_conv_geom *g, const float *x, const float *w, const float *bias, float *y,
                           int64_t ch0, float *buf)
{
    kl_dw_group_lanes(g, lanes16_for((int)g->k[1], (int)g->stride[1]), 16, x, w, bias, y, ch0, buf);
}
