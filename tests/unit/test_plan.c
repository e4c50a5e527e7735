/* The plan: the order tasks are handed out in (longest first, the same as
 * sorting every task by cost and then id), and the counts it refuses. */
#include <stdio.h>
#include <string.h>

#include "bl_config.h"
#include "bl_plan.h"
#include "bl_test.h"

/* Configs are big (the sweep table), so they live here, not on the stack. */
static struct bl_config base;
static char err[BL_ERR_MAX];

static void set(const char *section, const char *key, const char *value)
{
    CU_ASSERT_EQUAL_FATAL(bl_config_set(&base, section, key, value, "test", 0, err, sizeof err),
                          0);
}

static const struct bl_plan *sorted_plan;

/* The order before it was built point by point: every task id sorted by
 * its point's cost, descending, ties by id. */
static int by_task_cost(const void *a, const void *b)
{
    int ta = *(const int *)a, tb = *(const int *)b;
    double ca = sorted_plan->cost[bl_task_point(sorted_plan, ta)];
    double cb = sorted_plan->cost[bl_task_point(sorted_plan, tb)];
    if (ca != cb)
        return ca > cb ? -1 : 1;
    return ta - tb;
}

static void test_order_longest_first(void)
{
    /* points (width, lr): 0 (4, .1) 1 (4, .2) 2 (16, .1) 3 (16, .2) 4 (8, .1)
     * 5 (8, .2); width 16 costs most, and equal widths tie */
    bl_config_defaults(&base);
    set("experiment", "seeds", "3");
    set("sweep", "model.width", "4, 16, 8");
    set("sweep", "optim.lr", "0.1, 0.2");
    struct bl_plan plan;
    CU_ASSERT_EQUAL_FATAL(bl_plan_make(&base, &plan, err, sizeof err), 0);
    CU_ASSERT(plan.n_points == 6 && plan.n_seeds == 3 && plan.n_tasks == 18);
    int *order = bl_plan_order(&plan);
    static const int want[18] = {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5};
    for (int k = 0; k < 18; k++)
        CU_ASSERT_EQUAL(order[k], want[k]);
    free(order);
    bl_plan_free(&plan);

    /* more points with ties among them, against the task-by-task sort */
    CU_ASSERT(bl_config_set(&base, "sweep", "model.width", "4, 16, 8, 16", "test", 0, err,
                            sizeof err) != 0); /* a value twice is refused */
    set("sweep", "model.width", "4, 16, 8, 12, 2");
    set("sweep", "optim.lr", "0.1, 0.2, 0.3");
    set("sweep", "optim.kind", "gd, sgd");
    set("optim", "batch_size", "0");
    set("experiment", "seeds", "7");
    CU_ASSERT_EQUAL_FATAL(bl_plan_make(&base, &plan, err, sizeof err), 0);
    order = bl_plan_order(&plan);
    int *reference = malloc(sizeof(int) * (size_t)plan.n_tasks);
    for (int t = 0; t < plan.n_tasks; t++)
        reference[t] = t;
    sorted_plan = &plan;
    qsort(reference, (size_t)plan.n_tasks, sizeof(int), by_task_cost);
    CU_ASSERT_EQUAL(plan.n_tasks, 5 * 3 * 2 * 7);
    CU_ASSERT(memcmp(order, reference, sizeof(int) * (size_t)plan.n_tasks) == 0);
    free(reference);
    free(order);
    bl_plan_free(&plan);
}

static void test_counts_refused(void)
{
    /* a config built in code, past what a loaded one may hold: 64^3
     * points x 100000 seeds */
    bl_config_defaults(&base);
    set("experiment", "seeds", "100000");
    base.n_sweep = 3;
    static const char *const keys[3] = {"optim.lr", "optim.weight_decay", "data.margin"};
    for (int k = 0; k < 3; k++) {
        snprintf(base.sweep[k].key, sizeof base.sweep[k].key, "%s", keys[k]);
        base.sweep[k].n_values = BL_MAX_SWEEP_VALUES;
    }
    CU_ASSERT_EQUAL(bl_config_n_tasks(&base), 262144LL * 100000);
    struct bl_plan plan;
    CU_ASSERT_NOT_EQUAL(bl_plan_make(&base, &plan, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "262144 sweep points x 100000 seeds make 26214400000 tasks") != NULL);
    CU_ASSERT(strstr(err, "at most 1000000 points and 2147483647 tasks") != NULL);

    /* --slice N is at most the tasks */
    bl_config_defaults(&base);
    set("experiment", "seeds", "5");
    CU_ASSERT_EQUAL_FATAL(bl_plan_make(&base, &plan, err, sizeof err), 0);
    CU_ASSERT_EQUAL(bl_plan_check_slice(&plan, 4, 5, err, sizeof err), 0);
    CU_ASSERT_NOT_EQUAL(bl_plan_check_slice(&plan, 0, 99999999999LL, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(err, "--slice 0/99999999999: this config has 5 tasks, so N must be "
                                "1 .. 5 (and K 0 .. N-1)");
    bl_plan_free(&plan);
}

void bl_test_register_plan(void)
{
    CU_pSuite s = CU_add_suite("plan", NULL, NULL);
    BL_ADD_TEST(s, test_order_longest_first);
    BL_ADD_TEST(s, test_counts_refused);
}
