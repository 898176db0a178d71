/* eltwise.h -- shared machinery of the elementwise and data-movement
 * operators.
 *
 * Binary ops (Add, Sub, Mul, Div, ...): an op file defines one kernel per
 * element type with KL_BINARY_KERNELS and its descriptors with
 * KL_BINARY_OPFILE.  The driver broadcasts numpy-style: it collapses the
 * output shape into as few dimensions as possible, so same-shape inputs,
 * a scalar operand and per-channel operands ([N,C,H,W] op [1,C,1,1]) all
 * end in long inner loops where each operand is either a vector or one
 * repeated value.
 *
 * Unary ops (Relu, Sigmoid, ...): one kernel per element type over a
 * contiguous run of n elements (KL_UNARY_FN, KL_UNARY_FLOAT_KERNELS),
 * driven by kl_unary_infer/kl_unary_run.
 *
 * Data movement: a strided copy (Transpose, Slice), a fill (Pad,
 * ConstantOfShape) and the copy that view ops run when folded. */
#ifndef KL_ELTWISE_H
#define KL_ELTWISE_H

#include <string.h>

#include "../op.h"

/* ---- binary ops ----------------------------------------------------------- */

/* How the two operands of one inner loop advance. */
typedef enum kl_operands {
    KL_BOTH_VECTORS = 0,  /* out[i] = a[i] op b[i] */
    KL_A_SCALAR = 1,      /* out[i] = a[0] op b[i] */
    KL_B_SCALAR = 2       /* out[i] = a[i] op b[0] */
} kl_operands;

/* Computes n outputs.  `out` may equal a vector operand (in-place). */
typedef void (*kl_binary_fn)(void *out, const void *a, const void *b, int64_t n,
                             kl_operands mode);

/* One kernel per element type; a table ends with {0, NULL}. */
typedef struct kl_binary_kernel {
    int dtype;
    kl_binary_fn fn;
} kl_binary_kernel;

/* Checks input data before the kernels run (e.g. integer division by
 * zero); NULL when there is nothing to check. */
typedef keel_status (*kl_binary_check_fn)(kl_opctx *c);

/* infer/run of a binary op whose output has the inputs' dtype.  `legacy`
 * selects opsets 1-6 semantics: no implicit broadcasting; with attribute
 * broadcast=1, B is broadcast to A with its dims aligned at attribute
 * `axis` (default: trailing). */
keel_status kl_binary_infer(kl_opctx *c, const kl_binary_kernel *kernels, bool legacy);
keel_status kl_binary_run(kl_opctx *c, const kl_binary_kernel *kernels,
                          kl_binary_check_fn check, bool legacy);

/* kl_binary_infer with an output of type out_dtype (comparisons: bool);
 * 0 keeps the inputs' type.  The kernel is chosen by the inputs' type. */
keel_status kl_binary_infer_as(kl_opctx *c, const kl_binary_kernel *kernels, bool legacy, int out_dtype);

/* out = fn(a, b) with a and b broadcast numpy-style into out's shape
 * (already set; out may be a).  For the variadic ops. */
void kl_binary_into(kl_binary_fn fn, kl_tensor *out, const kl_tensor *a, const kl_tensor *b);
kl_binary_fn kl_binary_find(const kl_binary_kernel *kernels, int dtype);

/* Defines `static void NAME(...)`, a kl_binary_fn over elements of type T
 * writing elements of type O: EXPR(T, U, x, y), where U is an unsigned type
 * at least as wide as T, so integer kernels can wrap without signed
 * overflow. */
#define KL_BINARY_FN_TO(NAME, T, O, U, EXPR)                                               \
    static void NAME(void *out, const void *a, const void *b, int64_t n, kl_operands mode) \
    {                                                                                      \
        O *o = out;                                                                        \
        const T *va = a, *vb = b;                                                          \
        if (mode == KL_A_SCALAR) {                                                         \
            const T x = va[0];                                                             \
            for (int64_t i = 0; i < n; i++) {                                              \
                const T y = vb[i];                                                         \
                o[i] = EXPR(T, U, x, y);                                                   \
            }                                                                              \
        } else if (mode == KL_B_SCALAR) {                                                  \
            const T y = vb[0];                                                             \
            for (int64_t i = 0; i < n; i++) {                                              \
                const T x = va[i];                                                         \
                o[i] = EXPR(T, U, x, y);                                                   \
            }                                                                              \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                const T x = va[i], y = vb[i];                                              \
                o[i] = EXPR(T, U, x, y);                                                   \
            }                                                                              \
        }                                                                                  \
    }

/* The same with output type T. */
#define KL_BINARY_FN(NAME, T, U, EXPR) KL_BINARY_FN_TO(NAME, T, T, U, EXPR)

/* Defines comparison kernels OP_* writing bool (uint8_t) from every
 * numeric input type and bool, and the table OP_kernels. */
#define KL_COMPARE_KERNELS(OP, PRED)                                                      \
    KL_BINARY_FN_TO(OP##_f32, float, uint8_t, float, PRED)                                \
    KL_BINARY_FN_TO(OP##_f64, double, uint8_t, double, PRED)                              \
    KL_BINARY_FN_TO(OP##_i8, int8_t, uint8_t, uint8_t, PRED)                              \
    KL_BINARY_FN_TO(OP##_i16, int16_t, uint8_t, uint16_t, PRED)                           \
    KL_BINARY_FN_TO(OP##_i32, int32_t, uint8_t, uint32_t, PRED)                           \
    KL_BINARY_FN_TO(OP##_i64, int64_t, uint8_t, uint64_t, PRED)                           \
    KL_BINARY_FN_TO(OP##_u8, uint8_t, uint8_t, uint8_t, PRED)                             \
    KL_BINARY_FN_TO(OP##_u16, uint16_t, uint8_t, uint16_t, PRED)                          \
    KL_BINARY_FN_TO(OP##_u32, uint32_t, uint8_t, uint32_t, PRED)                          \
    KL_BINARY_FN_TO(OP##_u64, uint64_t, uint8_t, uint64_t, PRED)                          \
    static const kl_binary_kernel OP##_kernels[] = {                                      \
        {KEEL_FLOAT, OP##_f32},  {KEEL_DOUBLE, OP##_f64}, {KEEL_INT8, OP##_i8},           \
        {KEEL_INT16, OP##_i16},  {KEEL_INT32, OP##_i32},  {KEEL_INT64, OP##_i64},         \
        {KEEL_UINT8, OP##_u8},   {KEEL_UINT16, OP##_u16}, {KEEL_UINT32, OP##_u32},        \
        {KEEL_UINT64, OP##_u64}, {KEEL_BOOL, OP##_u8},    {0, NULL}};

/* Descriptors of a binary op whose output has type OUT_DTYPE (0: the
 * inputs' type): opsets 1-6 with legacy broadcasting, 7+ numpy
 * broadcasting; CHECK (or NULL) runs before the kernels. */
#define KL_BINARY_OPFILE_AS(OP, TYPE, CHECK, OUT_DTYPE, FLAGS)                            \
    static keel_status OP##_infer_v1(kl_opctx *c)                                         \
    {                                                                                     \
        return kl_binary_infer_as(c, OP##_kernels, true, OUT_DTYPE);                      \
    }                                                                                     \
    static keel_status OP##_infer_v7(kl_opctx *c)                                         \
    {                                                                                     \
        return kl_binary_infer_as(c, OP##_kernels, false, OUT_DTYPE);                     \
    }                                                                                     \
    static keel_status OP##_run_v1(kl_opctx *c)                                           \
    {                                                                                     \
        return kl_binary_run(c, OP##_kernels, CHECK, true);                               \
    }                                                                                     \
    static keel_status OP##_run_v7(kl_opctx *c)                                           \
    {                                                                                     \
        return kl_binary_run(c, OP##_kernels, CHECK, false);                              \
    }                                                                                     \
    static const kl_op OP##_v1 = {.type = TYPE, .since = 1, .until = 6, .min_inputs = 2,  \
                                  .max_inputs = 2, .flags = FLAGS,                        \
                                  .batch = KL_BATCH_ELEMENTWISE,                          \
                                  .infer = OP##_infer_v1, .run = OP##_run_v1};            \
    static const kl_op OP##_v7 = {.type = TYPE, .since = 7, .min_inputs = 2,              \
                                  .max_inputs = 2, .flags = FLAGS,                        \
                                  .batch = KL_BATCH_ELEMENTWISE,                          \
                                  .infer = OP##_infer_v7, .run = OP##_run_v7};            \
    const kl_op *const kl_opfile_##OP[] = {&OP##_v1, &OP##_v7, NULL};

/* A kl_binary_fn over float16 elements: each computed as float. */
#define KL_BINARY_FN_F16(NAME, EXPR)                                                       \
    static void NAME(void *out, const void *a, const void *b, int64_t n, kl_operands mode) \
    {                                                                                      \
        uint16_t *o = out;                                                                 \
        const uint16_t *va = a, *vb = b;                                                   \
        for (int64_t i = 0; i < n; i++) {                                                  \
            const float x = kl_half_to_float(va[mode == KL_A_SCALAR ? 0 : i]);             \
            const float y = kl_half_to_float(vb[mode == KL_B_SCALAR ? 0 : i]);             \
            o[i] = kl_float_to_half(EXPR(float, float, x, y));                             \
        }                                                                                  \
    }

/* Defines kernels OP_f32 ... and the table OP_kernels for float, double,
 * float16 and the 8-, 16-, 32- and 64-bit signed and unsigned integers:
 * FLOAT_EXPR for the floating types, INT_EXPR for the integer ones (both
 * called as EXPR(T, U, x, y)). */
#define KL_BINARY_KERNELS(OP, FLOAT_EXPR, INT_EXPR)                                  \
    KL_BINARY_FN(OP##_f32, float, float, FLOAT_EXPR)                                 \
    KL_BINARY_FN(OP##_f64, double, double, FLOAT_EXPR)                               \
    KL_BINARY_FN_F16(OP##_f16, FLOAT_EXPR)                                           \
    KL_BINARY_FN(OP##_i8, int8_t, uint32_t, INT_EXPR)                                \
    KL_BINARY_FN(OP##_u8, uint8_t, uint32_t, INT_EXPR)                               \
    KL_BINARY_FN(OP##_i16, int16_t, uint32_t, INT_EXPR)                              \
    KL_BINARY_FN(OP##_u16, uint16_t, uint32_t, INT_EXPR)                             \
    KL_BINARY_FN(OP##_i32, int32_t, uint32_t, INT_EXPR)                              \
    KL_BINARY_FN(OP##_u32, uint32_t, uint32_t, INT_EXPR)                             \
    KL_BINARY_FN(OP##_i64, int64_t, uint64_t, INT_EXPR)                              \
    KL_BINARY_FN(OP##_u64, uint64_t, uint64_t, INT_EXPR)                             \
    static const kl_binary_kernel OP##_kernels[] = {                                 \
        {KEEL_FLOAT, OP##_f32},  {KEEL_DOUBLE, OP##_f64}, {KEEL_FLOAT16, OP##_f16},   \
        {KEEL_INT8, OP##_i8},    {KEEL_UINT8, OP##_u8},   {KEEL_INT16, OP##_i16},     \
        {KEEL_UINT16, OP##_u16}, {KEEL_INT32, OP##_i32},  {KEEL_UINT32, OP##_u32},    \
        {KEEL_INT64, OP##_i64},  {KEEL_UINT64, OP##_u64}, {0, NULL}};

/* Defines the descriptors of binary op TYPE (opsets 1-6 with legacy
 * broadcasting, 7+ numpy broadcasting) over the kernels OP_kernels, with
 * CHECK (a kl_binary_check_fn or NULL) run first, and the file's list
 * kl_opfile_OP. */
#define KL_BINARY_OPFILE(OP, TYPE, CHECK) KL_BINARY_OPFILE_AS(OP, TYPE, CHECK, 0, KL_OP_INPLACE)

/* ---- unary ops ------------------------------------------------------------ */

/* Parameters of the float activations (LeakyRelu's alpha, HardSigmoid's
 * alpha and beta); ops with other parameters pass their own struct. */
typedef struct kl_unary_args {
    double alpha, beta;
} kl_unary_args;

/* Computes n outputs from n inputs; `out` may equal `in`. */
typedef void (*kl_unary_fn)(void *out, const void *in, int64_t n, const void *args);

typedef struct kl_unary_kernel {
    int dtype;
    kl_unary_fn fn;
} kl_unary_kernel;

/* infer: output 0 has input 0's dtype and shape; the dtype must have a
 * kernel.  run: applies the kernel to all of input 0. */
keel_status kl_unary_infer(kl_opctx *c, const kl_unary_kernel *kernels);
keel_status kl_unary_run(kl_opctx *c, const kl_unary_kernel *kernels, const void *args);

/* Defines `static void NAME(...)`, a kl_unary_fn over elements of type T
 * computing EXPR(T, x, alpha, beta) with alpha and beta from a
 * kl_unary_args converted to T. */
#define KL_UNARY_FN(NAME, T, EXPR)                                                \
    static void NAME(void *out, const void *in, int64_t n, const void *args)     \
    {                                                                             \
        const kl_unary_args *params = args;                                       \
        const T alpha = (T)params->alpha, beta = (T)params->beta;                 \
        (void)alpha, (void)beta; /* not every op uses them */                     \
        T *o = out;                                                               \
        const T *v = in;                                                          \
        for (int64_t i = 0; i < n; i++) {                                         \
            const T x = v[i];                                                     \
            o[i] = EXPR(T, x, alpha, beta);                                       \
        }                                                                         \
    }

/* v limited to [0, 1]; written with comparisons so NaN stays NaN. */
#define KL_CLAMP01(T, v) ((v) < 0 ? (T)0 : (v) > 1 ? (T)1 : (v))

/* Defines OP_f32, OP_f64 and the table OP_kernels. */
#define KL_UNARY_FLOAT_KERNELS(OP, EXPR)                                            \
    KL_UNARY_FN(OP##_f32, float, EXPR)                                              \
    KL_UNARY_FN(OP##_f64, double, EXPR)                                             \
    static const kl_unary_kernel OP##_kernels[] = {                                 \
        {KEEL_FLOAT, OP##_f32}, {KEEL_DOUBLE, OP##_f64}, {0, NULL}};

/* A kernel over n contiguous floats (y may be x); arg is the caller's. */
typedef void (*kl_map_f32_fn)(float *y, const float *x, size_t n, const void *arg);

/* y = fn(x) over n floats, in blocks of KL_MAP_BLOCK split over the
 * session's threads (pool; NULL or one block: the calling thread).  The
 * kernels compute each element from its value alone, so the result is the
 * same for any number of threads. */
#define KL_MAP_BLOCK 4096
void kl_map_f32(kl_pool *pool, kl_map_f32_fn fn, const void *arg, float *y, const float *x, int64_t n);

/* Converts n elements between the types Cast handles (ops/cast.c): float
 * to integer truncates and saturates, NaN gives 0. */
void kl_convert(int from, const void *src, int to, void *dst, int64_t n);

/* Copies x into out (same type), broadcasting x numpy-style to out's
 * shape (ops/expand.c). */
keel_status kl_broadcast_copy(const kl_tensor *x, kl_tensor *out);

/* ---- data movement -------------------------------------------------------- */

/* Copies a strided view of `src` into contiguous `dst`: the view has `rank`
 * dims and src_strides[d] bytes between neighbours along dim d (negative
 * for reversed order).  Elements are `esize` bytes. */
void kl_copy_strided(void *dst, const void *src, int rank, const int64_t *dims,
                     const int64_t *src_strides, size_t esize);
/* The same with the planes of 4-byte elements that a transpose makes
 * through kern's transpose_plane (kern NULL: the portable loop). */
void kl_copy_strided_with(const struct kl_kernels *kern, void *dst, const void *src, int rank, const int64_t *dims,
                          const int64_t *src_strides, size_t esize);
/* kl_copy_strided_with split over c's threads along the first dim larger
 * than 1, for copies large enough to pay for waking them (Transpose and
 * Slice of attention's and shifted windows' activations). */
void kl_copy_strided_on(const kl_opctx *c, void *dst, const void *src, int rank, const int64_t *dims,
                        const int64_t *src_strides, size_t esize);

/* Writes n copies of the esize-byte value at `value` to dst. */
void kl_fill(void *dst, int64_t n, const void *value, size_t esize);

/* Element strides (row-major) of a shape: strides[d] = prod(dims[d+1:]). */
void kl_row_major_strides(int rank, const int64_t *dims, int64_t *strides);

/* Output 0 becomes a copy of input 0 (shapes already agree); a no-op when
 * they share memory.  run() of the view ops. */
keel_status kl_copy_input0(kl_opctx *c);

/* Product of dims[from..to), for block sizes. */
int64_t kl_dims_product(const int64_t *dims, int from, int to);

/* ---- counts computed in floating point ------------------------------------ */

/* v (Range's element count, Resize's output extents, ...) as a count:
 * fails naming `what` when v is NaN (KEEL_ERR_INVALID) or 2^63 or more,
 * infinity included (KEEL_ERR_LIMIT: no tensor is that large; smaller
 * counts meet the tensor size limit after infer).  Negative v gives 0;
 * fractions are truncated.  Converting such a double to int64 directly is
 * undefined behaviour. */
keel_status kl_checked_count(kl_opctx *c, double v, const char *what, int64_t *out);

#endif
