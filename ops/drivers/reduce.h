/* ops/drivers/reduce.h -- the shared driver of the Reduce* operators and of
 * ArgMax/ArgMin.
 *
 * Reduce*: the axes come from attribute `axes` before the opset where they
 * became input 1 (13 for ReduceSum, 18 for the others); from then on
 * noop_with_empty_axes=1 makes empty axes mean "reduce nothing".  Empty or
 * absent axes reduce every dim.  keepdims (default 1) keeps the reduced
 * dims with size 1.  Types: float, double, int8, uint8, int32, int64
 * (ReduceLogSum and ReduceLogSumExp: float and double); integer sums and
 * products wrap.  The reduction of no elements is the operation's
 * identity (0 for sums, 1 for products, the lowest/highest value for
 * max/min; NaN for the mean, -inf for the logarithms).
 *
 * ArgMax/ArgMin: the int64 index of the first (select_last_index=1: last)
 * extreme along `axis` (default 0), keepdims default 1. */
#ifndef KL_REDUCE_COMMON_H
#define KL_REDUCE_COMMON_H

#include "../op.h"

typedef enum kl_reduce_kind {
    KL_REDUCE_SUM,
    KL_REDUCE_MEAN,
    KL_REDUCE_MAX,
    KL_REDUCE_MIN,
    KL_REDUCE_PROD,
    KL_REDUCE_L1,
    KL_REDUCE_L2,
    KL_REDUCE_LOGSUM,
    KL_REDUCE_LOGSUMEXP,
    KL_REDUCE_SUMSQUARE
} kl_reduce_kind;

/* axes_input_since: the first opset that takes the axes as input 1. */
keel_status kl_reduce_infer(kl_opctx *c, kl_reduce_kind kind, int axes_input_since);
keel_status kl_reduce_run(kl_opctx *c, kl_reduce_kind kind, int axes_input_since);
size_t kl_reduce_scratch(kl_opctx *c, kl_reduce_kind kind);

/* Defines the descriptors of Reduce op TYPE computing KIND (attribute
 * axes before opset AXES_SINCE, input axes from it) and kl_opfile_OP. */
#define KL_REDUCE_OPFILE(OP, TYPE, KIND, AXES_SINCE)                                            \
    static keel_status OP##_infer(kl_opctx *c)                                                 \
    {                                                                                          \
        return kl_reduce_infer(c, KIND, AXES_SINCE);                                           \
    }                                                                                          \
    static keel_status OP##_run(kl_opctx *c)                                                   \
    {                                                                                          \
        return kl_reduce_run(c, KIND, AXES_SINCE);                                             \
    }                                                                                          \
    static size_t OP##_scratch(kl_opctx *c)                                                    \
    {                                                                                          \
        return kl_reduce_scratch(c, KIND);                                                     \
    }                                                                                          \
    static const kl_op OP##_attr = {.type = TYPE, .since = 1, .until = (AXES_SINCE) - 1,       \
                                    .min_inputs = 1, .max_inputs = 1, .infer = OP##_infer,     \
                                    .run = OP##_run, .scratch = OP##_scratch};                 \
    static const kl_op OP##_input = {.type = TYPE, .since = AXES_SINCE, .min_inputs = 1,       \
                                     .max_inputs = 2, .infer = OP##_infer, .run = OP##_run,    \
                                     .scratch = OP##_scratch};                                 \
    const kl_op *const kl_opfile_##OP[] = {&OP##_attr, &OP##_input, NULL};

keel_status kl_argreduce_infer(kl_opctx *c);
keel_status kl_argreduce_run(kl_opctx *c, bool is_max);

/* ArgMax/ArgMin: opsets 1-10, 11 (negative axis), 12+ (select_last_index). */
#define KL_ARGREDUCE_OPFILE(OP, TYPE, IS_MAX)                                                   \
    static keel_status OP##_run(kl_opctx *c)                                                   \
    {                                                                                          \
        return kl_argreduce_run(c, IS_MAX);                                                    \
    }                                                                                          \
    static const kl_op OP##_v1 = {.type = TYPE, .since = 1, .until = 11, .min_inputs = 1,      \
                                  .max_inputs = 1, .infer = kl_argreduce_infer,                \
                                  .run = OP##_run};                                            \
    static const kl_op OP##_v12 = {.type = TYPE, .since = 12, .min_inputs = 1,                 \
                                   .max_inputs = 1, .infer = kl_argreduce_infer,               \
                                   .run = OP##_run};                                           \
    const kl_op *const kl_opfile_##OP[] = {&OP##_v1, &OP##_v12, NULL};

/* The identities of the reductions by element type T. */
#define KL_LOWEST(T) _Generic((T)0, float: -INFINITY, double: -INFINITY, int8_t: INT8_MIN, \
                           uint8_t: 0, int32_t: INT32_MIN, int64_t: INT64_MIN)
#define KL_HIGHEST(T) _Generic((T)0, float: INFINITY, double: INFINITY, int8_t: INT8_MAX, \
                            uint8_t: UINT8_MAX, int32_t: INT32_MAX, int64_t: INT64_MAX)
#define KL_ZERO(T) 0
#define KL_ONE(T) 1

#endif
