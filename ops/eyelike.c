/* eyelike.c -- EyeLike: a 2-D tensor of the input's shape with ones on
 * diagonal k and zeros elsewhere, of type `dtype` (default: the input's). */
#include <string.h>

#include "drivers/eltwise.h"

static keel_status eyelike_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int dtype = (int)kl_attr_int(c->node, "dtype", x->dtype);
    if (x->rank != 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input must be 2-D");
    if (!kl_dtype_supported(dtype) || dtype == KEEL_STRING)
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "dtype %s", kl_dtype_name(dtype));
    kl_set_shape(c->out[0], dtype, 2, x->dims);
    return KEEL_OK;
}

static keel_status eyelike_run(kl_opctx *c)
{
    kl_tensor *out = c->out[0];
    int64_t rows = out->dims[0], cols = out->dims[1], k = kl_attr_int(c->node, "k", 0);
    size_t es = kl_dtype_size(out->dtype);
    memset(out->data, 0, kl_nbytes(out));
    double one_d = 1;
    char one[16];
    kl_convert(KEEL_DOUBLE, &one_d, out->dtype, one, 1);
    for (int64_t i = 0; i < rows; i++)
        if (i + k >= 0 && i + k < cols)
            memcpy((char *)out->data + (size_t)(i * cols + i + k) * es, one, es);
    return KEEL_OK;
}

static const kl_op eyelike = {.type = "EyeLike", .since = 9, .min_inputs = 1, .max_inputs = 1,
                              .infer = eyelike_infer, .run = eyelike_run};

const kl_op *const kl_opfile_eyelike[] = {&eyelike, NULL};
