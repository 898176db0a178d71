/* ops/kernels/conv.h -- the geometry of a convolution and the kernels behind
 * Conv (ops/conv.c): depthwise (ops/kernels/depthwise.c) and Winograd
 * (ops/kernels/winograd.c). */
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
    int isa;                    /* keel_isa of the session's kernels */
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

/* Sets out to [N, M, output spatial dims] of type dtype. */
void kl_conv_set_output(const kl_conv_geom *g, kl_tensor *out, int dtype);

/* kl_epilogue_apply after adding bias to every element (ops/kernels/epilogue.c). */
KL_HOT_DECL void kl_epilogue_bias_apply(const kl_epilogue *e, float bias, float *out, size_t offset, size_t n);

/* ---- depthwise: one input and one output channel per group, D == 1 ---- */

bool kl_dw_applies(const kl_conv_geom *g);
size_t kl_dw_scratch(const kl_conv_geom *g, int threads);
/* dst[i] = src[2 i] for i < n (stride-2 rows), reading src[0 .. 2 n - 1). */
void kl_take_even(int isa, float *dst, const float *src, int64_t n);
/* y = act(conv(x, w) + bias + residual) for all n * c planes, split over
 * the session's threads. */
void kl_dw_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *w, const float *bias,
               float *y);

/* ---- Winograd F(4x4, 3x3): 2-D, 3x3, stride 1, dilation 1, one group ---- */

bool kl_wino_applies(const kl_conv_geom *g);
size_t kl_wino_scratch(const kl_conv_geom *g, int threads);
/* The weights transformed once: [36][m][c]; kl_alloc'ed, *bytes set. */
float *kl_wino_pack(kl_env *env, const kl_conv_geom *g, const float *w, size_t *bytes);
void kl_wino_run(kl_opctx *c, const kl_conv_geom *g, const float *x, const float *packed, const float *bias,
                 float *y);

/* ---- W X products for one group (ops/kernels/pointwise.c): 1x1 convs on the
 * input, other convs on im2col's columns ---- */

/* Whether the session's kernels include this one (AVX2 and FMA), and
 * whether it runs its AVX-512 tiles (ops/kernels/x86/pointwise_avx512.c) instead. */
static inline bool kl_pw_usable(int isa)
{
    return isa >= KEEL_ISA_AVX2;
}

static inline bool kl_pw_avx512(int isa)
{
    return isa >= KEEL_ISA_AVX512;
}

/* Rows [kb, kb + kc) of X's columns [j0, j1) into dst, rows ld apart:
 * X made on the way instead of read from memory (im2col's columns). */
typedef void (*kl_pw_fill_fn)(const void *arg, int64_t kb, int64_t kc, int64_t j0, int64_t j1, float *dst,
                              int64_t ld);

/* One product's operands and where its result goes: Y [m][..] (rows ldy
 * apart, at element y_offset of the output) = packed W [m][k] times X
 * [k][..] (rows ldx apart) + bias, then epi when not NULL. */
typedef struct kl_pw_span {
    int64_t m, k, ldx, ldy;
    bool whole;             /* (AVX2) the block of X is packed whole, not only its partial chunk */
    const float *x, *packed, *bias;
    float *y;
    const kl_epilogue *epi;
    size_t y_offset;
    kl_pw_fill_fn fill;     /* (AVX-512) X from fill(fill_arg, ...) instead of x, or NULL */
    const void *fill_arg;
} kl_pw_span;

/* Rows of W's panels [p0, p1) times columns [j0, j1) of X on AVX-512,
 * the epilogue included; work holds kl_pw_avx512_work_floats (a step of
 * X's rows copied when they are not 64-byte aligned). */
void kl_pw_panels_avx512(const kl_pw_span *s, int64_t p0, int64_t p1, int64_t j0, int64_t j1, float *work);
size_t kl_pw_avx512_work_floats(int64_t m, int64_t k, int64_t n);
/* Columns per block for it, of n, for W [m][k]. */
int64_t kl_pw_avx512_cols(int64_t m, int64_t k, int64_t n);
/* Its panels of W (p0, p1 above count them) and W packed for it. */
int64_t kl_pw_avx512_panels(int64_t m);
size_t kl_pw_avx512_packed_floats(int64_t m, int64_t k);
void kl_pw_avx512_pack_rows(int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *packed);
/* W [m][k] packed once for env's isa; kl_alloc'ed, *bytes set. */
float *kl_pw_pack(kl_env *env, int64_t m, int64_t k, const float *w, size_t *bytes);
/* Scratch of kl_pw_run and kl_pw_product for W [m][k] on hw columns. */
size_t kl_pw_scratch(int isa, int64_t m, int64_t k, int64_t hw, int threads);
/* The same packing for isa into p, which holds kl_pw_packed_floats(isa, m, k). */
size_t kl_pw_packed_floats(int isa, int64_t m, int64_t k);
void kl_pw_pack_into(int isa, int64_t m, int64_t k, const float *w, float *p);
/* Rows [row0, row0 + rows) of W [m][k], given as w [rows][k], into their
 * place in p: row0 a multiple of kl_pw_panel_rows(isa), and rows too
 * unless the range ends at m (the last panel's rows past m are zeroed).
 * Packing W block by block so saves holding all of it in plain layout. */
void kl_pw_pack_rows(int isa, int64_t m, int64_t k, int64_t row0, int64_t rows, const float *w, float *p);
/* Rows of W in one packed panel for isa: 6 (AVX2, generic) or 12 (AVX-512). */
int kl_pw_panel_rows(int isa);
/* y [m][n] = packed x [k][n] on the calling thread, no bias, no epilogue;
 * work holds kl_pw_scratch(isa, m, k, n, 1) bytes. */
void kl_pw_product(int isa, int64_t m, int64_t k, int64_t n, const float *x, int64_t ldx, const float *packed,
                   float *y, int64_t ldy, float *work);
/* y [m][hw] = act(packed x [k][hw] + bias + residual), x and y with row
 * strides ldx and ldy; y_offset is y's element offset in the output;
 * work holds kl_pw_scratch bytes. */
void kl_pw_run(kl_opctx *c, int64_t m, int64_t k, int64_t hw, const float *x, int64_t ldx, const float *packed,
               const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);
/* kl_pw_run on X made step by step by fill (AVX-512 only: kl_pw_avx512);
 * work holds kl_pw_scratch bytes. */
void kl_pw_run_filled(kl_opctx *c, int64_t m, int64_t k, int64_t hw, kl_pw_fill_fn fill, const void *fill_arg,
                      const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);
/* kl_pw_run on the calling thread alone, from inside a kl_parallel_for
 * over c's pool: it uses the calling thread's slot of work, which holds
 * kl_pw_scratch(isa, m, k, sized_hw, threads) bytes for sized_hw >= hw
 * (the slots are as far apart as that sizing put them, whatever hw this
 * call has). */
void kl_pw_run_here(kl_opctx *c, int64_t m, int64_t k, int64_t hw, int64_t sized_hw, const float *x, int64_t ldx,
                    const float *packed, const float *bias, float *y, int64_t ldy, size_t y_offset, float *work);

#endif
