/* ops/drivers/index.h -- what the gather and scatter ops share: reading index
 * tensors (int32 or int64, negative counting from the end) and checking
 * them against a dim, with a run-time error naming the bad one. */
#ifndef KL_INDEX_COMMON_H
#define KL_INDEX_COMMON_H

#include "../op.h"

/* Index i of t (int32 or int64). */
static inline int64_t kl_index_at(const kl_tensor *t, int64_t i)
{
    return t->dtype == KEEL_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

/* v made non-negative against a dim of size n; fails with KEEL_ERR_RUNTIME
 * when outside [-n, n). */
keel_status kl_index_fix(kl_opctx *c, int64_t v, int64_t n, int64_t *out);

/* Requires input i to be an int32 or int64 index tensor. */
keel_status kl_require_indices(kl_opctx *c, int i);

/* Reduction of a scatter: none, add, mul, max, min (opsets 16/18). */
typedef enum kl_scatter_reduce { KL_SCATTER_NONE, KL_SCATTER_ADD, KL_SCATTER_MUL, KL_SCATTER_MAX, KL_SCATTER_MIN } kl_scatter_reduce;
keel_status kl_scatter_reduction(kl_opctx *c, kl_scatter_reduce *r);
/* dst (one element of dtype) = dst (reduce) src. */
void kl_scatter_apply(kl_scatter_reduce r, int dtype, void *dst, const void *src);

/* GatherElements / ScatterElements addressing: element i of indices (in
 * row-major order) names data's element at the same position, its `axis`
 * coordinate replaced by the index's value. */
typedef struct kl_axis_walk {
    int rank, axis;
    int64_t strides[KL_MAX_RANK];   /* data's, in elements */
    int64_t pos[KL_MAX_RANK];       /* position of the next index element */
} kl_axis_walk;

void kl_axis_walk_init(kl_axis_walk *w, const kl_tensor *data, int axis);
/* data's element offset for index element i (taken in order, i = 0, 1, ...),
 * checking the index value and that indices fit data's other dims. */
keel_status kl_axis_walk_next(kl_opctx *c, kl_axis_walk *w, const kl_tensor *data, const kl_tensor *idx,
                              int64_t i, int64_t *off);

/* GatherND / ScatterND addressing: after b batch dims shared by data and
 * indices, each tuple of m indices (the last dim of indices) picks a slice
 * of data.shape[b + m:]. */
typedef struct nd_plan {
    int b, m;
    int64_t batches, tuples, slice; /* per batch: tuples of m indices, slices of `slice` elements */
} nd_plan;

keel_status kl_nd_plan(kl_opctx *c, const kl_tensor *data, const kl_tensor *idx, int b, nd_plan *p);
/* Element offset, inside batch bt's block of data, of tuple t's slice. */
keel_status kl_nd_offset(kl_opctx *c, const kl_tensor *data, const kl_tensor *idx, const nd_plan *p, int64_t bt,
                         int64_t t, int64_t *off);

#endif
