/* CUnit runner for the single-process tests. Prints CUnit's report and a
 * summary in which every registered test counts: one that failed, or that
 * never ran because its suite's setup failed, is a failure. Returns non-zero
 * whenever anything failed (CUnit's own runner returns 0). */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "bl_test.h"

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "test_unit: cannot initialise CUnit: %s\n", CU_get_error_msg());
        return 1;
    }
    bl_test_register_rng();
    bl_test_register_stats();
    bl_test_register_config();
    bl_test_register_loss();
    bl_test_register_model();
    bl_test_register_data();
    bl_test_register_optim();
    bl_test_register_metrics();
    bl_test_register_reference();
    bl_test_register_datafile();
    bl_test_register_spectrum();
    bl_test_register_task();
    bl_test_register_plan();
    bl_test_register_completion();
    bl_test_register_pair_mlp();
    bl_test_register_gemm();
    bl_test_register_vmath();

    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "test_unit: registering the tests failed: %s\n", CU_get_error_msg());
        return 1;
    }
    unsigned registered = CU_get_registry()->uiNumberOfTests;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned tests_run = CU_get_number_of_tests_run();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    unsigned asserts_failed = CU_get_number_of_failures();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    /* a suite whose setup fails is skipped by CUnit: its tests count as failed */
    unsigned not_run = registered > tests_run ? registered - tests_run : 0;
    if (not_run || suites_failed)
        printf("test_unit: %u suite(s) could not be set up; %u test(s) did not run\n",
               suites_failed, not_run);
    /* Read by tests/run_all.sh; deliberately not the "N passed" form. */
    printf("unit-summary tests=%u failed_tests=%u failed_asserts=%u not_run=%u\n", registered,
           tests_failed + not_run, asserts_failed, not_run);
    return tests_failed + not_run + suites_failed > 0 ? 1 : 0;
}
