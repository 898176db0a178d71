/* transpose.c -- Transpose: permutes the dims of a tensor of any type;
 * perm defaults to reversing them.  The output is written in order while
 * the input is read through permuted strides, planes of 4-byte elements
 * through the kernel table's transpose_plane. */
#include "drivers/eltwise.h"

static keel_status read_perm(kl_opctx *c, int *perm)
{
    int rank = c->in[0]->rank;
    const int64_t *attr;
    int n = kl_attr_ints(c->node, "perm", &attr);
    bool used[KL_MAX_RANK] = {false};
    if (n < 0) {
        for (int d = 0; d < rank; d++)
            perm[d] = rank - 1 - d;
        return KEEL_OK;
    }
    if (n != rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "perm has %d entries for rank %d", n, rank);
    for (int d = 0; d < rank; d++) {
        if (attr[d] < 0 || attr[d] >= rank || used[attr[d]])
            return kl_op_fail(c, KEEL_ERR_INVALID, "perm is not a permutation of 0..%d",
                              rank - 1);
        used[attr[d]] = true;
        perm[d] = (int)attr[d];
    }
    return KEEL_OK;
}

static keel_status transpose_infer(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int perm[KL_MAX_RANK];
    int64_t dims[KL_MAX_RANK];
    keel_status st = read_perm(c, perm);
    if (st != KEEL_OK)
        return st;
    for (int d = 0; d < x->rank; d++)
        dims[d] = x->dims[perm[d]];
    kl_set_shape(c->out[0], x->dtype, x->rank, dims);
    return KEEL_OK;
}

static keel_status transpose_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    int perm[KL_MAX_RANK];
    int64_t in_strides[KL_MAX_RANK], read_strides[KL_MAX_RANK];
    size_t esize = kl_dtype_size(x->dtype);
    read_perm(c, perm);
    kl_row_major_strides(x->rank, x->dims, in_strides);
    for (int d = 0; d < x->rank; d++)
        read_strides[d] = in_strides[perm[d]] * (int64_t)esize;
    kl_copy_strided_on(c, y->data, x->data, y->rank, y->dims, read_strides, esize);
    return KEEL_OK;
}

/* The dims larger than 1 stay in their order ([1, 197, 768] to [197, 1,
 * 768], ViT's batch-first swaps): the bytes do not move. */
static bool transpose_keeps_order(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    int perm[KL_MAX_RANK];
    if (read_perm(c, perm) != KEEL_OK)
        return false;
    for (int d = 0, last = -1; d < x->rank; d++) {
        if (x->dims[perm[d]] == 1)
            continue;
        if (perm[d] < last)
            return false;
        last = perm[d];
    }
    return true;
}

/* The batch's dim stays first. */
static bool transpose_images_apart(const kl_opctx *c)
{
    const int64_t *perm;
    return kl_attr_ints(c->node, "perm", &perm) >= 1 ? perm[0] == 0 : c->in[0]->rank == 1;
}

static const kl_op transpose = {.type = "Transpose", .since = 1, .min_inputs = 1, .max_inputs = 1,
                                .infer = transpose_infer, .run = transpose_run, .keeps_order = transpose_keeps_order,
                                .batch = KL_BATCH_PER_IMAGE, .images_apart = transpose_images_apart};

const kl_op *const kl_opfile_transpose[] = {&transpose, NULL};
