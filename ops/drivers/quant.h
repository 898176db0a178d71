/* quant.h -- what the quantization operators share: per-tensor or
 * per-axis scales and zero points, rounding and saturation. */
#ifndef KL_QUANT_H
#define KL_QUANT_H

#include "../op.h"

/* Scale and zero point of one quantized tensor, per tensor (n == 1) or
 * per slice along `axis` (n == dims[axis]). */
typedef struct kl_qparams {
    const float *scale;
    const kl_tensor *zero;   /* NULL: zero point 0 */
    int64_t n;               /* values in scale (and zero) */
    int64_t inner, axis_len; /* element i belongs to slice (i / inner) % axis_len */
} kl_qparams;

/* Checks inputs scale_i/zero_i (zero_i < 0 or an omitted input: none)
 * against data of shape `data` quantized along `axis`: both scalars (or
 * one-element vectors), or 1-D with data->dims[axis] values.  Fills q at
 * run (data pointers valid only then). */
keel_status kl_qparams_read(kl_opctx *c, int scale_i, int zero_i, const kl_tensor *data, int64_t axis,
                            kl_qparams *q);
/* Element i's scale and zero point. */
static inline int64_t kl_qslot(const kl_qparams *q, int64_t i)
{
    return q->n == 1 ? 0 : (i / q->inner) % q->axis_len;
}
int32_t kl_qzero(const kl_qparams *q, int64_t slot);
/* Value i of a zero point (0 when z is NULL) or scale tensor holding one
 * value for all or one per row/column/channel. */
int32_t kl_qzero_at(const kl_tensor *z, int64_t i);
float kl_qscale_at(const kl_tensor *scale, int64_t i);
/* Integer element i of a uint8/int8/int32 tensor. */
int32_t kl_qget(const kl_tensor *t, int64_t i);
/* round(v) half to even, plus zero, saturated to dtype's range, stored at i. */
void kl_qput(kl_tensor *t, int64_t i, double v);
bool kl_is_quant_dtype(int dtype);   /* uint8 or int8 */

#endif

/* ---- integer matrix products (MatMulInteger, QLinearMatMul) ---- */

/* A [..., M, K] x B [..., K, N] with numpy-broadcast batch dims (both
 * operands rank 2 or more). */
typedef struct kl_imatmul {
    int rank;                      /* of the output */
    int64_t dims[KL_MAX_RANK];
    int64_t m, k, n, batches;
    int64_t a_bstride[KL_MAX_RANK], b_bstride[KL_MAX_RANK]; /* per output batch dim, in matrices */
} kl_imatmul;

keel_status kl_imatmul_plan(kl_opctx *c, const kl_tensor *a, const kl_tensor *b, kl_imatmul *p);
/* out[batch][i][j] = sum_k (A[i][k] - za(i)) * (B[k][j] - zb(j)), where a
 * zero point tensor is NULL (0), one value, or one per row of A / column of B. */
void kl_imatmul_run(const kl_imatmul *p, const kl_tensor *a, const kl_tensor *b, const kl_tensor *za,
                    const kl_tensor *zb, int32_t *out);
/* Checks a zero point (or scale) of one value or `len` values. */
keel_status kl_check_per(kl_opctx *c, int i, int64_t len, const char *what);
