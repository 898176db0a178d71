/* topk.c -- TopK: the K largest (or, largest = 0, smallest) elements along
 * an axis with their indices; sorted (the default) gives them in order,
 * ties by the lower index.  K is an attribute in opset 1 and input 1 later. */
#include <stdlib.h>
#include <string.h>

#include "drivers/eltwise.h"

typedef struct topk_plan {
    int axis;
    int64_t k;
    bool largest;
} topk_plan;

static keel_status plan(kl_opctx *c, topk_plan *p)
{
    const kl_tensor *x = c->in[0];
    keel_status st = kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), x->rank, &p->axis);
    if (st)
        return st;
    if (c->opset < 10) {
        p->k = kl_attr_int(c->node, "k", -1);
    } else {
        int n = 0;
        if ((st = kl_input_ints(c, 1, &p->k, 1, &n)))
            return st;
    }
    p->largest = c->opset < 11 || kl_attr_int(c->node, "largest", 1) != 0;
    if (p->k < 0 || p->k > x->dims[p->axis])
        return kl_op_fail(c, KEEL_ERR_INVALID, "k = %lld for a dim of %lld", (long long)p->k,
                          (long long)x->dims[p->axis]);
    return KEEL_OK;
}

static keel_status topk_infer(kl_opctx *c)
{
    static const int types[] = {KEEL_FLOAT, KEEL_DOUBLE, KEEL_INT32, KEEL_INT64, KEEL_INT8, KEEL_UINT8, 0};
    topk_plan p;
    keel_status st = kl_require_dtype(c, 0, types);
    if (!st)
        st = plan(c, &p);
    if (st)
        return st;
    int64_t dims[KL_MAX_RANK];
    memcpy(dims, c->in[0]->dims, sizeof dims);
    dims[p.axis] = p.k;
    kl_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, dims);
    if (c->n_out > 1 && c->out[1])
        kl_set_shape(c->out[1], KEEL_INT64, c->in[0]->rank, dims);
    return KEEL_OK;
}

typedef struct keyed {
    double v;
    int64_t i;
} keyed;

static int desc(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int asc(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static keel_status topk_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    topk_plan p;
    keel_status st = plan(c, &p);
    if (st)
        return st;
    int64_t len = x->dims[p.axis], outer = kl_dims_product(x->dims, 0, p.axis);
    int64_t inner = kl_dims_product(x->dims, p.axis + 1, x->rank);
    size_t es = kl_dtype_size(x->dtype);
    keyed *row = c->scratch;
    double *vals = (double *)(row + len);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t j = 0; j < len; j++) {
                kl_convert(x->dtype, (const char *)x->data + (size_t)((o * len + j) * inner + i) * es, KEEL_DOUBLE,
                           &vals[j], 1);
                row[j] = (keyed){vals[j], j};
            }
            qsort(row, (size_t)len, sizeof *row, p.largest ? desc : asc);
            for (int64_t j = 0; j < p.k; j++) {
                size_t at = (size_t)((o * p.k + j) * inner + i);
                memcpy((char *)c->out[0]->data + at * es, (const char *)x->data +
                       (size_t)((o * len + row[j].i) * inner + i) * es, es);
                if (c->n_out > 1 && c->out[1])
                    ((int64_t *)c->out[1]->data)[at] = row[j].i;
            }
        }
    return KEEL_OK;
}

static size_t topk_scratch(kl_opctx *c)
{
    int axis;
    if (kl_norm_axis(c, kl_attr_int(c->node, "axis", -1), c->in[0]->rank, &axis))
        return 0;
    return (size_t)c->in[0]->dims[axis] * (sizeof(keyed) + sizeof(double));
}

static const kl_op topk_v1 = {.type = "TopK", .since = 1, .until = 9, .min_inputs = 1,
                              .max_inputs = 1, .infer = topk_infer, .run = topk_run,
                              .scratch = topk_scratch};
static const kl_op topk_v10 = {.type = "TopK", .since = 10, .min_inputs = 2, .max_inputs = 2,
                               .infer = topk_infer, .run = topk_run, .scratch = topk_scratch};

const kl_op *const kl_opfile_topk[] = {&topk_v1, &topk_v10, NULL};
