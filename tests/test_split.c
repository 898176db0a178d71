/* test_split.c -- batch split (runtime/split.c): a batch whose images stay
 * apart runs image by image through plans of one image, with the bytes a
 * run of each image alone gives; batches that mix their images, or whose
 * plan of one image would not compute the same thing, run as a whole. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "testutil.h"

#define C_IN 4
#define SIDE 8
#define CLASSES 5
#define IMAGE_FLOATS (C_IN * SIDE * SIDE)
#define POOLED_FLOATS (8 * 4 * 4)

static keel_model *load(tb_model *b)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    if (keel_model_load_buffer(&m, buf, len, NULL, "split.onnx", NULL, err, sizeof err))
        fprintf(stderr, "\n  load failed: %s\n", err);
    free(buf);
    return m;
}

/* Deterministic values in [-0.5, 0.5). */
static void fill(float *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

/* x [N, 4, 8, 8] -> Conv 3x3 -> Relu -> MaxPool 2x2 = p [N, 8, 4, 4] (an
 * output, read on); a channel shuffle (Reshape, Transpose, Reshape); a 1x1
 * Conv plus p; Concat on channels; GlobalAveragePool, Flatten, Gemm,
 * Softmax = y [N, 5]. */
static tb_model *separable_net(void)
{
    static const int64_t xd[4] = {-1, C_IN, SIDE, SIDE}, pd[4] = {-1, 8, 4, 4}, yd[2] = {-1, CLASSES};
    static const int64_t w1d[4] = {8, C_IN, 3, 3}, w2d[4] = {8, 8, 1, 1}, bd[1] = {8}, wgd[2] = {CLASSES, 16};
    static const int64_t bgd[1] = {CLASSES}, s5d[1] = {5}, s4d[1] = {4};
    static const int64_t split5[5] = {0, 2, 4, 4, 4}, back4[4] = {0, 8, 4, 4};
    float w1[8 * C_IN * 9], w2[64], b1[8], b2[8], wg[CLASSES * 16], bg[CLASSES];
    fill(w1, sizeof w1 / sizeof *w1, 1), fill(w2, 64, 2), fill(b1, 8, 3), fill(b2, 8, 4);
    fill(wg, sizeof wg / sizeof *wg, 5), fill(bg, CLASSES, 6);
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, "N");
    tb_output(b, "y", KEEL_FLOAT, 2, yd);
    tb_output(b, "p", KEEL_FLOAT, 4, pd);
    tb_init_f32(b, "w1", 4, w1d, w1);
    tb_init_f32(b, "b1", 1, bd, b1);
    tb_init_f32(b, "w2", 4, w2d, w2);
    tb_init_f32(b, "b2", 1, bd, b2);
    tb_init_f32(b, "wg", 2, wgd, wg);
    tb_init_f32(b, "bg", 1, bgd, bg);
    tb_init_raw(b, "split5", KEEL_INT64, 1, s5d, split5, sizeof split5);
    tb_init_raw(b, "back4", KEEL_INT64, 1, s4d, back4, sizeof back4);
    static const int64_t k3[2] = {3, 3}, pad1[4] = {1, 1, 1, 1}, k2[2] = {2, 2}, perm[5] = {0, 2, 1, 3, 4};
    Onnx__NodeProto *n = tb_node(b, "Conv", "conv1", "x,w1,b1", "a");
    tb_attr_ints(b, n, "kernel_shape", 2, k3);
    tb_attr_ints(b, n, "pads", 4, pad1);
    tb_node(b, "Relu", "relu", "a", "a1");
    n = tb_node(b, "MaxPool", "pool", "a1", "p");
    tb_attr_ints(b, n, "kernel_shape", 2, k2);
    tb_attr_ints(b, n, "strides", 2, k2);
    tb_node(b, "Reshape", "groups", "p,split5", "r5");
    n = tb_node(b, "Transpose", "shuffle", "r5", "t5");
    tb_attr_ints(b, n, "perm", 5, perm);
    tb_node(b, "Reshape", "ungroup", "t5,back4", "sh");
    tb_node(b, "Conv", "conv2", "sh,w2,b2", "c2");
    tb_node(b, "Add", "residual", "c2,p", "res");
    n = tb_node(b, "Concat", "cat", "res,sh", "cat");
    tb_attr_int(b, n, "axis", 1);
    tb_node(b, "GlobalAveragePool", "gap", "cat", "g");
    tb_node(b, "Flatten", "flat", "g", "f");
    n = tb_node(b, "Gemm", "fc", "f,wg,bg", "logits");
    tb_attr_int(b, n, "transB", 1);
    n = tb_node(b, "Softmax", "softmax", "logits", "y");
    tb_attr_int(b, n, "axis", 1);
    return b;
}

static keel_session *session(const keel_model *m, int threads)
{
    keel_session *s;
    char err[1024];
    if (tb_session(&s, m, KEEL_ISA_AUTO, threads, NULL, err, sizeof err))
        fprintf(stderr, "\n  session failed: %s\n", err);
    return s;
}

/* Runs s on `batch` images of x into y [batch, 5] and p [batch, 128]. */
static keel_status run_batch(keel_session *s, int64_t batch, const float *x, float *y, float *p)
{
    keel_tensor in = {KEEL_FLOAT, 4, {batch, C_IN, SIDE, SIDE}, (void *)x};
    keel_tensor out[2] = {{.data = y}, {.data = p}};
    return keel_session_run(s, &in, out);
}

/* Batches of 2 to 8 on 1 to 3 threads: split, a plan of one image per
 * thread (or per image, when fewer), and each image's outputs the bytes of
 * its run alone, at every thread count. */
static void test_split_matches_images(void)
{
    tb_model *b = separable_net();
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *alone = session(m, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(alone);
    enum { MOST = 8 };
    float x[MOST * IMAGE_FLOATS], want_y[MOST * CLASSES], want_p[MOST * POOLED_FLOATS];
    fill(x, sizeof x / sizeof *x, 99);
    for (int i = 0; i < MOST; i++)
        CU_ASSERT_EQUAL(run_batch(alone, 1, x + i * IMAGE_FLOATS, want_y + i * CLASSES, want_p + i * POOLED_FLOATS),
                        KEEL_OK);
    CU_ASSERT_EQUAL(alone->plans[0]->batch, 0); /* one image: nothing to split */
    static const struct { int threads; int64_t batch; } runs[] = {{1, 4}, {2, 4}, {2, 8}, {3, 6}, {2, 3}, {3, 2}};
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        keel_session *s = session(m, runs[r].threads);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        float y[MOST * CLASSES], p[MOST * POOLED_FLOATS];
        for (int again = 0; again < 2; again++) {
            memset(y, 0, sizeof y), memset(p, 0, sizeof p);
            CU_ASSERT_EQUAL(run_batch(s, runs[r].batch, x, y, p), KEEL_OK);
            CU_ASSERT_EQUAL(s->plans[0]->batch, runs[r].batch);
            CU_ASSERT_EQUAL(s->plans[0]->n_image_plans, runs[r].threads < runs[r].batch ? runs[r].threads
                                                                                           : runs[r].batch);
            CU_ASSERT(memcmp(y, want_y, (size_t)runs[r].batch * CLASSES * sizeof *y) == 0);
            CU_ASSERT(memcmp(p, want_p, (size_t)runs[r].batch * POOLED_FLOATS * sizeof *p) == 0);
        }
        keel_session_free(s);
    }
    keel_session_free(alone);
    keel_model_free(m);
    tb_free(b);
}

/* A batch of one has nothing to split: its plan runs its own steps. */
static void test_one_image_whole(void)
{
    tb_model *b = separable_net();
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = session(m, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    float x[IMAGE_FLOATS], y[CLASSES], p[POOLED_FLOATS];
    fill(x, IMAGE_FLOATS, 7);
    CU_ASSERT_EQUAL(run_batch(s, 1, x, y, p), KEEL_OK);
    CU_ASSERT_EQUAL(s->plans[0]->batch, 0);
    CU_ASSERT_EQUAL(s->plans[0]->n_image_plans, 0);
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* x [N, 4, 8, 8] -> Relu -> Reshape to `shape` -> Softmax on `axis`. */
static tb_model *mixing_net(const int64_t shape[2], int64_t axis)
{
    static const int64_t xd[4] = {-1, C_IN, SIDE, SIDE}, yd[2] = {-1, -1}, s2d[1] = {2};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 4, xd, "N");
    tb_output(b, "y", KEEL_FLOAT, 2, yd);
    tb_init_raw(b, "shape", KEEL_INT64, 1, s2d, shape, 2 * sizeof *shape);
    tb_node(b, "Relu", "relu", "x", "r");
    tb_node(b, "Reshape", "reshape", "r,shape", "f");
    Onnx__NodeProto *n = tb_node(b, "Softmax", "softmax", "f", "y");
    tb_attr_int(b, n, "axis", axis);
    return b;
}

/* Runs the mixing net at batch 4 on `threads`; the rows (axis 1) or the
 * columns (axis 0) of y [rows, cols] each sum to 1. */
static void check_mixing(const int64_t shape[2], int64_t axis, int64_t rows, int64_t cols, int threads)
{
    tb_model *b = mixing_net(shape, axis);
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = session(m, threads);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    float x[4 * IMAGE_FLOATS], y[4 * IMAGE_FLOATS];
    fill(x, sizeof x / sizeof *x, 3);
    keel_tensor in = {KEEL_FLOAT, 4, {4, C_IN, SIDE, SIDE}, x}, out = {.data = y};
    CU_ASSERT_EQUAL_FATAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_EQUAL(out.rank, 2);
    CU_ASSERT(out.dims[0] == rows && out.dims[1] == cols);
    CU_ASSERT_EQUAL(s->plans[0]->batch, 0);
    const int64_t lines = axis ? rows : cols, along = axis ? cols : rows;
    for (int64_t l = 0; l < lines; l++) {
        double sum = 0;
        for (int64_t i = 0; i < along; i++)
            sum += y[axis ? l * cols + i : i * cols + l];
        CU_ASSERT(fabs(sum - 1.0) < 1e-5);
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

/* Steps that mix the images run the batch as a whole: a Softmax along the
 * batch; a Reshape whose constant shape names the batch of 4, which for
 * one image would give 4 rows of 64 (the plan of one image does not fit). */
static void test_mixing_batch_whole(void)
{
    static const int64_t flat[2] = {0, -1}, four_rows[2] = {4, -1};
    for (int threads = 1; threads <= 2; threads++) {
        check_mixing(flat, 0, 4, IMAGE_FLOATS, threads);
        check_mixing(four_rows, 1, 4, IMAGE_FLOATS, threads);
    }
}

/* A cancelled run of a split batch stops with a message naming the image
 * and the node; the next run gives every image. */
static void test_split_cancel(void)
{
    tb_model *b = separable_net();
    keel_model *m = load(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    keel_session *s = session(m, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    float x[4 * IMAGE_FLOATS], y[4 * CLASSES], p[4 * POOLED_FLOATS];
    fill(x, sizeof x / sizeof *x, 5);
    CU_ASSERT_EQUAL(run_batch(s, 4, x, y, p), KEEL_OK); /* plans made */
    keel_session_cancel(s);
    CU_ASSERT_EQUAL(run_batch(s, 4, x, y, p), KEEL_ERR_CANCELLED);
    const char *msg = keel_session_errmsg(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cancelled"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "of the batch of 4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "conv1"));
    memset(y, 0, sizeof y);
    CU_ASSERT_EQUAL(run_batch(s, 4, x, y, p), KEEL_OK);
    for (int i = 0; i < 4; i++) {
        double sum = 0;
        for (int k = 0; k < CLASSES; k++)
            sum += y[i * CLASSES + k];
        CU_ASSERT(fabs(sum - 1.0) < 1e-5);
    }
    keel_session_free(s);
    keel_model_free(m);
    tb_free(b);
}

void add_split_suite(void)
{
    CU_pSuite s = CU_add_suite("batch split", NULL, NULL);
    CU_add_test(s, "a split batch gives each image's bytes alone, on 1, 2 and 3 threads", test_split_matches_images);
    CU_add_test(s, "a batch of one runs whole", test_one_image_whole);
    CU_add_test(s, "steps that mix the images keep the batch whole", test_mixing_batch_whole);
    CU_add_test(s, "a cancelled split run names the image; the next run completes", test_split_cancel);
}
