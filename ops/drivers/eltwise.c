/* eltwise.c -- shared machinery of the elementwise and data-movement
 * operators (see eltwise.h). */
#include "eltwise.h"
#include "../kernels/kernels.h"

/* ---- broadcasting ----------------------------------------------------------- */

/* The dims of A, B and the output, all padded to the output's rank. */
typedef struct operand_shapes {
    int rank;
    int64_t a[KL_MAX_RANK], b[KL_MAX_RANK], out[KL_MAX_RANK];
} operand_shapes;

static void pad_leading(const kl_tensor *t, int rank, int64_t *dims)
{
    for (int d = 0; d < rank; d++)
        dims[d] = d < rank - t->rank ? 1 : t->dims[d - (rank - t->rank)];
}

/* Opsets 1-6: B must equal A's shape unless broadcast=1; then B's dims
 * sit at A's dims [axis, axis + rank(B)), each equal or 1. */
static keel_status legacy_shapes(kl_opctx *c, const kl_tensor *a, const kl_tensor *b,
                                 operand_shapes *s)
{
    char sa[128], sb[128];
    s->rank = a->rank;
    pad_leading(a, a->rank, s->a);
    pad_leading(a, a->rank, s->out);
    if (!kl_attr_int(c->node, "broadcast", 0)) {
        if (!kl_same_shape(a, b))
            return kl_op_fail(c, KEEL_ERR_SHAPE,
                              "shapes %s and %s differ and attribute broadcast is not set",
                              kl_shape_str(a, sa, sizeof sa), kl_shape_str(b, sb, sizeof sb));
        pad_leading(b, b->rank, s->b);
        return KEEL_OK;
    }
    int64_t axis = kl_attr_int(c->node, "axis", a->rank - b->rank);
    if (b->rank > a->rank || axis < 0 || axis > a->rank - b->rank)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "cannot align B %s with A %s at axis %lld",
                          kl_shape_str(b, sb, sizeof sb), kl_shape_str(a, sa, sizeof sa),
                          (long long)axis);
    for (int d = 0; d < a->rank; d++) {
        int bd = d - (int)axis;
        s->b[d] = bd >= 0 && bd < b->rank ? b->dims[bd] : 1;
        if (s->b[d] != 1 && s->b[d] != s->a[d])
            return kl_op_fail(c, KEEL_ERR_SHAPE, "B %s does not broadcast to A %s at axis %lld",
                              kl_shape_str(b, sb, sizeof sb), kl_shape_str(a, sa, sizeof sa),
                              (long long)axis);
    }
    return KEEL_OK;
}

static keel_status broadcast_shapes(kl_opctx *c, bool legacy, operand_shapes *s)
{
    const kl_tensor *a = c->in[0], *b = c->in[1];
    if (legacy)
        return legacy_shapes(c, a, b, s);
    keel_status st = kl_broadcast_shape(c, a, b, &s->rank, s->out);
    if (st != KEEL_OK)
        return st;
    pad_leading(a, s->rank, s->a);
    pad_leading(b, s->rank, s->b);
    return KEEL_OK;
}

static kl_binary_fn find_binary(const kl_binary_kernel *kernels, int dtype)
{
    for (const kl_binary_kernel *k = kernels; k->fn; k++)
        if (k->dtype == dtype)
            return k->fn;
    return NULL;
}

keel_status kl_binary_infer(kl_opctx *c, const kl_binary_kernel *kernels, bool legacy)
{
    return kl_binary_infer_as(c, kernels, legacy, 0);
}

keel_status kl_binary_infer_as(kl_opctx *c, const kl_binary_kernel *kernels, bool legacy, int out_dtype)
{
    const kl_tensor *a = c->in[0], *b = c->in[1];
    if (!a || !b)
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs two inputs");
    if (a->dtype != b->dtype)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "inputs have different types %s and %s",
                          kl_dtype_name(a->dtype), kl_dtype_name(b->dtype));
    if (!find_binary(kernels, a->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "type %s is not supported",
                          kl_dtype_name(a->dtype));
    operand_shapes s;
    keel_status st = broadcast_shapes(c, legacy, &s);
    if (st != KEEL_OK)
        return st;
    kl_set_shape(c->out[0], out_dtype ? out_dtype : a->dtype, s.rank, s.out);
    return KEEL_OK;
}

/* The broadcast collapsed to the fewest dims: consecutive dims merge when
 * each operand either spans all of them or broadcasts over all of them.
 * Strides are in elements, 0 where an operand broadcasts. */
typedef struct loop_nest {
    int rank;
    int64_t dims[KL_MAX_RANK], a_stride[KL_MAX_RANK], b_stride[KL_MAX_RANK];
} loop_nest;

static void collapse(const operand_shapes *s, loop_nest *nest)
{
    bool a_full[KL_MAX_RANK], b_full[KL_MAX_RANK];
    int r = 0;
    for (int d = 0; d < s->rank; d++) {
        if (s->out[d] == 1)
            continue;
        bool af = s->a[d] != 1, bf = s->b[d] != 1;
        if (r > 0 && a_full[r - 1] == af && b_full[r - 1] == bf) {
            nest->dims[r - 1] *= s->out[d];
            continue;
        }
        nest->dims[r] = s->out[d];
        a_full[r] = af;
        b_full[r] = bf;
        r++;
    }
    int64_t a_span = 1, b_span = 1;
    for (int d = r - 1; d >= 0; d--) {
        nest->a_stride[d] = a_full[d] ? a_span : 0;
        nest->b_stride[d] = b_full[d] ? b_span : 0;
        if (a_full[d])
            a_span *= nest->dims[d];
        if (b_full[d])
            b_span *= nest->dims[d];
    }
    nest->rank = r;
}

/* Rows [r0, r1) of the nest: its inner dim's runs, one call of fn each. */
static void run_rows(const loop_nest *nest, kl_binary_fn fn, size_t esize, size_t out_esize, char *out,
                     const char *a, const char *b, int64_t r0, int64_t r1)
{
    if (nest->rank == 0) { /* every dim is 1: one element */
        fn(out, a, b, 1, KL_BOTH_VECTORS);
        return;
    }
    int inner = nest->rank - 1;
    int64_t n = nest->dims[inner];
    kl_operands mode = !nest->a_stride[inner] ? KL_A_SCALAR
                       : !nest->b_stride[inner] ? KL_B_SCALAR : KL_BOTH_VECTORS;
    /* both operands broadcast along the inner dim (kl_binary_into, whose
     * output may be wider than both: Sum of [1], [1] and [13]): one value
     * per element */
    const bool both_scalar = !nest->a_stride[inner] && !nest->b_stride[inner];
    int64_t idx[KL_MAX_RANK] = {0}, a_off = 0, b_off = 0;
    for (int64_t d = inner - 1, rest = r0; d >= 0; d--) { /* the odometer at row r0 */
        idx[d] = rest % nest->dims[d];
        rest /= nest->dims[d];
        a_off += idx[d] * nest->a_stride[d];
        b_off += idx[d] * nest->b_stride[d];
    }
    for (int64_t row = r0; row < r1; row++) {
        if (both_scalar)
            for (int64_t i = 0; i < n; i++)
                fn(out + (size_t)(row * n + i) * out_esize, a + (size_t)a_off * esize, b + (size_t)b_off * esize,
                   1, KL_BOTH_VECTORS);
        else
            fn(out + (size_t)(row * n) * out_esize, a + (size_t)a_off * esize, b + (size_t)b_off * esize, n,
               mode);
        /* odometer over the outer dims */
        for (int d = inner - 1; d >= 0; d--) {
            a_off += nest->a_stride[d];
            b_off += nest->b_stride[d];
            if (++idx[d] < nest->dims[d])
                break;
            a_off -= nest->a_stride[d] * nest->dims[d];
            b_off -= nest->b_stride[d] * nest->dims[d];
            idx[d] = 0;
        }
    }
}

static int64_t nest_rows(const loop_nest *nest)
{
    return nest->rank ? kl_dims_product(nest->dims, 0, nest->rank - 1) : 1;
}

static void run_nest(const loop_nest *nest, kl_binary_fn fn, size_t esize, size_t out_esize, char *out,
                     const char *a, const char *b)
{
    run_rows(nest, fn, esize, out_esize, out, a, b, 0, nest_rows(nest));
}

typedef struct nest_job {
    const loop_nest *nest;
    kl_binary_fn fn;
    size_t esize, out_esize;
    char *out;
    const char *a, *b;
} nest_job;

static void nest_rows_range(void *arg, int64_t lo, int64_t hi)
{
    const nest_job *j = arg;
    run_rows(j->nest, j->fn, j->esize, j->out_esize, j->out, j->a, j->b, lo, hi);
}

/* Outputs from which a binary op splits its rows over the session's
 * threads.  Run on the calling thread alone, EfficientNet-B0's
 * squeeze-excite Muls read the half of their input that the other core's
 * depthwise conv had written: 144x56x56 took 0.035 ms in a session of one
 * thread and 0.124 ms in one of two. */
#define BINARY_SPLIT_ELEMENTS 32768

keel_status kl_binary_run(kl_opctx *c, const kl_binary_kernel *kernels,
                          kl_binary_check_fn check, bool legacy)
{
    kl_tensor *out = c->out[0];
    if (kl_numel(out) == 0)
        return KEEL_OK;
    if (check) {
        keel_status st = check(c);
        if (st != KEEL_OK)
            return st;
    }
    operand_shapes s;
    keel_status st = broadcast_shapes(c, legacy, &s);
    if (st != KEEL_OK)
        return st;
    loop_nest nest;
    collapse(&s, &nest);
    int in_dtype = c->in[0]->dtype;
    const nest_job j = {&nest, find_binary(kernels, in_dtype), kl_dtype_size(in_dtype), kl_dtype_size(out->dtype),
                        out->data, c->in[0]->data, c->in[1]->data};
    const int64_t rows = nest_rows(&nest);
    kl_parallel_for(kl_numel(out) >= BINARY_SPLIT_ELEMENTS && rows > 1 ? c->pool : NULL, rows, nest_rows_range,
                    (void *)&j);
    return KEEL_OK;
}

void kl_binary_into(kl_binary_fn fn, kl_tensor *out, const kl_tensor *a, const kl_tensor *b)
{
    operand_shapes s;
    s.rank = out->rank;
    pad_leading(out, out->rank, s.out);
    pad_leading(a, out->rank, s.a);
    pad_leading(b, out->rank, s.b);
    loop_nest nest;
    collapse(&s, &nest);
    run_nest(&nest, fn, kl_dtype_size(a->dtype), kl_dtype_size(out->dtype), out->data, a->data, b->data);
}

kl_binary_fn kl_binary_find(const kl_binary_kernel *kernels, int dtype)
{
    return find_binary(kernels, dtype);
}

/* ---- unary ------------------------------------------------------------------ */

static kl_unary_fn find_unary(const kl_unary_kernel *kernels, int dtype)
{
    for (const kl_unary_kernel *k = kernels; k->fn; k++)
        if (k->dtype == dtype)
            return k->fn;
    return NULL;
}

keel_status kl_unary_infer(kl_opctx *c, const kl_unary_kernel *kernels)
{
    const kl_tensor *x = c->in[0];
    if (!x)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input 0 is missing");
    if (!find_unary(kernels, x->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "type %s is not supported",
                          kl_dtype_name(x->dtype));
    kl_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return KEEL_OK;
}

keel_status kl_unary_run(kl_opctx *c, const kl_unary_kernel *kernels, const void *args)
{
    const kl_tensor *x = c->in[0];
    find_unary(kernels, x->dtype)(c->out[0]->data, x->data, kl_numel(x), args);
    return KEEL_OK;
}

typedef struct map_job {
    kl_map_f32_fn fn;
    const void *arg;
    float *y;
    const float *x;
    int64_t n;
} map_job;

static void map_blocks(void *arg, int64_t lo, int64_t hi)
{
    const map_job *j = arg;
    for (int64_t b = lo; b < hi; b++) {
        int64_t i0 = b * KL_MAP_BLOCK, n = j->n - i0 < KL_MAP_BLOCK ? j->n - i0 : KL_MAP_BLOCK;
        j->fn(j->y + i0, j->x + i0, (size_t)n, j->arg);
    }
}

void kl_map_f32(kl_pool *pool, kl_map_f32_fn fn, const void *arg, float *y, const float *x, int64_t n)
{
    map_job j = {fn, arg, y, x, n};
    int64_t blocks = (n + KL_MAP_BLOCK - 1) / KL_MAP_BLOCK;
    kl_parallel_for(blocks > 1 ? pool : NULL, blocks, map_blocks, &j);
}

/* ---- data movement ------------------------------------------------------------ */

int64_t kl_dims_product(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        p *= dims[d];
    return p;
}

void kl_row_major_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

/* n elements, `stride` bytes apart in src, to contiguous dst. */
static void copy_row(char *dst, const char *src, int64_t n, int64_t stride, size_t esize)
{
#define COPY_AS(T)                                                 \
    for (int64_t i = 0; i < n; i++)                                \
        memcpy(dst + i * (int64_t)sizeof(T), src + i * stride, sizeof(T)); \
    break;
    if (stride == (int64_t)esize) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1: COPY_AS(uint8_t)
    case 2: COPY_AS(uint16_t)
    case 4: COPY_AS(uint32_t)
    case 8: COPY_AS(uint64_t)
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * (int64_t)esize, src + i * stride, esize);
    }
#undef COPY_AS
}

/* A 2-D block where dst[i][j] = src[i * esize + j * src_col_stride]: the
 * source's contiguous dim becomes an outer dim of the output (the heart of
 * a transpose), through kern's transpose_plane for 4-byte elements (the
 * portable one when kern is NULL).  Other sizes in small square tiles, so
 * that the cache lines read along i serve every j of a tile; small
 * because power-of-two strides map a tile's lines to few cache sets. */
static void copy_plane(const kl_kernels *kern, char *dst, const char *src, int64_t rows, int64_t cols,
                       int64_t dst_row_stride, int64_t src_col_stride, size_t esize)
{
    enum { TILE = 8 };
    if (esize == 4) {
        (kern ? kern->transpose_plane.fn : klk_transpose_plane_generic)(
            (uint32_t *)dst, (const uint32_t *)src, rows, cols, dst_row_stride / 4, src_col_stride / 4);
        return;
    }
#define PLANE_AS(T)                                                                       \
    {                                                                                     \
        int64_t drs = dst_row_stride / (int64_t)sizeof(T);                                \
        int64_t scs = src_col_stride / (int64_t)sizeof(T);                                \
        for (int64_t i0 = 0; i0 < rows; i0 += TILE)                                       \
            for (int64_t j0 = 0; j0 < cols; j0 += TILE) {                                 \
                int64_t i_end = i0 + TILE < rows ? i0 + TILE : rows;                      \
                int64_t j_end = j0 + TILE < cols ? j0 + TILE : cols;                      \
                for (int64_t i = i0; i < i_end; i++)                                      \
                    for (int64_t j = j0; j < j_end; j++)                                  \
                        ((T *)dst)[i * drs + j] = ((const T *)src)[i + j * scs];          \
            }                                                                             \
        return;                                                                           \
    }
    switch (esize) {
    case 1: PLANE_AS(uint8_t)
    case 2: PLANE_AS(uint16_t)
    case 8: PLANE_AS(uint64_t)
    }
#undef PLANE_AS
    for (int64_t i = 0; i < rows; i++) /* other sizes: row by row */
        copy_row(dst + i * dst_row_stride, src + i * (int64_t)esize, cols, src_col_stride, esize);
}

/* A strided view with its dims of 1 dropped and each dim merged into its
 * outer neighbour when the two are laid out as one, so rows are as long
 * as possible.  Returns false if the view is empty. */
static bool collapse_view(int rank, const int64_t *dims, const int64_t *src_strides, int *r,
                          int64_t *n, int64_t *stride)
{
    *r = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 0)
            return false;
        if (dims[d] == 1)
            continue;
        if (*r > 0 && stride[*r - 1] == src_strides[d] * dims[d]) {
            n[*r - 1] *= dims[d];
            stride[*r - 1] = src_strides[d];
            continue;
        }
        n[*r] = dims[d];
        stride[*r] = src_strides[d];
        (*r)++;
    }
    return true;
}

void kl_copy_strided(void *dst, const void *src, int rank, const int64_t *dims,
                     const int64_t *src_strides, size_t esize)
{
    kl_copy_strided_with(NULL, dst, src, rank, dims, src_strides, esize);
}

void kl_copy_strided_with(const kl_kernels *kern, void *dst, const void *src, int rank, const int64_t *dims,
                          const int64_t *src_strides, size_t esize)
{
    int64_t n[KL_MAX_RANK], stride[KL_MAX_RANK], dst_stride[KL_MAX_RANK];
    int r;
    if (!collapse_view(rank, dims, src_strides, &r, n, stride))
        return;
    if (r == 0) {
        memcpy(dst, src, esize);
        return;
    }
    kl_row_major_strides(r, n, dst_stride);
    for (int d = 0; d < r; d++)
        dst_stride[d] *= (int64_t)esize;
    /* When the rows are gathered from scattered elements, find the dim the
     * source stores contiguously and copy (that dim x row) planes. */
    int inner = r - 1, plane = -1;
    for (int d = 0; d < inner && stride[inner] != (int64_t)esize; d++)
        if (stride[d] == (int64_t)esize)
            plane = d;
    /* odometer over the remaining dims */
    int64_t idx[KL_MAX_RANK] = {0}, src_off = 0, dst_off = 0;
    for (;;) {
        if (plane >= 0)
            copy_plane(kern, (char *)dst + dst_off, (const char *)src + src_off, n[plane], n[inner],
                       dst_stride[plane], stride[inner], esize);
        else
            copy_row((char *)dst + dst_off, (const char *)src + src_off, n[inner], stride[inner],
                     esize);
        int d = inner - 1;
        for (; d >= 0; d--) {
            if (d == plane)
                continue;
            src_off += stride[d];
            dst_off += dst_stride[d];
            if (++idx[d] < n[d])
                break;
            src_off -= stride[d] * n[d];
            dst_off -= dst_stride[d] * n[d];
            idx[d] = 0;
        }
        if (d < 0)
            return;
    }
}

/* Bytes from which kl_copy_strided_on shares a copy out. */
#define COPY_SPLIT_BYTES (128 << 10)

typedef struct copy_job {
    const kl_kernels *kern;
    char *dst;
    const char *src;
    int rank, axis;             /* the dim split */
    const int64_t *dims, *src_strides;
    int64_t dst_step;           /* bytes of the output per index of axis */
    size_t esize;
} copy_job;

static void copy_part(void *arg, int64_t lo, int64_t hi)
{
    const copy_job *j = arg;
    int64_t dims[KL_MAX_RANK];
    memcpy(dims, j->dims, (size_t)j->rank * sizeof *dims);
    dims[j->axis] = hi - lo;
    kl_copy_strided_with(j->kern, j->dst + lo * j->dst_step, j->src + lo * j->src_strides[j->axis], j->rank, dims,
                         j->src_strides, j->esize);
}

void kl_copy_strided_on(const kl_opctx *c, void *dst, const void *src, int rank, const int64_t *dims,
                        const int64_t *src_strides, size_t esize)
{
    int axis = -1;
    int64_t total = (int64_t)esize;
    for (int d = 0; d < rank; d++) {
        total *= dims[d];
        if (axis < 0 && dims[d] > 1)
            axis = d;
    }
    if (axis < 0 || total < COPY_SPLIT_BYTES || kl_pool_threads(c->pool) < 2) {
        kl_copy_strided_with(c->env->kern, dst, src, rank, dims, src_strides, esize);
        return;
    }
    copy_job j = {c->env->kern, dst, src, rank, axis, dims, src_strides, total / dims[axis], esize};
    kl_parallel_for(c->pool, dims[axis], copy_part, &j);
}

void kl_fill(void *dst, int64_t n, const void *value, size_t esize)
{
    if (n <= 0)
        return;
    char *d = dst;
    size_t total = (size_t)n * esize, done = esize;
    memcpy(d, value, esize);
    /* double the filled prefix until it covers everything */
    while (done < total) {
        size_t chunk = done < total - done ? done : total - done;
        memcpy(d + done, d, chunk);
        done += chunk;
    }
}

keel_status kl_copy_input0(kl_opctx *c)
{
    if (c->out[0]->data != c->in[0]->data && kl_nbytes(c->in[0]) > 0)
        memmove(c->out[0]->data, c->in[0]->data, kl_nbytes(c->in[0]));
    return KEEL_OK;
}
