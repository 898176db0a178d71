/* test_core.c -- the CUnit runner for keel's unit suites. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include <cblas.h>

void add_loader_suite(void);
void add_runtime_suite(void);
void add_zoo_suite(void);
void add_malformed_suite(void);
void add_cancel_suite(void);
void add_hostile_loader_suite(void);
void add_hostile_ops_suite(void);
void add_passes_suite(void);
void add_fusions_suite(void);
void add_reference_suite(void);
void add_kernels_suite(void);
void add_shapes_suite(void);
void add_vecmath_suite(void);
void add_gemm_suite(void);
void add_norm_fusions_suite(void);
void add_values_suite(void);
void add_text_ops_suite(void);
void add_split_suite(void);

int main(void)
{
    /* the embedder's choice keel.h recommends: OpenBLAS's own threads would
     * compete with sessions' threads (and hide their work from TSan) */
    openblas_set_num_threads(1);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    add_loader_suite();
    add_runtime_suite();
    add_zoo_suite();
    add_malformed_suite();
    add_cancel_suite();
    add_hostile_loader_suite();
    add_hostile_ops_suite();
    add_passes_suite();
    add_fusions_suite();
    add_reference_suite();
    add_kernels_suite();
    add_shapes_suite();
    add_vecmath_suite();
    add_gemm_suite();
    add_norm_fusions_suite();
    add_values_suite();
    add_text_ops_suite();
    add_split_suite();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed || run == 0) ? 1 : 0;
}
