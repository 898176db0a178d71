/* depthtospace.c -- DepthToSpace and SpaceToDepth: moving blocksize x
 * blocksize blocks between the channel dim and the spatial dims of an
 * [N, C, H, W] tensor, as a reshape to 6-D, a transpose and a reshape
 * back (DepthToSpace's mode DCR: depth-column-row, the default; CRD:
 * column-row-depth, opset 11). */
#include <string.h>

#include "drivers/eltwise.h"

typedef struct blocks {
    int64_t dims6[6];    /* the 6-D view of the input */
    int perm[6];         /* output dim k reads input dim perm[k] */
    int64_t out[4];
} blocks;

static keel_status plan(kl_opctx *c, bool to_space, blocks *p)
{
    const kl_tensor *x = c->in[0];
    int64_t b = kl_attr_int(c->node, "blocksize", 0);
    if (x->rank != 4 || b < 1)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input must be [N, C, H, W] and blocksize positive");
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    if (to_space) {
        const char *mode = kl_attr_str(c->node, "mode", "DCR");
        bool crd = strcmp(mode, "CRD") == 0;
        if (ch % (b * b) || (!crd && strcmp(mode, "DCR")))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "channels %lld not divisible by blocksize^2, or mode '%s'",
                              (long long)ch, mode);
        int64_t cc = ch / (b * b);
        int64_t dcr[6] = {n, b, b, cc, h, w}, crd6[6] = {n, cc, b, b, h, w};
        static const int p_dcr[6] = {0, 3, 4, 1, 5, 2}, p_crd[6] = {0, 1, 4, 2, 5, 3};
        memcpy(p->dims6, crd ? crd6 : dcr, sizeof p->dims6);
        memcpy(p->perm, crd ? p_crd : p_dcr, sizeof p->perm);
        p->out[0] = n, p->out[1] = cc, p->out[2] = h * b, p->out[3] = w * b;
    } else {
        if (h % b || w % b)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "H and W must be divisible by blocksize %lld", (long long)b);
        int64_t d6[6] = {n, ch, h / b, b, w / b, b};
        static const int perm[6] = {0, 3, 5, 1, 2, 4};
        memcpy(p->dims6, d6, sizeof p->dims6);
        memcpy(p->perm, perm, sizeof p->perm);
        p->out[0] = n, p->out[1] = ch * b * b, p->out[2] = h / b, p->out[3] = w / b;
    }
    return KEEL_OK;
}

static keel_status infer_as(kl_opctx *c, bool to_space)
{
    blocks p;
    keel_status st = plan(c, to_space, &p);
    if (!st)
        kl_set_shape(c->out[0], c->in[0]->dtype, 4, p.out);
    return st;
}

static keel_status run_as(kl_opctx *c, bool to_space)
{
    blocks p;
    keel_status st = plan(c, to_space, &p);
    if (st)
        return st;
    size_t es = kl_dtype_size(c->in[0]->dtype);
    int64_t in_strides[6], dims[6], strides[6];
    kl_row_major_strides(6, p.dims6, in_strides);
    for (int k = 0; k < 6; k++) {
        dims[k] = p.dims6[p.perm[k]];
        strides[k] = in_strides[p.perm[k]] * (int64_t)es;
    }
    kl_copy_strided(c->out[0]->data, c->in[0]->data, 6, dims, strides, es);
    return KEEL_OK;
}

static keel_status d2s_infer(kl_opctx *c) { return infer_as(c, true); }
static keel_status d2s_run(kl_opctx *c) { return run_as(c, true); }
static keel_status s2d_infer(kl_opctx *c) { return infer_as(c, false); }
static keel_status s2d_run(kl_opctx *c) { return run_as(c, false); }

static const kl_op d2s = {.type = "DepthToSpace", .since = 1, .min_inputs = 1, .max_inputs = 1,
                          .infer = d2s_infer, .run = d2s_run};
static const kl_op s2d = {.type = "SpaceToDepth", .since = 1, .min_inputs = 1, .max_inputs = 1,
                          .infer = s2d_infer, .run = s2d_run};

const kl_op *const kl_opfile_depthtospace[] = {&d2s, &s2d, NULL};
