/* CUnit runner for the single-process tests. Prints CUnit's report and
 * returns the number of failed assertions (CUnit's own runner returns 0). */
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

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned tests_run = CU_get_number_of_tests_run();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    unsigned asserts_failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    /* Read by tests/run_all.sh; deliberately not the "N passed" form. */
    printf("unit-summary tests=%u failed_tests=%u failed_asserts=%u\n", tests_run,
           tests_failed, asserts_failed);
    return asserts_failed > 255 ? 255 : (int)asserts_failed;
}
