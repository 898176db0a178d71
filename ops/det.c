/* det.c -- Det (opset 11), float and double: the determinant of each
 * square matrix in the last two dims of X [*, M, M]; output [*].  LU
 * decomposition with partial pivoting, in double. */
#include <math.h>
#include <string.h>

#include "op.h"

static keel_status det_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, 0};
    keel_status st = kl_require_dtype(c, 0, types);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2]) {
        char buf[128];
        return kl_op_fail(c, KEEL_ERR_SHAPE, "X is %s; expected [..., M, M]", kl_shape_str(x, buf, sizeof buf));
    }
    kl_set_shape(c->out[0], x->dtype, x->rank - 2, x->dims);
    return KEEL_OK;
}

/* one matrix in double */
static size_t det_scratch(kl_opctx *c)
{
    int64_t m = c->in[0]->dims[c->in[0]->rank - 1];
    return (size_t)(m * m) * sizeof(double);
}

/* Determinant of the m x m matrix a (destroyed). */
static double lu_det(double *a, int64_t m)
{
    double det = 1;
    for (int64_t k = 0; k < m; k++) {
        int64_t pivot = k;
        for (int64_t r = k + 1; r < m; r++)
            if (fabs(a[r * m + k]) > fabs(a[pivot * m + k]))
                pivot = r;
        if (a[pivot * m + k] == 0)
            return 0;
        if (pivot != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[pivot * m + j];
                a[pivot * m + j] = t;
            }
            det = -det;
        }
        const double d = a[k * m + k];
        det *= d;
        for (int64_t r = k + 1; r < m; r++) {
            const double f = a[r * m + k] / d;
            for (int64_t j = k + 1; j < m; j++)
                a[r * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

static keel_status det_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    const int64_t m = x->dims[x->rank - 1], count = kl_numel(c->out[0]), size = m * m;
    double *a = c->scratch;
    for (int64_t b = 0; b < count; b++) {
        for (int64_t i = 0; i < size; i++)
            a[i] = x->dtype == KEEL_FLOAT ? ((const float *)x->data)[b * size + i]
                                          : ((const double *)x->data)[b * size + i];
        double det = lu_det(a, m);
        if (x->dtype == KEEL_FLOAT)
            ((float *)c->out[0]->data)[b] = (float)det;
        else
            ((double *)c->out[0]->data)[b] = det;
    }
    return KEEL_OK;
}

static const kl_op det_v11 = {.type = "Det", .since = 11, .min_inputs = 1, .max_inputs = 1,
                              .infer = det_infer, .run = det_run, .scratch = det_scratch};

const kl_op *const kl_opfile_det[] = {&det_v11, NULL};
