/* Gradient-noise statistics of a record (bl_noise.h). All quantities are
 * carried in units of the batch objective's gradient factor at the full
 * pass's loss scale, c_B exp(S) (c_B = 1/B for the mean, 1 for the sum):
 * the ratio is then exact at any loss, and only noise_trace itself may
 * underflow to 0 when the losses are far below the smallest double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bl_log.h"
#include "bl_noise.h"
#include "bl_rng.h"

static double sum_sq(const double *x, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += x[i] * x[i];
    return s;
}

void bl_noise_setup(struct bl_noise *nz, const struct task *t)
{
    const struct bl_config *c = t->cfg;
    int n = t->data.train.n;
    memset(nz, 0, sizeof *nz);
    nz->batch_size = c->optim.batch_size ? c->optim.batch_size : n;
    nz->with_replacement =
        c->optim.batch_size > 0 && c->optim.sampling == BL_SAMPLE_WITH_REPLACEMENT;
    nz->batches = c->measure.noise_batches;
    /* auto: per-example gradients cost n examples a record, the estimate
     * noise_batches x B of them */
    nz->exact = c->measure.noise == BL_NOISE_EXACT ||
                (c->measure.noise == BL_NOISE_AUTO &&
                 (double)n <= (double)nz->batches * nz->batch_size);
    nz->full = bl_malloc(sizeof(double) * (size_t)t->n_params);
    if (!nz->exact) {
        nz->pool = bl_malloc(sizeof(int) * (size_t)n);
        nz->batch = bl_malloc(sizeof(int) * (size_t)nz->batch_size);
    }
}

void bl_noise_free(struct bl_noise *nz)
{
    free(nz->full);
    free(nz->pool);
    free(nz->batch);
    memset(nz, 0, sizeof *nz);
}

/* Draw the next batch into nz->batch: B i.i.d. indices, or the first B of a
 * partial Fisher-Yates shuffle of pool (a uniform B-subset, whatever order
 * pool is in). */
static void draw_batch(struct bl_noise *nz, struct bl_rng *rng, int n)
{
    for (int j = 0; j < nz->batch_size; j++) {
        if (nz->with_replacement) {
            nz->batch[j] = (int)bl_rng_below(rng, (uint64_t)n);
            continue;
        }
        int k = j + (int)bl_rng_below(rng, (uint64_t)(n - j));
        int swap = nz->pool[j];
        nz->pool[j] = nz->pool[k];
        nz->pool[k] = swap;
        nz->batch[j] = nz->pool[j];
    }
}

void bl_noise_measure(struct bl_noise *nz, struct task *t, const struct pass_totals *train,
                      long r, double out[3])
{
    long P = t->n_params;
    int n = t->data.train.n;
    double B = nz->batch_size, S = train->log_loss_sum;
    /* t->grad = sum_i grad loss_i exp(-S): kept, the batches overwrite it */
    memcpy(nz->full, t->grad, sizeof(double) * (size_t)P);
    double full_sq = sum_sq(nz->full, P);
    double factor = bl_task_gradient_factor(t, train);
    out[0] = factor * factor * full_sq;
    /* E G_B = c_B B (mean per-example gradient): B full / n in these units */
    double mean_sq = B * B * full_sq / ((double)n * n);
    double trace;
    if (nz->exact) {
        /* tr Cov of one example's gradient, then of a batch: B of them,
         * with the finite-population factor when drawn without replacement */
        double cov = bl_task_example_gradient_sq(t, S) / n - full_sq / ((double)n * n);
        if (cov < 0)
            cov = 0; /* rounding, when every example has the same gradient */
        double fpc = nz->with_replacement ? 1 : (n > 1 ? (n - B) / (n - 1) : 0);
        trace = B * fpc * cov;
    } else {
        /* E ||G_k - E G_B||^2 over fresh batches: unbiased, E G_B being known */
        struct bl_rng rng; /* every rank of a group draws the same batches */
        bl_rng_init(&rng, t->seed, BL_STREAM_NOISE_BATCH, (uint32_t)r);
        for (int i = 0; i < n; i++)
            nz->pool[i] = i;
        double acc = 0;
        for (int k = 0; k < nz->batches; k++) {
            draw_batch(nz, &rng, n);
            struct pass_totals bt;
            bl_task_batch_pass(t, nz->batch, nz->batch_size, &bt);
            double w = exp(bt.log_loss_sum - S);
            for (long j = 0; j < P; j++) {
                double d = w * t->grad[j] - B * nz->full[j] / n;
                acc += d * d;
            }
        }
        trace = acc / nz->batches;
    }
    double log_unit = S - (t->cfg->loss.reduction == BL_REDUCE_MEAN ? log(B) : 0);
    out[1] = trace * exp(2 * log_unit);
    out[2] = trace / mean_sq;
    memcpy(t->grad, nz->full, sizeof(double) * (size_t)P);
}
