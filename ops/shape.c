/* shape.c -- Shape: the input's dims as a 1-D int64 tensor; opset 15
 * keeps only dims [start, end), both clamped to [0, rank]. */
#include "drivers/eltwise.h"

static void shape_range(const kl_opctx *c, int *start, int *end)
{
    int rank = c->in[0]->rank;
    int64_t s = c->opset >= 15 ? kl_attr_int(c->node, "start", 0) : 0;
    int64_t e = c->opset >= 15 ? kl_attr_int(c->node, "end", rank) : rank;
    if (s < 0)
        s += rank;
    if (e < 0)
        e += rank;
    *start = (int)(s < 0 ? 0 : s > rank ? rank : s);
    *end = (int)(e < *start ? *start : e > rank ? rank : e);
}

static keel_status shape_infer(kl_opctx *c)
{
    int start, end;
    shape_range(c, &start, &end);
    int64_t n = end - start;
    kl_set_shape(c->out[0], KEEL_INT64, 1, &n);
    return KEEL_OK;
}

static keel_status shape_run(kl_opctx *c)
{
    int start, end;
    shape_range(c, &start, &end);
    memcpy(c->out[0]->data, c->in[0]->dims + start, (size_t)(end - start) * sizeof(int64_t));
    return KEEL_OK;
}

static const kl_op shape_v1 = {.type = "Shape", .since = 1, .until = 14, .min_inputs = 1,
                               .max_inputs = 1, .flags = KL_OP_SHAPE_ONLY, .infer = shape_infer,
                               .run = shape_run};
static const kl_op shape_v15 = {.type = "Shape", .since = 15, .min_inputs = 1, .max_inputs = 1,
                                .flags = KL_OP_SHAPE_ONLY, .infer = shape_infer, .run = shape_run};

const kl_op *const kl_opfile_shape[] = {&shape_v1, &shape_v15, NULL};
