/* test_kernels.c -- the kernel tables (ops/kernels/kernels.h): which
 * builds each instruction set's table selects, and that a session takes
 * the table of the instruction set it was asked for. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

#include "../ops/kernels/kernels.h"
#include "session.h"
#include "testutil.h"

/* The entries written for x86 (ops/kernels/x86/): built for AVX2 (the
 * hand-written ones, the blocked layout's six and the portable loops
 * built again for AVX2), and for AVX-512 (sigmoid, exp, erf, tanh, pow,
 * pointwise12, dw_group16, layernorm, softmax_row). */
#define AVX2_ENTRIES 33
/* and the portable ones: all but the packed products, depthwise rows and
 * groups and the blocked layout's */
#define GENERIC_ENTRIES 24
#define AVX512_ENTRIES 10

/* Entries of k compiled for an instruction set above k's own. */
static int above(const kl_kernels *k)
{
    int n = 0;
    for (int isa = k->isa + 1; isa <= KEEL_ISA_AVX512; isa++)
        n += kl_kernels_count(k, isa);
    return n;
}

static void test_generic_table(void)
{
    const kl_kernels *k = kl_kernels_for(KEEL_ISA_GENERIC);
    CU_ASSERT_PTR_EQUAL(k, &kl_kernels_generic);
    CU_ASSERT_EQUAL(k->isa, KEEL_ISA_GENERIC);
    CU_ASSERT_EQUAL(kl_kernels_count(k, KEEL_ISA_AVX2), 0);
    CU_ASSERT_EQUAL(kl_kernels_count(k, KEEL_ISA_AVX512), 0);
    CU_ASSERT(kl_kernels_count(k, KEEL_ISA_GENERIC) >= GENERIC_ENTRIES);
    /* no packed product without x86 tiles: Conv and Winograd use sgemm */
    CU_ASSERT_FALSE(kl_pw_usable(k));
}

static void test_x86_tables(void)
{
#ifdef KL_X86
    const kl_kernels *a2 = kl_kernels_for(KEEL_ISA_AVX2), *a5 = kl_kernels_for(KEEL_ISA_AVX512);
    CU_ASSERT_EQUAL(a2->isa, KEEL_ISA_AVX2);
    CU_ASSERT_EQUAL(a5->isa, KEEL_ISA_AVX512);
    CU_ASSERT_EQUAL(above(a2), 0);
    CU_ASSERT_EQUAL(above(a5), 0);
    CU_ASSERT(kl_kernels_count(a2, KEEL_ISA_AVX2) >= AVX2_ENTRIES);
    CU_ASSERT(kl_kernels_count(a5, KEEL_ISA_AVX512) >= AVX512_ENTRIES);
    /* the avx512 table reuses the AVX2 builds where it has no other */
    CU_ASSERT_EQUAL(kl_kernels_count(a5, KEEL_ISA_AVX2) + kl_kernels_count(a5, KEEL_ISA_AVX512),
                    kl_kernels_count(a2, KEEL_ISA_AVX2) + 1 /* pointwise12 */ + 1 /* pack12 */ + 1 /* dw_group16 */ +
                        1 /* cvprod */);
    /* the blocked layout's blocks: one vector of each */
    CU_ASSERT_EQUAL(a2->block, 8);
    CU_ASSERT_EQUAL(a5->block, 16);
    CU_ASSERT_EQUAL(kl_kernels_for(KEEL_ISA_GENERIC)->block, 0);
    CU_ASSERT(kl_pw_usable(a2) && !kl_pw_wide(a2));
    CU_ASSERT(kl_pw_wide(a5));
#else
    CU_ASSERT_PTR_EQUAL(kl_kernels_for(KEEL_ISA_AVX512), &kl_kernels_generic);
#endif
}

/* A session asked for isa takes its table: generic runs portable C only. */
static void session_table(int isa)
{
    static const int64_t d[] = {1, 4};
    tb_model *b = tb_new(8, 13);
    tb_input(b, "x", KEEL_FLOAT, 2, d, NULL);
    tb_output(b, "y", KEEL_FLOAT, 2, d);
    tb_node(b, "Sigmoid", "s", "x", "y");
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    keel_model *m = NULL;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(keel_model_load_buffer(&m, buf, len, NULL, "k.onnx", NULL, err, sizeof err), KEEL_OK);
    keel_options opt;
    keel_options_init(&opt);
    opt.isa = isa;
    keel_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err), KEEL_OK);
    CU_ASSERT_PTR_EQUAL(s->env.kern, kl_kernels_for(s->env.isa));
    CU_ASSERT_EQUAL(s->env.kern->isa, s->env.isa);
    if (isa == KEEL_ISA_GENERIC) {
        CU_ASSERT_PTR_EQUAL(s->env.kern, &kl_kernels_generic);
        CU_ASSERT_EQUAL(kl_kernels_count(s->env.kern, KEEL_ISA_AVX2) + kl_kernels_count(s->env.kern, KEEL_ISA_AVX512),
                        0);
    }
    float x[4] = {-1, 0, 1, 100}, y[4];
    keel_tensor in = {KEEL_FLOAT, 2, {1, 4}, x}, out = {KEEL_FLOAT, 2, {1, 4}, y};
    CU_ASSERT_EQUAL(keel_session_run(s, &in, &out), KEEL_OK);
    CU_ASSERT_DOUBLE_EQUAL(y[1], 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[3], 1.0, 1e-6);
    keel_session_free(s);
    keel_model_free(m);
    free(buf);
    tb_free(b);
}

static void test_session_generic(void)
{
    session_table(KEEL_ISA_GENERIC);
}

static void test_session_best(void)
{
    session_table(KEEL_ISA_AUTO);
}

void add_kernels_suite(void)
{
    CU_pSuite s = CU_add_suite("kernel tables", NULL, NULL);
    CU_add_test(s, "the generic table is portable C only", test_generic_table);
    CU_add_test(s, "the x86 tables select AVX2 and AVX-512 builds", test_x86_tables);
    CU_add_test(s, "a session with isa generic takes the generic table", test_session_generic);
    CU_add_test(s, "a session takes the table of its isa", test_session_best);
}
