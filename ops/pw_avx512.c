/* pw_avx512.c -- the AVX-512 register tiles of ops/pointwise.c's
 * product, chosen at run time where the CPU has it (kl_pw_avx512 of the
 * session's isa).
 *
 * A tile is 12 rows x 32 columns: 24 of the 32 zmm registers accumulate,
 * and each FMA takes its W value as a broadcast.  Where they differ from
 * the AVX2 tiles (ops/pw_avx2.c):
 *   - the last chunk of a row reads and writes through mask registers;
 *   - the next chunk of X is prefetched row by row (X's rows are far
 *     apart, and the hardware prefetcher does not follow several hundred
 *     of them), and so is W's stream (see kl_pw_tile.pf). */
#include "conv_kernels.h"

#define MR 12      /* rows of a packed panel of W */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static __mmask16 lane_mask(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

#define ZT_ATTR __attribute__((target("avx512f"), always_inline)) static inline

/* The tile's body for `pair` (12 rows, else the first 6) and `wide` (32 columns,
 * else 16), both constants where it is inlined, so the unused
 * accumulators vanish.  masked: loads of X through m0/m1 (a partial
 * chunk); full chunks load without masks, which kept gcc from reloading
 * the mask registers at every step. */
ZT_ATTR void ztile_body(const kl_pw_tile *t, const int pair, const int wide)
{
    const int rows = t->rows;
    const __mmask16 m0 = lane_mask(t->cols), m1 = lane_mask(t->cols - 16);
    const float *a = t->a, *b = t->b, *pf = t->pf;
    const int64_t ldb = t->ldb, ldc = t->ldc;
    float *c = t->c;
#define Z_INIT(r)                                                                    \
    __m512 x##r = _mm512_setzero_ps(), y##r = _mm512_setzero_ps();                   \
    if ((r) < 6 || pair) {                                                           \
        if (t->acc && (r) < rows) {                                                  \
            x##r = _mm512_maskz_loadu_ps(m0, c + (r) * ldc);                         \
            if (wide)                                                                \
                y##r = _mm512_maskz_loadu_ps(m1, c + (r) * ldc + 16);                \
        } else                                                                       \
            x##r = y##r = _mm512_set1_ps(t->bias[r]);                                \
    }
    Z_INIT(0) Z_INIT(1) Z_INIT(2) Z_INIT(3) Z_INIT(4) Z_INIT(5)
    Z_INIT(6) Z_INIT(7) Z_INIT(8) Z_INIT(9) Z_INIT(10) Z_INIT(11)
#undef Z_INIT
#define Z_FMA(r, a, i)                                       \
    do {                                                     \
        __m512 w = _mm512_set1_ps((a)[i]);                   \
        x##r = _mm512_fmadd_ps(w, b0, x##r);                 \
        if (wide)                                            \
            y##r = _mm512_fmadd_ps(w, b1, y##r);             \
    } while (0)
#define Z_STEP                                                                                          \
    do {                                                                                                \
        _mm_prefetch((const char *)(b + 32), _MM_HINT_T0);                                              \
        _mm_prefetch((const char *)pf, _MM_HINT_T0);                                                    \
        if (wide)                                                                                       \
            _mm_prefetch((const char *)(b + 48), _MM_HINT_T0);                                          \
        Z_FMA(0, a, 0); Z_FMA(1, a, 1); Z_FMA(2, a, 2); Z_FMA(3, a, 3); Z_FMA(4, a, 4); Z_FMA(5, a, 5); \
        if (pair) {                                                                                     \
            Z_FMA(6, a, 6); Z_FMA(7, a, 7); Z_FMA(8, a, 8);                                             \
            Z_FMA(9, a, 9); Z_FMA(10, a, 10); Z_FMA(11, a, 11);                                         \
        }                                                                                               \
        a += MR, pf += MR, b += ldb;                                                                    \
    } while (0)
    if (m0 == 0xffff && (!wide || m1 == 0xffff))
        for (int64_t k = 0; k < t->kc; k++) {
            __m512 b0 = _mm512_loadu_ps(b), b1 = wide ? _mm512_loadu_ps(b + 16) : b0;
            Z_STEP;
        }
    else
        for (int64_t k = 0; k < t->kc; k++) {
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = wide ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
            Z_STEP;
        }
#undef Z_FMA
#undef Z_STEP
    const __m512 lo = _mm512_set1_ps(t->lo), hi = _mm512_set1_ps(t->hi);
    const float *res = t->res;
    const bool finish = t->finish;
    /* max/min with the bound first: a NaN sum stays NaN, as in
     * kl_epilogue_apply */
#define Z_STORE(r)                                                                            \
    if (((r) < 6 || pair) && (r) < rows) {                                                    \
        if (finish && res) {                                                                  \
            x##r = _mm512_add_ps(x##r, _mm512_maskz_loadu_ps(m0, res + (r) * ldc));           \
            if (wide)                                                                         \
                y##r = _mm512_add_ps(y##r, _mm512_maskz_loadu_ps(m1, res + (r) * ldc + 16));  \
        }                                                                                     \
        if (finish) {                                                                         \
            x##r = _mm512_min_ps(hi, _mm512_max_ps(lo, x##r));                                \
            y##r = _mm512_min_ps(hi, _mm512_max_ps(lo, y##r));                                \
        }                                                                                     \
        _mm512_mask_storeu_ps(c + (r) * ldc, m0, x##r);                                       \
        if (wide)                                                                             \
            _mm512_mask_storeu_ps(c + (r) * ldc + 16, m1, y##r);                              \
    }
    Z_STORE(0) Z_STORE(1) Z_STORE(2) Z_STORE(3) Z_STORE(4) Z_STORE(5)
    Z_STORE(6) Z_STORE(7) Z_STORE(8) Z_STORE(9) Z_STORE(10) Z_STORE(11)
#undef Z_STORE
}

__attribute__((target("avx512f"))) static void ztile_12x32(const kl_pw_tile *t)
{
    ztile_body(t, 1, 1);
}

__attribute__((target("avx512f"))) static void ztile_6x32(const kl_pw_tile *t)
{
    ztile_body(t, 0, 1);
}

__attribute__((target("avx512f"))) static void ztile_12x16(const kl_pw_tile *t)
{
    ztile_body(t, 1, 0);
}

__attribute__((target("avx512f"))) static void ztile_6x16(const kl_pw_tile *t)
{
    ztile_body(t, 0, 0);
}

static void ztile(const kl_pw_tile *t)
{
    const bool pair = t->rows > 6;
    (t->cols > 16 ? (pair ? ztile_12x32 : ztile_6x32) : (pair ? ztile_12x16 : ztile_6x16))(t);
}

const kl_pw_tiles kl_pw_tiles_avx512 = {MR, 32, 768u << 10, ztile};
#else

/* No intrinsics: no tiles (ops/pointwise.c takes the AVX2 file's
 * portable ones instead). */
const kl_pw_tiles kl_pw_tiles_avx512 = {MR, 32, 768u << 10, NULL};
#endif
