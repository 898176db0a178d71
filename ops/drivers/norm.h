/* ops/drivers/norm.h -- statistics shared by the normalization operators
 * (LayerNormalization, InstanceNormalization, MeanVarianceNormalization,
 * BatchNormalization in training mode).
 *
 * A tensor's elements fall into groups: two elements are in the same
 * group when they agree on every kept (not reduced) dim.  Groups are
 * numbered row-major over the kept dims, so group g is element g of the
 * tensor reduced with keepdims. */
#ifndef KL_NORM_COMMON_H
#define KL_NORM_COMMON_H

#include "../op.h"

/* Visits the elements in memory order and tracks each one's group. */
typedef struct kl_group_walk {
    int rank;
    int64_t dims[KL_MAX_RANK], idx[KL_MAX_RANK];
    int64_t stride[KL_MAX_RANK];     /* group step along each dim; 0 if reduced */
    int64_t group;                   /* of the current element */
} kl_group_walk;

/* Starts at element 0; returns the number of groups. */
int64_t kl_group_walk_init(kl_group_walk *w, int rank, const int64_t *dims, const bool *reduced);

static inline void kl_group_walk_next(kl_group_walk *w)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        w->group += w->stride[d];
        if (++w->idx[d] < w->dims[d])
            return;
        w->group -= w->stride[d] * w->dims[d];
        w->idx[d] = 0;
    }
}

/* Mean and (population) variance of each group of x: mean[g], var[g] for
 * g < the number of groups (contiguous groups through kern's moments). */
void kl_group_moments(const struct kl_kernels *kern, const float *x, int rank, const int64_t *dims,
                      const bool *reduced, double *mean, double *var);

/* Marks dims [from, rank) reduced and the others kept. */
void kl_reduce_trailing(bool *reduced, int rank, int from);

#endif
