/* testutil.h -- building small ONNX models in C for the tests, so the unit
 * suites need no Python and no files on disk. */
#ifndef KEEL_TESTUTIL_H
#define KEEL_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel.h"
#include "onnx.pb-c.h"

/* A model under construction; everything it hands out is freed by tb_free. */
typedef struct tb_model tb_model;

tb_model *tb_new(int64_t ir_version, int64_t opset);
Onnx__ModelProto *tb_proto(tb_model *b);
void tb_free(tb_model *b);

/* Graph inputs/outputs with fixed dims (a dim of -1 becomes the symbolic
 * name `sym`, which may be NULL for an unnamed unknown dim). */
void tb_input(tb_model *b, const char *name, int dtype, int rank, const int64_t *dims, const char *sym);
void tb_output(tb_model *b, const char *name, int dtype, int rank, const int64_t *dims);
/* A graph input (or output) of kinds[0] of kinds[1] ... of tensors of
 * elem: KEEL_SEQUENCE and KEEL_OPTIONAL, e.g. {KEEL_OPTIONAL,
 * KEEL_SEQUENCE} for an optional sequence. */
void tb_value_kind(tb_model *b, bool input, const char *name, const int *kinds, int n_kinds, int elem);

/* An initializer from raw little-endian bytes (copied). */
Onnx__TensorProto *tb_init_raw(tb_model *b, const char *name, int dtype, int rank,
                               const int64_t *dims, const void *data, size_t bytes);
Onnx__TensorProto *tb_init_f32(tb_model *b, const char *name, int rank, const int64_t *dims,
                               const float *vals);

/* A node; inputs and outputs as comma-separated names ("" entries allowed). */
Onnx__NodeProto *tb_node(tb_model *b, const char *op, const char *name, const char *inputs,
                         const char *outputs);
void tb_attr_int(tb_model *b, Onnx__NodeProto *n, const char *name, int64_t v);
void tb_attr_float(tb_model *b, Onnx__NodeProto *n, const char *name, float v);
void tb_attr_ints(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const int64_t *v);
void tb_attr_str(tb_model *b, Onnx__NodeProto *n, const char *name, const char *v);
void tb_attr_floats(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const float *v);
void tb_attr_strs(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const char *const *v);

/* A GRAPH attribute: the graph of `sub` (a tb_model used for its graph
 * only), which must outlive b's packing. */
void tb_attr_graph(tb_model *b, Onnx__NodeProto *n, const char *name, tb_model *sub);

/* Writes floats start, start + 1, ... (count of them) to `path`, as an
 * external-data file. */
void tb_write_floats(const char *path, int count, float start);

/* Serializes the model into a malloc'd buffer. */
uint8_t *tb_pack(tb_model *b, size_t *len);
/* Writes the model to `path`; returns 0 on success. */
int tb_write(tb_model *b, const char *path);

/* A keel_allocator that counts live blocks and bytes, and can fail the
 * N-th allocation. */
typedef struct tb_counting {
    long live_blocks, total_allocs;
    size_t live_bytes;
    long fail_at;   /* 0: never; k: the k-th allocation returns NULL */
    int size_mismatch; /* frees whose size differs from the allocation's */
} tb_counting;
keel_allocator tb_counting_allocator(tb_counting *c);

/* y[1, m, h, w] = conv(x[1, c, h, w], wt[m, c / group, k, k]) with
 * padding k / 2 and stride 1, by direct loops (double sums). */
void tb_naive_conv(const float *x, int c, int h, int w, const float *wt, int m, int k, int group, float *y);

/* Fills p[0..n) with NaN: a kernel that leaves an element unwritten then
 * fails a comparison made with tb_max_abs_err. */
void tb_fill_nan(float *p, size_t n);
/* The largest |got[i] - want[i]|, or NaN when got[i] is NaN where want[i]
 * is not (or the reverse); an element NaN on both sides matches.  Compare
 * as `err <= tol`, which NaN fails. */
double tb_max_abs_err(const float *got, const float *want, size_t n);

/* Whether this CPU runs the kernels of `isa` (a keel_isa); one it lacks
 * is reported as skipped, with `what`, and not run: a session asking for
 * it would quietly get a lower one. */
bool tb_isa_runs(int isa, const char *what);

/* keel_session_create for m at isa and threads, with the passes `off`
 * (NULL: none) turned off; its message in err. */
keel_status tb_session(keel_session **s, const keel_model *m, int isa, int threads, const char *off, char *err,
                       size_t err_len);

/* A fresh empty folder under /tmp; the returned string is static per call
 * site-free (caller frees). */
char *tb_tempdir(void);

#endif
