/* kernels.h -- the kernel table: every kernel whose code depends on the
 * instruction set, as one function pointer, in one const table per
 * instruction set (generic, avx2, avx512).  A session's table is chosen
 * once, in kl_env_init, from keel_options.isa and the CPU (env->isa), and
 * every kernel reaches it through the env: c->env->kern->NAME.fn(...).
 * The generic table holds portable C only; x86 code (intrinsics, loops
 * compiled for AVX2) lives in ops/kernels/x86/ and only the avx2 and
 * avx512 tables point at it.
 *
 * KL_KERNEL_LIST below is the one list of entries: its name, the
 * function type (klk_NAME_fn), and which build of it each table takes:
 *   none     no such kernel on this instruction set (fn NULL, isa 0)
 *   generic  klk_NAME_generic, the portable C
 *   avx2     klk_NAME_avx2 (hand-written, or the portable loop built for
 *            AVX2+FMA by ops/kernels/x86/<kernel>_avx2.c)
 *   avx512   klk_NAME_avx512
 * A portable kernel file names its functions KL_KFN(NAME); its x86 twin
 * defines KL_KISA avx2 and includes it, which yields klk_NAME_avx2. */
#ifndef KL_KERNELS_H
#define KL_KERNELS_H

#include "conv.h"

struct pool_geom; /* ops/drivers/pool.h */

/* Function types of the entries. */
typedef void klk_epilogue_fn(const kl_epilogue *e, float bias, float *out, size_t offset, size_t n);
/* out[i] = sigmoid(out[i]), times out[i] when times_x (SiLU) */
typedef void klk_sigmoid_fn(float *out, size_t n, bool times_x);
/* out[i] = gelu(out[i]), the erf form or, when tanh_form, the tanh one
 * (ops/kernels/vecmath.c) */
typedef void klk_gelu_fn(float *out, size_t n, bool tanh_form);
/* y[i] = f(x[i]) for exp, erf and tanh (ops/kernels/vecmath.c; y may be x) */
typedef void klk_map_fn(float *y, const float *x, size_t n);
/* y[i] = pow(x[i], e) */
typedef void klk_pow_fn(float *y, const float *x, size_t n, float e);
/* ops/kernels/pointwise.c's panels: 6x16 tiles (bp: the block's packed X,
 * edge: one tile) and 12x32 tiles (work: a step of X) */
typedef void klk_pointwise6_fn(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1,
                               const float *bp, float *edge);
typedef void klk_pointwise12_fn(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1,
                                float *work);
/* channel-vector products (conv.h): blocks [b0, b1) of KL_CV_NB output
 * channels at positions [j0, j1), X's column j0 at x (rows ldx apart); t
 * holds kl_cv_range_floats(j1 - j0) */
typedef void klk_cvprod_fn(const kl_cv_span *s, const float *x, int64_t ldx, int64_t b0, int64_t b1, int64_t j0,
                           int64_t j1, float *t);
/* the blocked layout's convolution: output rows [r0, r1) of output
 * channels [KL_CV_NB group, KL_CV_NB group + KL_CV_NB) (the blocks there
 * are); MaxPool: rows [r0, r1) of block b */
typedef void klk_bconv_fn(const kl_bc_span *s, int64_t group, int64_t r0, int64_t r1);
typedef void klk_bmaxpool_fn(const kl_bp_span *s, int64_t b, int64_t r0, int64_t r1);
/* depthwise, rows [r0, r1) of block b */
typedef void klk_bdwconv_fn(const kl_bc_span *s, int64_t b, int64_t r0, int64_t r1);
/* the blocked layout's elementwise kernels over n positions of one block:
 * y = x times the block's scale s (one value a channel); sum = the block's
 * sums of x */
typedef void klk_bscale_fn(float *y, const float *x, const float *s, int64_t n);
typedef void klk_bsum_fn(const float *x, int64_t n, float *sum);
/* one block of hw positions back to the plain layout: its first `lanes`
 * channels into planes of y, hw apart */
typedef void klk_bfrom_fn(const float *x, int64_t hw, int64_t lanes, float *y);
/* kl_pw_pack_rows for the 12x32 and the 6x16 tiles: rows [row0, row0 +
 * rows) of W [m][k], given as w [rows][k], into their panels of packed */
typedef void klk_pack12_fn(int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *packed);
/* dst[i * ld_dst + j] = src[i + j * ld_src] for i < rows, j < cols: a plane
 * of 4-byte elements transposed (ops/drivers/eltwise.c's kl_copy_strided_with) */
typedef void klk_transpose_plane_fn(uint32_t *dst, const uint32_t *src, int64_t rows, int64_t cols,
                                    int64_t ld_dst, int64_t ld_src);
/* dst[i] = src[2 i] for i < n, reading src[0 .. 2 n - 1) only */
typedef void klk_take_even_fn(float *dst, const float *src, int64_t n);
/* depthwise (ops/kernels/depthwise.c): a K x K stride-S plane on the
 * padded plane e (its even columns for S == 2, o the odd ones), rows ld
 * apart, into y [oh][ow]; the columns [c0, c1) of a padded row split into
 * even and odd; L channels interleaved over one group of them */
typedef void klk_dw_rows_fn(int K, int S, const float *e, const float *o, int64_t ld, const float *w, float bias,
                            float *y, int64_t oh, int64_t ow);
typedef void klk_dw_split_row_fn(const float *row, int64_t c0, int64_t c1, float *e, float *o);
typedef void klk_dw_group_fn(const kl_conv_geom *g, const float *x, const float *w, const float *bias, float *y,
                             int64_t ch0, float *buf);
/* rows [kb, kb + kc) of one group's unfolded input, positions [j0, j1) */
typedef void klk_im2col_fn(const kl_conv_geom *g, const float *x, int64_t kb, int64_t kc, int64_t j0, int64_t j1,
                           float *cols, int64_t ldc);
/* adds cols (mg * k_size rows of in_size) where they land in y */
typedef void klk_col2im_fn(const ct_geom *g, const float *cols, int64_t mg, float *y);
/* Winograd F(t x t, 3x3) transforms (ops/kernels/winograd_transform.c) */
typedef void klk_wino_input_fn(int t, const float *rows, float *cols, int64_t width, int64_t tw, float *v,
                               int64_t estride);
/* F(2x2, 3x3)'s input transform of one tile row straight from a plane of
 * ih x iw: input rows iy0 .. iy0 + 3, columns from ix0, zero outside */
typedef void klk_wino_input_plane_fn(const float *plane, int64_t ih, int64_t iw, int64_t iy0, int64_t ix0,
                                     int64_t tw, float *v, int64_t estride);
typedef void klk_wino_output_fn(int t, const float *mm, int64_t estride, int64_t tw, float bias, float *part,
                                float *out);
/* F(2x2, 3x3)'s output transform of one tile row straight into `rows`
 * (1 or 2) rows of an output plane ow wide, at y, plus bias */
typedef void klk_wino_output_plane_fn(const float *mm, int64_t estride, int64_t tw, float bias, float *y, int64_t ow,
                                      int64_t rows);
typedef void klk_wino_filters_fn(const kl_conv_geom *g, int t, const float *w, int64_t m0, int64_t rows, float *u);
/* mean and variance of `groups` rows of len */
typedef void klk_moments_fn(const float *x, int64_t groups, int64_t len, double *mean, double *var);
/* y = x * a + b over one plane of n (y == x allowed) */
typedef void klk_bn_plane_fn(const float *x, float *y, int64_t n, float a, float b);
/* one plane of LRN: the squares of channels xs[0 .. count) (planes n apart)
 * scaled into y = x * (bias + k * sum)^-beta */
typedef void klk_lrn_plane_fn(float *y, const float *x, const float *xs, int64_t count, int64_t n, float bias,
                              float k, float beta);
/* LayerNormalization over rows of len: y = (x - mean) / sqrt(var + eps)
 * * scale + bias per row (scale, bias: len each), with the row's mean and
 * 1 / sqrt(var + eps) into mean[r] and inv[r] unless NULL */
typedef void klk_layernorm_fn(const float *x, float *y, int64_t rows, int64_t len, const float *scale,
                              const float *bias, float eps, float *mean, float *inv);
/* one row of n (kind: kl_softmax_kind) of x times scale (y may be x), and
 * w <= 64 strided rows */
typedef void klk_softmax_row_fn(int kind, float *y, const float *x, int64_t n, float scale);
typedef void klk_softmax_chunk_fn(int kind, float *y, const float *x, int64_t len, int64_t inner, int64_t w);
/* the mean and the maximum (NaN never wins) of a plane of n */
typedef float klk_plane_fn(const float *x, int64_t n);
/* `planes` consecutive planes of AveragePool; of MaxPool (idx: NULL, or
 * their Indices, which are idx_base plus the offset from the first plane) */
typedef void klk_avgpool_fn(const struct pool_geom *g, bool include_pad, int64_t planes, const float *x, float *y);
typedef void klk_maxpool_fn(int dtype, const struct pool_geom *g, int64_t planes, const void *x, void *y, int64_t *idx,
                            int64_t idx_base);
/* The reduction loop of ops/drivers/reduce.c for a kind and dtype:
 * y[k] = comb(y[k], map(x[k * n + i])), see there. */
typedef void (*klk_reduce_loop)(void *y, const void *x, int64_t n, bool run, int64_t runs, const void *shift);
typedef klk_reduce_loop klk_reduce_fn(int kind, int dtype);

/* X(NAME, generic table, avx2 table, avx512 table) */
#define KL_KERNEL_LIST(X)                              \
    X(epilogue, generic, avx2, avx2)                   \
    X(sigmoid, generic, avx2, avx512)                  \
    X(gelu, generic, avx2, avx512)                     \
    X(exp, generic, avx2, avx512)                      \
    X(erf, generic, avx2, avx512)                      \
    X(tanh, generic, avx2, avx512)                     \
    X(pow, generic, avx2, avx512)                      \
    X(pointwise6, none, avx2, avx2)                    \
    X(pointwise12, none, none, avx512)                 \
    X(pack12, none, none, avx512)                      \
    X(cvprod, none, none, avx512)                      \
    X(bconv, none, avx2, avx512)                       \
    X(bmaxpool, none, avx2, avx512)                    \
    X(bdwconv, none, avx2, avx512)                     \
    X(bfrom, none, avx2, avx512)                       \
    X(bscale, none, avx2, avx512)                      \
    X(bsum, none, avx2, avx512)                        \
    X(pack6, none, avx2, avx2)                         \
    X(take_even, generic, avx2, avx2)                  \
    X(transpose_plane, generic, avx2, avx512)          \
    X(dw_rows, none, avx2, avx2)                       \
    X(dw_split_row, generic, avx2, avx2)               \
    X(dw_group8, none, avx2, avx2)                     \
    X(dw_group16, none, none, avx512)                  \
    X(im2col, generic, avx2, avx2)                     \
    X(col2im, generic, avx2, avx2)                     \
    X(wino_input, generic, avx2, avx2)                 \
    X(wino_input_plane, none, avx2, avx512)            \
    X(wino_output_plane, none, avx2, avx512)           \
    X(wino_output, generic, avx2, avx2)                \
    X(wino_filters, generic, avx2, avx2)               \
    X(moments, generic, avx2, avx2)                    \
    X(bn_plane, generic, avx2, avx2)                   \
    X(lrn_plane, generic, avx2, avx2)                  \
    X(layernorm, generic, avx2, avx512)                \
    X(softmax_row, generic, avx2, avx512)              \
    X(softmax_chunk, generic, avx2, avx2)              \
    X(plane_mean, generic, avx2, avx2)                 \
    X(plane_max, generic, avx2, avx2)                  \
    X(avgpool, generic, avx2, avx2)                    \
    X(maxpool, generic, avx2, avx512)                  \
    X(reduce, generic, avx2, avx2)

/* entries that share a type */
typedef klk_plane_fn klk_plane_mean_fn, klk_plane_max_fn;
typedef klk_map_fn klk_exp_fn, klk_erf_fn, klk_tanh_fn;
typedef klk_dw_group_fn klk_dw_group8_fn, klk_dw_group16_fn;
typedef klk_pack12_fn klk_pack6_fn;

#define KL_KERNEL_FIELD(NAME, G, A2, A5) \
    struct {                             \
        klk_##NAME##_fn *fn;             \
        int isa; /* keel_isa it was compiled for, 0 for none */ \
    } NAME;

typedef struct kl_kernels {
    int isa;   /* the keel_isa this table is for */
    int block; /* channels of a block of the blocked layout (conv.h): 16, 8, or 0 for none */
    KL_KERNEL_LIST(KL_KERNEL_FIELD)
} kl_kernels;

/* The builds of each entry that the tables take. */
#define KL_KDECL_none(NAME)
#define KL_KDECL_generic(NAME) klk_##NAME##_fn klk_##NAME##_generic;
#define KL_KDECL_avx2(NAME) klk_##NAME##_fn klk_##NAME##_avx2;
#define KL_KDECL_avx512(NAME) klk_##NAME##_fn klk_##NAME##_avx512;
#define KL_KDECL(NAME, G, A2, A5) KL_KDECL_##G(NAME) KL_KDECL_##A2(NAME) KL_KDECL_##A5(NAME)
KL_KERNEL_LIST(KL_KDECL)

/* The name of kernel NAME in the build KL_KISA (generic unless an x86
 * twin says otherwise). */
#ifndef KL_KISA
#define KL_KISA generic
#endif
#define KL_KCAT2(a, b) a##_##b
#define KL_KCAT(a, b) KL_KCAT2(a, b)
#define KL_KFN(NAME) KL_KCAT(klk_##NAME, KL_KISA)

extern const kl_kernels kl_kernels_generic;

/* The table for isa (a keel_isa the CPU runs): the highest built one not
 * above it. */
const kl_kernels *kl_kernels_for(int isa);

/* How many entries of k were compiled for isa (0: absent). */
int kl_kernels_count(const kl_kernels *k, int isa);

/* Whether k has ops/kernels/pointwise.c's product, and whether on its
 * 12x32 tiles (W packed for those). */
static inline bool kl_pw_usable(const kl_kernels *k)
{
    return k->pointwise6.fn || k->pointwise12.fn;
}

static inline bool kl_pw_wide(const kl_kernels *k)
{
    return k->pointwise12.fn != NULL;
}

#endif
