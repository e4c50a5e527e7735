/* Shared by the CUnit test files: each registers one suite. */
#ifndef BL_TEST_H
#define BL_TEST_H

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>

void bl_test_register_rng(void);
void bl_test_register_stats(void);
void bl_test_register_config(void);
void bl_test_register_loss(void);
void bl_test_register_model(void);
void bl_test_register_data(void);
void bl_test_register_optim(void);
void bl_test_register_metrics(void);
void bl_test_register_reference(void);
void bl_test_register_datafile(void);
void bl_test_register_spectrum(void);
void bl_test_register_task(void);
void bl_test_register_plan(void);
void bl_test_register_completion(void);
void bl_test_register_pair_mlp(void);
void bl_test_register_gemm(void);
void bl_test_register_vmath(void);

/* |a - b| <= tol * max(1, |a|, |b|) */
#define BL_ASSERT_CLOSE(a, b, tol)                                                     \
    CU_ASSERT(fabs((a) - (b)) <= (tol) * fmax(1.0, fmax(fabs(a), fabs(b))))

/* Register a test, giving it the function's own name. */
#define BL_ADD_TEST(suite, fn) CU_add_test((suite), #fn, (fn))

#endif
