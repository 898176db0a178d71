/* ops/drivers/norm.c -- group statistics (see ops/drivers/norm.h).  Two passes (the
 * mean, then the squared deviations from it), which stays accurate when
 * the mean is large against the spread; sums in double, or for contiguous
 * groups in float lanes over short blocks added up in double. */
#include <string.h>

#include "../kernels/kernels.h"
#include "norm.h"

int64_t kl_group_walk_init(kl_group_walk *w, int rank, const int64_t *dims, const bool *reduced)
{
    memset(w, 0, sizeof *w);
    w->rank = rank;
    int64_t groups = 1;
    for (int d = rank - 1; d >= 0; d--) {
        w->dims[d] = dims[d];
        w->stride[d] = reduced[d] ? 0 : groups;
        if (!reduced[d])
            groups *= dims[d];
    }
    return groups;
}

void kl_reduce_trailing(bool *reduced, int rank, int from)
{
    for (int d = 0; d < rank; d++)
        reduced[d] = d >= from;
}

/* The first reduced dim when the reduced dims are exactly a trailing
 * run, else -1. */
static int trailing_from(int rank, const bool *reduced)
{
    int from = rank;
    while (from > 0 && reduced[from - 1])
        from--;
    for (int d = 0; d < from; d++)
        if (reduced[d])
            return -1;
    return from;
}


void kl_group_moments(const struct kl_kernels *kern, const float *x, int rank, const int64_t *dims,
                      const bool *reduced, double *mean, double *var)
{
    kl_group_walk w;
    const int64_t groups = kl_group_walk_init(&w, rank, dims, reduced);
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    const int64_t len = groups ? n / groups : 0;
    if (trailing_from(rank, reduced) >= 0) {
        kern->moments.fn(x, groups, len, mean, var);
        return;
    }
    memset(mean, 0, (size_t)groups * sizeof *mean);
    memset(var, 0, (size_t)groups * sizeof *var);
    for (int64_t i = 0; i < n; i++, kl_group_walk_next(&w))
        mean[w.group] += x[i];
    for (int64_t g = 0; g < groups; g++)
        mean[g] = len ? mean[g] / (double)len : 0;
    kl_group_walk_init(&w, rank, dims, reduced);
    for (int64_t i = 0; i < n; i++, kl_group_walk_next(&w)) {
        const double dev = x[i] - mean[w.group];
        var[w.group] += dev * dev;
    }
    for (int64_t g = 0; g < groups; g++)
        var[g] = len ? var[g] / (double)len : 0;
}
