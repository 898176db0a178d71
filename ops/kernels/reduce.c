/* reduce.c -- the loops of the Reduce* operators (ops/drivers/reduce.c),
 * one per reduction and element type, picked by the kernel table's
 * reduce.  Portable loops that the compiler vectorizes;
 * ops/kernels/x86/reduce_avx2.c builds them again for AVX2. */
#include <math.h>
#include <stdint.h>

#include "../drivers/reduce.h"
#include "kernels.h"
#include "mathfn.h"

/* run: for each of `runs` neighbouring runs r of n elements,
 * y[r] = comb(y[r], map(x[r*n]), ..., map(x[r*n + n-1])); otherwise (runs
 * is 1) y[i] = comb(y[i], map(x[i])).  shift (aligned with y) is read by
 * the exp map only. */
typedef klk_reduce_loop red_fn;

#define MAP_ID(T, U, v) (v)
#define MAP_ABS(T, U, v) ((v) < 0 ? (T)((U)0 - (U)(v)) : (v))
#define MAP_SQUARE(T, U, v) ((T)((U)(v) * (U)(v)))
#define COMB_ADD(T, U, a, b) ((T)((U)(a) + (U)(b)))
#define COMB_MUL(T, U, a, b) ((T)((U)(a) * (U)(b)))
#define COMB_MAX(T, U, a, b) ((b) > (a) ? (b) : (a))
#define COMB_MIN(T, U, a, b) ((b) < (a) ? (b) : (a))

/* Eight independent accumulators over a run, so float sums vectorize. */
#define RED_FN(NAME, T, U, MAP, COMB, IDENT)                                       \
    static void NAME(void *yv, const void *xv, int64_t n, bool run,        \
                            int64_t runs, const void *shift)                      \
    {                                                                             \
        (void)shift;                                                              \
        T *restrict y = yv;                                                       \
        const T *restrict x = xv;                                                 \
        if (!run) {                                                               \
            for (int64_t i = 0; i < n; i++)                                       \
                y[i] = COMB(T, U, y[i], MAP(T, U, x[i]));                         \
            return;                                                               \
        }                                                                         \
        for (int64_t k = 0; k < runs; k++, x += n) {                              \
            T acc[8];                                                             \
            for (int j = 0; j < 8; j++)                                           \
                acc[j] = (T)(IDENT);                                              \
            int64_t i = 0;                                                        \
            for (; i + 8 <= n; i += 8)                                            \
                for (int j = 0; j < 8; j++)                                       \
                    acc[j] = COMB(T, U, acc[j], MAP(T, U, x[i + j]));             \
            T r = y[k];                                                           \
            for (; i < n; i++)                                                    \
                r = COMB(T, U, r, MAP(T, U, x[i]));                               \
            for (int j = 0; j < 8; j++)                                           \
                r = COMB(T, U, r, acc[j]);                                        \
            y[k] = r;                                                             \
        }                                                                         \
    }

typedef struct red_kernels {
    red_fn f32, f64, i8, u8, i32, i64;
} red_kernels;

#define RED_KERNELS(OP, MAP, COMB, IDENT)                                       \
    RED_FN(OP##_f32, float, float, MAP, COMB, IDENT(float))                     \
    RED_FN(OP##_f64, double, double, MAP, COMB, IDENT(double))                  \
    RED_FN(OP##_i8, int8_t, uint32_t, MAP, COMB, IDENT(int8_t))                 \
    RED_FN(OP##_u8, uint8_t, uint32_t, MAP, COMB, IDENT(uint8_t))               \
    RED_FN(OP##_i32, int32_t, uint32_t, MAP, COMB, IDENT(int32_t))              \
    RED_FN(OP##_i64, int64_t, uint64_t, MAP, COMB, IDENT(int64_t))              \
    static const red_kernels OP = {OP##_f32, OP##_f64, OP##_i8, OP##_u8, OP##_i32, OP##_i64};

RED_KERNELS(k_sum, MAP_ID, COMB_ADD, KL_ZERO)
RED_KERNELS(k_abs_sum, MAP_ABS, COMB_ADD, KL_ZERO)
RED_KERNELS(k_square_sum, MAP_SQUARE, COMB_ADD, KL_ZERO)
RED_KERNELS(k_prod, MAP_ID, COMB_MUL, KL_ONE)
RED_KERNELS(k_max, MAP_ID, COMB_MAX, KL_LOWEST)
RED_KERNELS(k_min, MAP_ID, COMB_MIN, KL_HIGHEST)

/* sum of exp(x - shift) */
#define EXP_SUM_FN(NAME, T, EXP)                                                  \
    static void NAME(void *yv, const void *xv, int64_t n, bool run,        \
                            int64_t runs, const void *shift)                      \
    {                                                                             \
        T *restrict y = yv;                                                       \
        const T *restrict x = xv, *restrict s = shift;                            \
        if (!run) {                                                               \
            for (int64_t i = 0; i < n; i++)                                       \
                y[i] += EXP(x[i] - s[i]);                                         \
            return;                                                               \
        }                                                                         \
        for (int64_t k = 0; k < runs; k++, x += n) {                              \
            T acc = 0;                                                            \
            for (int64_t i = 0; i < n; i++)                                       \
                acc += EXP(x[i] - s[k]);                                          \
            y[k] += acc;                                                          \
        }                                                                         \
    }
EXP_SUM_FN(k_exp_sum_f32, float, kl_expf)
EXP_SUM_FN(k_exp_sum_f64, double, exp)
static const red_kernels k_exp_sum = {k_exp_sum_f32, k_exp_sum_f64, NULL, NULL, NULL, NULL};

static red_fn pick(const red_kernels *k, int dtype)
{
    switch (dtype) {
    case KEEL_FLOAT: return k->f32;
    case KEEL_DOUBLE: return k->f64;
    case KEEL_INT8: return k->i8;
    case KEEL_UINT8: return k->u8;
    case KEEL_INT32: return k->i32;
    default: return k->i64;
    }
}

static const red_kernels *kernels_of(int kind)
{
    switch (kind) {
    case KL_REDUCE_MAX: return &k_max;
    case KL_REDUCE_MIN: return &k_min;
    case KL_REDUCE_PROD: return &k_prod;
    case KL_REDUCE_L1: return &k_abs_sum;
    case KL_REDUCE_L2: case KL_REDUCE_SUMSQUARE: return &k_square_sum;
    case KL_REDUCE_LOGSUMEXP: return &k_exp_sum;
    default: return &k_sum;
    }
}

/* The loop for kind (kl_reduce_kind) on dtype. */
klk_reduce_loop KL_KFN(reduce)(int kind, int dtype)
{
    return pick(kernels_of(kind), dtype);
}
