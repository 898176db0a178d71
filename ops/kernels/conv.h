/* conv.h -- the geometry of a convolution and the kernels behind Conv
 * (ops/conv.c): depthwise (ops/kernels/depthwise.c), Winograd
 * (ops/kernels/winograd.c) and the packed products
 * (ops/kernels/pointwise.c); the geometry of ConvTranspose. */
#ifndef KL_CONV_KERNELS_H
#define KL_CONV_KERNELS_H

#include "../op.h"

#define KL_CONV_SP 3  /* spatial dims handled: D, H, W */

typedef struct kl_conv_geom {
    int nsp;                    /* spatial rank of the model's tensors (1-3) */
    int64_t n, c, m, group;     /* batch, in channels, out channels, groups */
    int64_t in[KL_CONV_SP], out[KL_CONV_SP], k[KL_CONV_SP], stride[KL_CONV_SP], dil[KL_CONV_SP];
    int64_t pad[KL_CONV_SP];    /* leading pad */
    int64_t in_size, out_size, k_size; /* products over the spatial dims */
    const struct kl_kernels *kern; /* the session's kernels */
} kl_conv_geom;

/* The geometry of a convolution of x by w under c's node's attributes
 * (element types unchecked); fails naming the mismatch. */
keel_status kl_conv_geometry(kl_opctx *c, const kl_tensor *x, const kl_tensor *w, kl_conv_geom *g);

/* The session's threads for a kernel step of about `macs` multiply-adds,
 * or NULL (run inline) when waking the workers would cost more than the
 * work.  Counted in multiply-adds, not outputs: a 1x1 conv from 960
 * channels to 320 on a 7x7 map has few outputs and much work. */
static inline kl_pool *kl_conv_pool(const kl_opctx *c, int64_t macs)
{
    return macs >= 65536 ? c->pool : NULL;
}

/* Work a kl_parallel_for hands to each thread whole (a conv's images, a
 * Winograd map's bands) runs as one thread sees c: without the pool, so
 * that what it calls runs inline, on slot `slot` of c's scratch, which
 * holds one kl_conv_slot_bytes(bytes) slot per thread. */
static inline size_t kl_conv_slot_bytes(size_t bytes)
{
    return (bytes + 63) / 64 * 64; /* a whole number of cache lines */
}

static inline kl_opctx kl_conv_ctx_alone(const kl_opctx *c, int slot, size_t slot_bytes)
{
    kl_opctx one = *c;
    one.pool = NULL;
    one.scratch = (char *)c->scratch + (size_t)slot * slot_bytes;
    one.scratch_size = slot_bytes;
    return one;
}

/* Sets out to [N, M, output spatial dims] of type dtype. */
void kl_conv_set_output(const kl_conv_geom *g, kl_tensor *out, int dtype);

/* ---- depthwise: one input and one output channel per group, D == 1 ---- */

bool kl_dw_applies(const kl_conv_geom *g);
size_t kl_dw_scratch(const kl_conv_geom *g, int threads);
/* Extent of the padded plane of the channel-blocked kernels (dw_group8,
 * dw_group16 of kernels.h), which take MAX_LANES interleaved planes,
 * outputs, weights and biases in their buffer. */
void kl_dw_blocked_dims(const kl_conv_geom *g, int64_t *ph, int64_t *pw);
/* y = act(conv(x, w) + bias + residual) for all n * c planes, split over
 * the session's threads. */
void kl_dw_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *w, const float *bias,
               float *y);

/* ---- Winograd F(2x2, 3x3) (F(4x4, 3x3) with -DKL_WINOGRAD_F4): 2-D, 3x3,
 * stride 1, dilation 1, one group ---- */

bool kl_wino_applies(const kl_conv_geom *g);
size_t kl_wino_scratch(const kl_conv_geom *g, int threads);
/* The weights transformed once: [a*a][m][c] (16 for F(2x2), 36 for F(4x4)),
 * each [m][c] packed for ops/pointwise.c's kernel when it does the
 * products; kl_alloc'ed, *bytes set. */
float *kl_wino_pack(kl_env *env, const kl_conv_geom *g, const float *w, size_t *bytes);
/* Images [n0, n1) of the batch x (all of g's images) into y. */
void kl_wino_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *packed, const float *bias,
                 float *y, int64_t n0, int64_t n1);

/* ---- W X products for one group (ops/kernels/pointwise.c): 1x1 convs on the
 * input, other convs on im2col's columns ---- */

/* Rows [kb, kb + kc) of X's columns [j0, j1) into dst, rows ld apart:
 * X made on the way instead of read from memory (im2col's columns). */
typedef void (*kl_pw_fill_fn)(const void *arg, int64_t kb, int64_t kc, int64_t j0, int64_t j1, float *dst,
                              int64_t ld);

/* One product's operands and where its result goes: Y [m][..] (rows ldy
 * apart, at element y_offset of the output) = packed W [m][k] times X
 * [k][..] (rows ldx apart) + bias, then epi when not NULL. */
typedef struct kl_pw_span {
    int64_t m, k, ldx, ldy;
    bool whole;             /* (pointwise6) the block of X is packed whole, not only its partial chunk */
    const float *x, *packed, *bias;
    float *y;
    const kl_epilogue *epi;
    size_t y_offset;
    kl_pw_fill_fn fill;     /* (pointwise12) X from fill(fill_arg, ...) instead of x, or NULL */
    const void *fill_arg;
    const float *xp;        /* X packed by kl_pw_xpack instead of x, or NULL */
} kl_pw_span;

/* ---- channel-vector products (ops/kernels/x86/cvprod_avx512.c): Y = W X
 * for maps of few positions, the vectors along the output channels ---- */

#define KL_CV_NB 64  /* output channels of a packed block of W */
#define KL_CV_KC 128 /* steps of k per pass over a range of positions */
/* Ranges per thread (kl_parallel_for_fine) where the threads split W by
 * blocks of KL_CV_NB channels (ops/conv.c's cv_image, ops/blockedconv.c):
 * on the shared 2-vCPU host one thread often ran its half of W 20-30 %
 * slower than the other (which of the two changed from run to run), and
 * claimed a few at a time the other takes its last blocks (two threads:
 * ResNet-50 2-3 % faster, EfficientNet-B0 2-6 %).  Splits by positions or
 * rows keep one range a thread: every kernel's ranges four to a thread
 * made MobileNet-v2 13 % slower on two threads. */
#define KL_CV_SPLIT_RANGES 4

/* Y [m][n] (rows n apart, at element y_offset of the output) = W [m][k]
 * packed by kl_cv_pack times X [k][n] + bias, then epi when not NULL.  X
 * comes with each call (cvprod of kernels.h). */
typedef struct kl_cv_span {
    int64_t m, k, n;
    const float *packed, *bias;
    float *y;
    size_t y_offset;
    const kl_epilogue *epi;
} kl_cv_span;

/* Blocks of KL_CV_NB output channels for m of them. */
static inline int64_t kl_cv_blocks(int64_t m)
{
    return (m + KL_CV_NB - 1) / KL_CV_NB;
}

/* W [m][k] as blocks of KL_CV_NB rows, each [k][KL_CV_NB] (rows past m
 * zero): p holds kl_cv_packed_floats(m, k). */
size_t kl_cv_packed_floats(int64_t m, int64_t k);
void kl_cv_pack(int64_t m, int64_t k, const float *w, float *p);
/* Floats of the scratch cvprod takes for a range of n positions. */
size_t kl_cv_range_floats(int64_t n);

/* ---- the blocked layout (ops/blockedconv.c, ops/blockedmaxpool.c,
 * ops/fromblocked.c): channels in blocks of B, the kernel table's block
 * (16 on AVX-512, 8 on AVX2: one vector), a tensor [N][C][H][W] held as
 * [N][ceil(C / B)][H][W][B], the lanes past C zero ---- */

/* One image's convolution into the blocked layout (bconv of kernels.h):
 * Y = W X + bias, then the residual and the clamp [lo, hi]. */
typedef struct kl_bc_span {
    const float *x;         /* the image's input */
    bool plain;             /* x in the plain layout: one block of cpb channels */
    int64_t cpb;            /* channels of an input block: B, or C when plain */
    int64_t x_block, x_row, x_col, x_ch; /* strides in floats: blocks, rows, columns, channels of a block */
    int64_t in_blocks;      /* blocks of input channels */
    int64_t pass_blocks;    /* input blocks per pass over the output rows */
    int64_t ih, iw, kh, kw, sh, sw, ph, pw; /* input extent, kernel, strides, leading pads */
    int64_t oh, ow;
    int64_t m_blocks;       /* output blocks */
    int64_t k;              /* in_blocks * kh * kw * cpb: W's steps */
    const float *packed;    /* W by kl_cv_pack, k ordered block, tap row, tap column, channel */
    const float *bias;      /* m_blocks * B values, or NULL */
    const float *res;       /* the residual in Y's layout, or NULL */
    float lo, hi;           /* the clamp (-inf, inf: none) */
    float *y;               /* the image's output */
} kl_bc_span;

/* One image's MaxPool in the blocked layout (bmaxpool of kernels.h),
 * dilation 1; windows clipped to the input. */
typedef struct kl_bp_span {
    const float *x;
    float *y;
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, ph, pw;
} kl_bp_span;

/* ---- transposed convolution (ops/convtranspose.c) ---- */

typedef struct ct_geom {
    int nsp;                         /* spatial rank of the model's tensors (1-3) */
    int64_t n, c, m, group;          /* batch, in channels, out channels, groups */
    int64_t in[KL_CONV_SP], out[KL_CONV_SP], k[KL_CONV_SP], stride[KL_CONV_SP], dil[KL_CONV_SP], pad[KL_CONV_SP]; /* pad: leading */
    int64_t in_size, out_size, k_size;
} ct_geom;

/* The inputs i in [*lo, *hi) whose tap at kernel offset k lands inside the
 * output of dim d: 0 <= i * stride - pad + k * dil < out. */
static inline void tap_range(const ct_geom *g, int d, int64_t k, int64_t *lo, int64_t *hi)
{
    const int64_t s = g->stride[d], off = k * g->dil[d] - g->pad[d];
    /* i >= ceil(-off / s) and i <= floor((out - 1 - off) / s) */
    int64_t first = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t last_excl = g->out[d] - 1 - off < 0 ? 0 : (g->out[d] - 1 - off) / s + 1;
    *lo = first;
    *hi = last_excl < g->in[d] ? last_excl : g->in[d];
    if (*hi < *lo)
        *hi = *lo;
}

/* The two layouts of packed W.  pointwise6 (6x16 tiles): panels of 6
 * rows, k-major.  pointwise12 (12x32 tiles): panels of 12 rows cut into
 * steps of KL_PW12_KC values of k and laid out step by step
 * ([step][panel][kc][12]); panel p's values for steps [kb, kb + kc) sit
 * at kl_pw12_panel_at. */
#define KL_PW6_MR 6
#define KL_PW6_NR 16
#define KL_PW12_MR 12
#define KL_PW12_KC 256

static inline int64_t kl_pw12_panels(int64_t m)
{
    return (m + KL_PW12_MR - 1) / KL_PW12_MR;
}

static inline int64_t kl_pw12_panel_at(int64_t panels, int64_t p, int64_t kb, int64_t kc)
{
    return kb * panels * KL_PW12_MR + p * kc * KL_PW12_MR;
}

/* Scratch of kl_pw_run and kl_pw_product for W [m][k] on hw columns. */
size_t kl_pw_scratch(const struct kl_kernels *kern, int64_t m, int64_t k, int64_t hw, int threads);
/* The same packing for kern into p, which holds kl_pw_packed_floats(kern, m, k). */
size_t kl_pw_packed_floats(const struct kl_kernels *kern, int64_t m, int64_t k);
void kl_pw_pack_into(const struct kl_kernels *kern, int64_t m, int64_t k, const float *w, float *p);
/* Rows [row0, row0 + rows) of W [m][k], given as w [rows][k], into their
 * place in p: row0 a multiple of kl_pw_panel_rows(kern), and rows too
 * unless the range ends at m (the last panel's rows past m are zeroed).
 * Packing W block by block so saves holding all of it in plain layout. */
void kl_pw_pack_rows(const struct kl_kernels *kern, int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *p);
/* Rows of W in one packed panel for kern: 6 (pointwise6) or 12 (pointwise12). */
int kl_pw_panel_rows(const struct kl_kernels *kern);
/* y [m][n] = packed x [k][n] on the calling thread, no bias, no epilogue;
 * work holds kl_pw_scratch(kern, m, k, n, 1) bytes. */
void kl_pw_product(const struct kl_kernels *kern, int64_t m, int64_t k, int64_t n, const float *x, int64_t ldx, const float *packed,
                   float *y, int64_t ldy, float *work);
/* y [m][hw] = act(packed x [k][hw] + bias + residual), x and y with row
 * strides ldx and ldy; y_offset is y's element offset in the output;
 * work holds kl_pw_scratch bytes. */
void kl_pw_run(kl_opctx *c, int64_t m, int64_t k, int64_t hw, const float *x, int64_t ldx, const float *packed,
               const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);
/* X [k][n] packed once for kern's tiles into chunks of kl_pw_xchunk(kern)
 * columns, each [k][chunk] and the last padded with zeros: a tile then
 * reads its columns of X as one sequential stream, where X's own rows,
 * far apart, defeat the prefetchers (MatMul's constant B, thousands of
 * columns wide).  Element (i, j) of X is x[i * row_stride + j *
 * col_stride] (Gemm's transB: col_stride k).  dst holds
 * kl_pw_xpack_floats(kern, k, n). */
int kl_pw_xchunk(const struct kl_kernels *kern);
size_t kl_pw_xpack_floats(const struct kl_kernels *kern, int64_t k, int64_t n);
void kl_pw_xpack(const struct kl_kernels *kern, int64_t k, int64_t n, const float *x, int64_t row_stride,
                 int64_t col_stride, float *dst);
/* The products of MatMul and Gemm on the packed tiles: Y [m][n] (rows n
 * apart, at element y_offset of the output) = A [m][k] (row-major, packed
 * into c->scratch on c's threads: it is the activation) times B, read in
 * place (b, rows ldb apart) or packed by kl_pw_xpack (bp, else NULL);
 * c's epilogue applied block by block when `epilogue` is set.  c->scratch
 * holds kl_pw_gemm_scratch bytes, for kl_pw_gemm_here when `per_thread`
 * (each thread packs its own A). */
size_t kl_pw_gemm_scratch(const kl_opctx *c, int64_t m, int64_t k, int64_t n, bool per_thread);
void kl_pw_gemm(kl_opctx *c, int64_t m, int64_t k, int64_t n, const float *a, const float *b, int64_t ldb,
                const float *bp, bool epilogue, float *y, size_t y_offset);
/* kl_pw_gemm with its epilogue on the calling thread alone, from inside
 * a kl_parallel_for over c's pool (a product per batch of MatMul). */
void kl_pw_gemm_here(kl_opctx *c, int64_t m, int64_t k, int64_t n, const float *a, const float *b, int64_t ldb,
                     const float *bp, float *y, size_t y_offset);
/* kl_pw_run on X made step by step by fill (pointwise12 only: kl_pw_wide);
 * work holds kl_pw_scratch bytes. */
void kl_pw_run_filled(kl_opctx *c, int64_t m, int64_t k, int64_t hw, kl_pw_fill_fn fill, const void *fill_arg,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);
/* kl_pw_run on the calling thread alone, from inside a kl_parallel_for
 * over c's pool: it uses the calling thread's slot of work, which holds
 * kl_pw_scratch(kern, m, k, sized_hw, threads) bytes for sized_hw >= hw
 * (the slots are as far apart as that sizing put them, whatever hw this
 * call has). */
void kl_pw_run_here(kl_opctx *c, int64_t m, int64_t k, int64_t hw, int64_t sized_hw, const float *x, int64_t ldx,
                    const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);

#endif
