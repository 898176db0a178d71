/* pw_avx2.c -- the AVX2/FMA register tiles of ops/pointwise.c's product.
 *
 * A tile is 6 rows x 16 columns: 12 of the 16 ymm registers accumulate,
 * two hold a step's 16 values of X and one the broadcast W value.  A last
 * chunk of 8 columns or fewer (the 49th column of a 7x7 map) takes the
 * 8-column body at half the cost; a partial chunk reads and writes
 * through lane masks, so that nothing past the row is touched.  The
 * driver (ops/pointwise.c) hands the tile one step of k at a time. */
#include "conv_kernels.h"

#define MR 6

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define YT_ATTR __attribute__((target("avx2,fma"), always_inline)) static inline

/* Lanes [0, n) of 8 set (n may be negative or over 8). */
YT_ATTR __m256i lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The tile's body for `wide` (16 columns, else 8) and `masked` (a partial
 * chunk), both constants where it is inlined. */
YT_ATTR void ytile_body(const kl_pw_tile *t, const int wide, const int masked)
{
    const int rows = t->rows;
    const __m256i m0 = lane_mask(t->cols), m1 = lane_mask(t->cols - 8);
    const float *a = t->a, *b = t->b, *pf = t->pf;
    const int64_t ldb = t->ldb, ldc = t->ldc;
    float *c = t->c;
#define Y_LOAD(p, m) (masked ? _mm256_maskload_ps((p), (m)) : _mm256_loadu_ps(p))
#define Y_INIT(r)                                                    \
    __m256 x##r, y##r = _mm256_setzero_ps();                         \
    if (t->acc && (r) < rows) {                                      \
        x##r = Y_LOAD(c + (r) * ldc, m0);                            \
        if (wide)                                                    \
            y##r = Y_LOAD(c + (r) * ldc + 8, m1);                    \
    } else                                                           \
        x##r = y##r = _mm256_set1_ps(t->bias[r]);
    Y_INIT(0) Y_INIT(1) Y_INIT(2) Y_INIT(3) Y_INIT(4) Y_INIT(5)
#undef Y_INIT
#define Y_FMA(r)                                             \
    do {                                                     \
        __m256 w = _mm256_broadcast_ss(a + (r));             \
        x##r = _mm256_fmadd_ps(w, b0, x##r);                 \
        if (wide)                                            \
            y##r = _mm256_fmadd_ps(w, b1, y##r);             \
    } while (0)
    for (int64_t k = 0; k < t->kc; k++) {
        __m256 b0 = Y_LOAD(b, m0), b1 = wide ? Y_LOAD(b + 8, m1) : b0;
        _mm_prefetch((const char *)(b + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)pf, _MM_HINT_T0);
        Y_FMA(0); Y_FMA(1); Y_FMA(2); Y_FMA(3); Y_FMA(4); Y_FMA(5);
        a += MR, pf += MR, b += ldb;
    }
#undef Y_FMA
    const __m256 lo = _mm256_set1_ps(t->lo), hi = _mm256_set1_ps(t->hi);
    const float *res = t->res;
    const bool finish = t->finish;
    /* max/min with the bound first: a NaN sum stays NaN, as in
     * kl_epilogue_apply */
#define Y_STORE_ONE(p, v, m)                  \
    do {                                      \
        if (masked)                           \
            _mm256_maskstore_ps((p), (m), v); \
        else                                  \
            _mm256_storeu_ps((p), v);         \
    } while (0)
#define Y_STORE(r)                                                               \
    if ((r) < rows) {                                                            \
        if (finish && res) {                                                     \
            x##r = _mm256_add_ps(x##r, Y_LOAD(res + (r) * ldc, m0));             \
            if (wide)                                                            \
                y##r = _mm256_add_ps(y##r, Y_LOAD(res + (r) * ldc + 8, m1));     \
        }                                                                        \
        if (finish) {                                                            \
            x##r = _mm256_min_ps(hi, _mm256_max_ps(lo, x##r));                   \
            y##r = _mm256_min_ps(hi, _mm256_max_ps(lo, y##r));                   \
        }                                                                        \
        Y_STORE_ONE(c + (r) * ldc, x##r, m0);                                    \
        if (wide)                                                                \
            Y_STORE_ONE(c + (r) * ldc + 8, y##r, m1);                            \
    }
    Y_STORE(0) Y_STORE(1) Y_STORE(2) Y_STORE(3) Y_STORE(4) Y_STORE(5)
#undef Y_STORE
#undef Y_STORE_ONE
#undef Y_LOAD
}

__attribute__((target("avx2,fma"))) static void ytile_16(const kl_pw_tile *t)
{
    ytile_body(t, 1, 0);
}

__attribute__((target("avx2,fma"))) static void ytile_16_masked(const kl_pw_tile *t)
{
    ytile_body(t, 1, 1);
}

__attribute__((target("avx2,fma"))) static void ytile_8(const kl_pw_tile *t)
{
    ytile_body(t, 0, 0);
}

__attribute__((target("avx2,fma"))) static void ytile_8_masked(const kl_pw_tile *t)
{
    ytile_body(t, 0, 1);
}

static void ytile(const kl_pw_tile *t)
{
    if (t->cols > 8)
        (t->cols == 16 ? ytile_16 : ytile_16_masked)(t);
    else
        (t->cols == 8 ? ytile_8 : ytile_8_masked)(t);
}
#else

/* Portable C, for builds without the intrinsics (kl_pw_usable keeps
 * sessions off it there; it is here so that the driver links). */
static void ytile(const kl_pw_tile *t)
{
    for (int r = 0; r < t->rows; r++)
        for (int j = 0; j < t->cols; j++) {
            float s = t->acc ? t->c[r * t->ldc + j] : t->bias[r];
            for (int64_t k = 0; k < t->kc; k++)
                s += t->a[k * MR + r] * t->b[k * t->ldb + j];
            if (t->finish) {
                if (t->res)
                    s += t->res[r * t->ldc + j];
                s = s < t->lo ? t->lo : s > t->hi ? t->hi : s; /* NaN stays */
            }
            t->c[r * t->ldc + j] = s;
        }
}
#endif

/* Zen 3's L2 is 512 KiB: a block's step of X and its rows of Y in half. */
const kl_pw_tiles kl_pw_tiles_avx2 = {MR, 16, 256u << 10, ytile};
