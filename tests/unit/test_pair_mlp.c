/* pair_mlp and modular_add (SCIENCE.md 3): gradients and HVPs against
 * central differences, the net against the dense mlp on one-hot inputs (to
 * 1e-12), its closed-form NTK against per-example gradients, the data's
 * promises and the config's resolution of their sizes. */
#include <math.h>
#include <string.h>

#include "bl_config.h"
#include "bl_data.h"
#include "bl_kernel_predictor.h"
#include "bl_loss.h"
#include "bl_model.h"
#include "bl_rng.h"
#include "bl_test.h"

#define P_TOK 5  /* tokens = classes */
#define WIDTH 6
#define N_PAIRS 9

static struct bl_model_cfg pair_cfg(int bias, enum bl_activation act, int last_zero)
{
    struct bl_model_cfg mc;
    memset(&mc, 0, sizeof mc);
    mc.kind = BL_MODEL_PAIR_MLP;
    mc.depth = 2;
    mc.width = WIDTH;
    mc.activation = act;
    mc.leaky_slope = 0.2;
    mc.bias = bias;
    mc.init_scale = 1.3;
    mc.train_last = 1;
    mc.last_zero = last_zero;
    return mc;
}

/* random pairs (n, 2) in [0, P_TOK) and labels */
static void random_pairs(struct bl_rng *rng, int n, int *index, int *label)
{
    for (int i = 0; i < 2 * n; i++)
        index[i] = (int)bl_rng_below(rng, P_TOK);
    for (int i = 0; i < n; i++)
        label[i] = (int)bl_rng_below(rng, P_TOK);
}

/* log of the summed loss and, with grad, its unscaled gradient */
static double loss_and_grad(const struct bl_model *m, enum bl_loss_kind loss, const double *theta,
                            const struct bl_batch *b, struct bl_workspace *ws, double *grad)
{
    double log_loss[N_PAIRS], margin[N_PAIRS], S = -INFINITY;
    const double *out = bl_model_forward(m, theta, b, ws);
    bl_loss_forward(loss, out, b, m->outputs, log_loss, margin);
    for (int i = 0; i < b->n; i++)
        S = bl_log_add_exp(S, log_loss[i]);
    if (grad) {
        bl_loss_backward(loss, out, b, m->outputs, S, ws->dout);
        bl_model_backward(m, theta, b, ws->dout, ws, grad);
        for (long p = 0; p < m->n_params; p++)
            grad[p] *= exp(S);
    }
    return S;
}

/* hv = H v of the summed loss by the R-operator (unscaled) */
static void loss_hvp(const struct bl_model *m, enum bl_loss_kind loss, const double *theta,
                     const double *v, const struct bl_batch *b, struct bl_workspace *ws, double *hv)
{
    double S = loss_and_grad(m, loss, theta, b, ws, NULL);
    const double *out = bl_model_forward(m, theta, b, ws);
    const double *rout = m->ops->rforward(m, theta, v, b, ws);
    bl_loss_backward(loss, out, b, m->outputs, S, ws->dout);
    bl_loss_hessian_vec(loss, out, b, m->outputs, S, rout, ws->rdout);
    m->ops->rbackward(m, theta, v, b, ws->dout, ws->rdout, ws, hv);
    for (long p = 0; p < m->n_params; p++)
        hv[p] *= exp(S);
}

/* Every case of bias x activation x loss: the gradient against central
 * differences of the loss, H v against central differences of the
 * gradient, and w^T H v = v^T H w. Biases are moved off 0 so they matter. */
static void test_pair_mlp_derivatives(void)
{
    enum bl_activation acts[3] = {BL_ACT_RELU, BL_ACT_LEAKY_RELU, BL_ACT_IDENTITY};
    enum bl_loss_kind losses[2] = {BL_LOSS_CROSS_ENTROPY, BL_LOSS_SQUARED};
    for (int bias = 0; bias < 2; bias++)
        for (int a = 0; a < 3; a++)
            for (int l = 0; l < 2; l++) {
                struct bl_model_cfg mc = pair_cfg(bias, acts[a], 0);
                struct bl_model m;
                char err[256];
                CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &mc, 2, P_TOK, err, sizeof err), 0);
                long P = m.n_params;
                CU_ASSERT_EQUAL(P, 3L * P_TOK * WIDTH + (bias ? WIDTH + P_TOK : 0));
                struct bl_workspace ws;
                bl_workspace_alloc(&ws, &m, N_PAIRS, 1);
                double *theta = malloc(sizeof(double) * P), *grad = malloc(sizeof(double) * P),
                       *v = malloc(sizeof(double) * P), *w = malloc(sizeof(double) * P),
                       *hv = malloc(sizeof(double) * P), *hw = malloc(sizeof(double) * P),
                       *gp = malloc(sizeof(double) * P), *gm = malloc(sizeof(double) * P),
                       *shifted = malloc(sizeof(double) * P);
                bl_model_init(&m, 3, theta);
                struct bl_rng rng;
                bl_rng_init(&rng, 17 + a, BL_STREAM_TEST_ONLY, (uint32_t)(bias * 2 + l));
                for (long p = 0; p < P; p++) {
                    theta[p] += 0.3 * bl_rng_normal(&rng);
                    v[p] = bl_rng_normal(&rng);
                    w[p] = bl_rng_normal(&rng);
                }
                int index[2 * N_PAIRS], label[N_PAIRS];
                random_pairs(&rng, N_PAIRS, index, label);
                struct bl_batch b = {.n = N_PAIRS, .arity = 2, .index = index, .label = label};
                loss_and_grad(&m, losses[l], theta, &b, &ws, grad);
                double worst = 0, h = 1e-5;
                for (long p = 0; p < P; p++) {
                    memcpy(shifted, theta, sizeof(double) * P);
                    shifted[p] = theta[p] + h;
                    double up = exp(loss_and_grad(&m, losses[l], shifted, &b, &ws, NULL));
                    shifted[p] = theta[p] - h;
                    double down = exp(loss_and_grad(&m, losses[l], shifted, &b, &ws, NULL));
                    double fd = (up - down) / (2 * h);
                    worst = fmax(worst, fabs(fd - grad[p]) / fmax(1e-4, fabs(fd) + fabs(grad[p])));
                }
                CU_ASSERT(worst < 1e-6);
                loss_hvp(&m, losses[l], theta, v, &b, &ws, hv);
                loss_hvp(&m, losses[l], theta, w, &b, &ws, hw);
                double hh = 1e-5, fd_worst = 0, scale = 0;
                for (long p = 0; p < P; p++) {
                    scale = fmax(scale, fabs(hv[p]));
                    shifted[p] = theta[p] + hh * v[p];
                }
                loss_and_grad(&m, losses[l], shifted, &b, &ws, gp);
                for (long p = 0; p < P; p++)
                    shifted[p] = theta[p] - hh * v[p];
                loss_and_grad(&m, losses[l], shifted, &b, &ws, gm);
                double wHv = 0, vHw = 0, norms = 0;
                for (long p = 0; p < P; p++) {
                    double fd = (gp[p] - gm[p]) / (2 * hh);
                    fd_worst = fmax(fd_worst, fabs(fd - hv[p]) /
                                                  fmax(1e-3 * scale, fabs(fd) + fabs(hv[p])));
                    wHv += w[p] * hv[p];
                    vHw += v[p] * hw[p];
                    norms += fabs(w[p] * hv[p]) + fabs(v[p] * hw[p]);
                }
                CU_ASSERT(fd_worst < 1e-5);
                CU_ASSERT(fabs(wHv - vHw) <= 1e-12 * norms);
                if (!(worst < 1e-6 && fd_worst < 1e-5))
                    printf("\npair_mlp bias %d act %d loss %d: grad %g hvp %g\n", bias, a, l,
                           worst, fd_worst);
                free(theta), free(grad), free(v), free(w), free(hv), free(hw), free(gp),
                    free(gm), free(shifted);
                bl_workspace_free(&ws);
                bl_model_free(&m);
            }
}

/* The dense mlp's theta (W1 (width, 2p), W2 (p, width), [b1, b2]) from a
 * pair_mlp's blocks: W1[j, a] = E[a, j], W1[j, p + b] = F[b, j]. */
static void to_dense(const double *pair, int bias, double *dense)
{
    long w1 = 0, w2 = (long)WIDTH * 2 * P_TOK, b1 = w2 + (long)P_TOK * WIDTH, b2 = b1 + WIDTH;
    const double *E = pair, *F = pair + P_TOK * WIDTH, *W2 = pair + 2 * P_TOK * WIDTH;
    for (int j = 0; j < WIDTH; j++)
        for (int t = 0; t < P_TOK; t++) {
            dense[w1 + (long)j * 2 * P_TOK + t] = E[t * WIDTH + j];
            dense[w1 + (long)j * 2 * P_TOK + P_TOK + t] = F[t * WIDTH + j];
        }
    memcpy(dense + w2, W2, sizeof(double) * P_TOK * WIDTH);
    if (bias) {
        memcpy(dense + b1, pair + 3 * P_TOK * WIDTH, sizeof(double) * WIDTH);
        memcpy(dense + b2, pair + 3 * P_TOK * WIDTH + WIDTH, sizeof(double) * P_TOK);
    }
}

static double rel_diff(double a, double b) { return fabs(a - b) / fmax(1.0, fabs(a) + fabs(b)); }

/* pair_mlp is the dense two-layer net on [one-hot(a), one-hot(b)]: same
 * outputs, gradients and HVPs (mapped block by block) to 1e-12. */
static void test_pair_mlp_equals_mlp_on_one_hots(void)
{
    for (int bias = 0; bias < 2; bias++) {
        struct bl_model_cfg pc = pair_cfg(bias, BL_ACT_RELU, 0), dc = pc;
        dc.kind = BL_MODEL_MLP;
        struct bl_model pm, dm;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(bl_model_build(&pm, &pc, 2, P_TOK, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(bl_model_build(&dm, &dc, 2 * P_TOK, P_TOK, err, sizeof err), 0);
        long P = pm.n_params;
        CU_ASSERT_EQUAL_FATAL(dm.n_params, P);
        struct bl_workspace pws, dws;
        bl_workspace_alloc(&pws, &pm, N_PAIRS, 1);
        bl_workspace_alloc(&dws, &dm, N_PAIRS, 1);
        double *theta = malloc(sizeof(double) * P), *v = malloc(sizeof(double) * P),
               *dtheta = malloc(sizeof(double) * P), *dv = malloc(sizeof(double) * P),
               *g = malloc(sizeof(double) * P), *dg = malloc(sizeof(double) * P),
               *mapped = malloc(sizeof(double) * P), *hv = malloc(sizeof(double) * P),
               *dhv = malloc(sizeof(double) * P);
        bl_model_init(&pm, 9, theta);
        struct bl_rng rng;
        bl_rng_init(&rng, 41, BL_STREAM_TEST_ONLY, (uint32_t)bias);
        for (long p = 0; p < P; p++) {
            theta[p] += 0.2 * bl_rng_normal(&rng); /* biases nonzero too */
            v[p] = bl_rng_normal(&rng);
        }
        to_dense(theta, bias, dtheta);
        to_dense(v, bias, dv);
        int index[2 * N_PAIRS], label[N_PAIRS];
        random_pairs(&rng, N_PAIRS, index, label);
        double x[N_PAIRS * 2 * P_TOK];
        memset(x, 0, sizeof x);
        for (int i = 0; i < N_PAIRS; i++) {
            x[i * 2 * P_TOK + index[2 * i]] = 1.0;
            x[i * 2 * P_TOK + P_TOK + index[2 * i + 1]] = 1.0;
        }
        struct bl_batch pb = {.n = N_PAIRS, .arity = 2, .index = index, .label = label};
        struct bl_batch db = {.n = N_PAIRS, .dim = 2 * P_TOK, .x = x, .label = label};
        const double *po = bl_model_forward(&pm, theta, &pb, &pws);
        const double *dout = bl_model_forward(&dm, dtheta, &db, &dws);
        double worst = 0;
        for (int i = 0; i < N_PAIRS * P_TOK; i++)
            worst = fmax(worst, rel_diff(po[i], dout[i]));
        CU_ASSERT(worst < 1e-12);
        /* the same dout for both: the cross-entropy gradient in the outputs */
        double ll[N_PAIRS], mg[N_PAIRS];
        bl_loss_forward(BL_LOSS_CROSS_ENTROPY, po, &pb, P_TOK, ll, mg);
        bl_loss_backward(BL_LOSS_CROSS_ENTROPY, po, &pb, P_TOK, 0.0, pws.dout);
        memcpy(dws.dout, pws.dout, sizeof(double) * N_PAIRS * P_TOK);
        bl_model_backward(&pm, theta, &pb, pws.dout, &pws, g);
        bl_model_backward(&dm, dtheta, &db, dws.dout, &dws, dg);
        to_dense(g, bias, mapped);
        double gworst = 0;
        for (long p = 0; p < P; p++)
            gworst = fmax(gworst, rel_diff(mapped[p], dg[p]));
        CU_ASSERT(gworst < 1e-12);
        /* HVPs: R-forward outputs, then the same rdout through both */
        const double *pr = pm.ops->rforward(&pm, theta, v, &pb, &pws);
        const double *dr = dm.ops->rforward(&dm, dtheta, dv, &db, &dws);
        double rworst = 0;
        for (int i = 0; i < N_PAIRS * P_TOK; i++)
            rworst = fmax(rworst, rel_diff(pr[i], dr[i]));
        CU_ASSERT(rworst < 1e-12);
        bl_loss_hessian_vec(BL_LOSS_CROSS_ENTROPY, po, &pb, P_TOK, 0.0, pr, pws.rdout);
        memcpy(dws.rdout, pws.rdout, sizeof(double) * N_PAIRS * P_TOK);
        pm.ops->rbackward(&pm, theta, v, &pb, pws.dout, pws.rdout, &pws, hv);
        dm.ops->rbackward(&dm, dtheta, dv, &db, dws.dout, dws.rdout, &dws, dhv);
        to_dense(hv, bias, mapped);
        double hworst = 0;
        for (long p = 0; p < P; p++)
            hworst = fmax(hworst, rel_diff(mapped[p], dhv[p]));
        CU_ASSERT(hworst < 1e-12);
        if (!(worst < 1e-12 && gworst < 1e-12 && rworst < 1e-12 && hworst < 1e-12))
            printf("\npair vs mlp bias %d: out %g grad %g rout %g hvp %g\n", bias, worst, gworst,
                   rworst, hworst);
        free(theta), free(v), free(dtheta), free(dv), free(g), free(dg), free(mapped), free(hv),
            free(dhv);
        bl_workspace_free(&pws);
        bl_workspace_free(&dws);
        bl_model_free(&pm);
        bl_model_free(&dm);
    }
}

/* The closed-form NTK against its definition, (1/p) sum_c <grad f_c(x_i),
 * grad f_c(x_j)> from per-example backward passes with dout = e_c; with and
 * without biases, at a random point and at a last_zero init. */
static void test_pair_mlp_ntk_gram(void)
{
    for (int c = 0; c < 3; c++) {
        int bias = c == 1, last_zero = c == 2;
        struct bl_model_cfg mc = pair_cfg(bias, c == 1 ? BL_ACT_LEAKY_RELU : BL_ACT_RELU,
                                          last_zero);
        struct bl_model m;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &mc, 2, P_TOK, err, sizeof err), 0);
        long P = m.n_params;
        struct bl_workspace ws;
        bl_workspace_alloc(&ws, &m, 1, 0);
        double *theta = malloc(sizeof(double) * P);
        bl_model_init(&m, 5, theta);
        struct bl_rng rng;
        bl_rng_init(&rng, 77, BL_STREAM_TEST_ONLY, (uint32_t)c);
        for (long p = 0; !last_zero && p < P; p++)
            theta[p] += 0.2 * bl_rng_normal(&rng);
        int index[2 * N_PAIRS], label[N_PAIRS];
        random_pairs(&rng, N_PAIRS, index, label);
        index[2] = index[0]; /* some shared tokens */
        index[5] = index[1];
        /* J (N_PAIRS, P_TOK, P): every output's gradient at every example */
        double *J = malloc(sizeof(double) * N_PAIRS * P_TOK * P);
        double dout[P_TOK];
        for (int i = 0; i < N_PAIRS; i++) {
            struct bl_batch one = {.n = 1, .arity = 2, .index = index + 2 * i, .label = label + i};
            bl_model_forward(&m, theta, &one, &ws);
            for (int k = 0; k < P_TOK; k++) {
                for (int q = 0; q < P_TOK; q++)
                    dout[q] = q == k;
                bl_model_backward(&m, theta, &one, dout, &ws, J + ((long)i * P_TOK + k) * P);
            }
        }
        struct bl_batch all = {.n = N_PAIRS, .arity = 2, .index = index, .label = label};
        struct bl_batch some = {.n = 4, .arity = 2, .index = index + 2, .label = label + 1};
        double K[N_PAIRS * 4];
        m.ops->ntk_gram(&m, theta, &all, &some, K);
        double worst = 0, diag_max = 0;
        for (int i = 0; i < N_PAIRS; i++)
            for (int j = 0; j < 4; j++) {
                double want = 0;
                for (int k = 0; k < P_TOK; k++)
                    for (long p = 0; p < P; p++)
                        want += J[((long)i * P_TOK + k) * P + p] *
                                J[((long)(j + 1) * P_TOK + k) * P + p] / P_TOK;
                worst = fmax(worst, rel_diff(K[i * 4 + j], want));
                if (i == j + 1)
                    diag_max = fmax(diag_max, want);
            }
        CU_ASSERT(worst < 1e-12);
        CU_ASSERT(diag_max > 0.1); /* the comparison is not of zeros */
        if (!(worst < 1e-12))
            printf("\nntk case %d: %g\n", c, worst);
        free(J);
        free(theta);
        bl_workspace_free(&ws);
        bl_model_free(&m);
    }
}

/* modular_add: every pair exactly once over train and test, labels (a + b)
 * mod p, the split a function of the seed; the config derives n_train,
 * n_test, dim and classes from modulus and train_fraction. */
static void test_modular_add_data(void)
{
    struct bl_config cfg;
    bl_config_defaults(&cfg);
    char err[BL_ERR_MAX];
    CU_ASSERT_EQUAL_FATAL(bl_config_set(&cfg, "data", "kind", "modular_add", NULL, 0, err,
                                        sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(bl_config_set(&cfg, "data", "modulus", "7", NULL, 0, err, sizeof err),
                          0);
    CU_ASSERT_EQUAL_FATAL(bl_config_set(&cfg, "model", "kind", "pair_mlp", NULL, 0, err,
                                        sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(bl_config_set(&cfg, "loss", "kind", "cross_entropy", NULL, 0, err,
                                        sizeof err), 0);
    struct bl_config point;
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 0, &point, err, sizeof err), 0);
    CU_ASSERT_EQUAL(point.data.n_train, 20); /* round(0.4 * 49) */
    CU_ASSERT_EQUAL(point.data.n_test, 29);
    CU_ASSERT_EQUAL(point.data.classes, 7);
    CU_ASSERT_EQUAL(point.data.dim, 2);
    struct bl_data d[2];
    for (int s = 0; s < 2; s++) {
        CU_ASSERT_EQUAL_FATAL(bl_data_make(&point.data, (uint64_t)s, &d[s], err, sizeof err), 0);
        int seen[49] = {0};
        const struct bl_dataset *sets[2] = {&d[s].train, &d[s].test};
        for (int k = 0; k < 2; k++) {
            CU_ASSERT_EQUAL(sets[k]->arity, 2);
            CU_ASSERT_PTR_NULL(sets[k]->x);
            for (int i = 0; i < sets[k]->n; i++) {
                int a = sets[k]->index[2 * i], b = sets[k]->index[2 * i + 1];
                CU_ASSERT_FATAL(a >= 0 && a < 7 && b >= 0 && b < 7);
                seen[a * 7 + b]++;
                CU_ASSERT_EQUAL(sets[k]->label[i], (a + b) % 7);
            }
        }
        int once = 1;
        for (int i = 0; i < 49; i++)
            once &= seen[i] == 1;
        CU_ASSERT(once);
    }
    CU_ASSERT(memcmp(d[0].train.index, d[1].train.index, sizeof(int) * 40) != 0);
    struct bl_data again;
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&point.data, 0, &again, err, sizeof err), 0);
    CU_ASSERT(memcmp(d[0].train.index, again.train.index, sizeof(int) * 40) == 0);
    bl_data_free(&again);
    bl_data_free(&d[0]);
    bl_data_free(&d[1]);
    /* a given n_train that disagrees is refused, naming the keys */
    CU_ASSERT_EQUAL(bl_config_set(&cfg, "data", "n_train", "21", NULL, 0, err, sizeof err), 0);
    CU_ASSERT_NOT_EQUAL(bl_config_for_point(&cfg, 0, &point, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "data.n_train = 21"));
}

/* Solve the d x d system M z = r in place by Gaussian elimination with
 * partial pivoting (M (d, d) row-major, r (d)); the test's own reference. */
static void gauss_solve(double *M, double *r, int d)
{
    for (int c = 0; c < d; c++) {
        int piv = c;
        for (int i = c + 1; i < d; i++)
            if (fabs(M[i * d + c]) > fabs(M[piv * d + c]))
                piv = i;
        for (int j = 0; j < d; j++) {
            double t = M[c * d + j];
            M[c * d + j] = M[piv * d + j];
            M[piv * d + j] = t;
        }
        double t = r[c];
        r[c] = r[piv];
        r[piv] = t;
        for (int i = c + 1; i < d; i++) {
            double f = M[i * d + c] / M[c * d + c];
            for (int j = c; j < d; j++)
                M[i * d + j] -= f * M[c * d + j];
            r[i] -= f * r[c];
        }
    }
    for (int c = d - 1; c >= 0; c--) {
        for (int j = c + 1; j < d; j++)
            r[c] -= M[c * d + j] * r[j];
        r[c] /= M[c * d + c];
    }
}

/* bl_kernel_fit: with a nonsingular K = G G^T (G (n, 30)) the predictor
 * interpolates the one-hot labels (K A = Y to 1e-7, every training label
 * recovered); with a rank-4 K = G G^T (G (n, 4)) its test outputs K(x, X) A
 * equal the least-squares linear fit on the features, G_t (G^T G)^-1 G^T Y,
 * solved independently by elimination: the ridgeless limit it documents
 * (to 1e-5: the ridge leaves K + r I with condition ~1e10). */
static void test_kernel_predictor(void)
{
    enum { N = 20, CL = 3, M = 7 };
    struct bl_rng rng;
    bl_rng_init(&rng, 5, BL_STREAM_TEST_ONLY, 7);
    int label[N];
    for (int i = 0; i < N; i++)
        label[i] = i % CL;
    for (int case_ = 0; case_ < 2; case_++) {
        int d = case_ ? 4 : 30;
        double G[N * 30], Gt[M * 30], K[N * N], K0[N * N], Kt[M * N], A[N * CL];
        for (int i = 0; i < N * d; i++)
            G[i] = bl_rng_normal(&rng);
        for (int i = 0; i < M * d; i++)
            Gt[i] = bl_rng_normal(&rng);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int q = 0; q < d; q++)
                    s += G[i * d + q] * G[j * d + q];
                K[i * N + j] = K0[i * N + j] = s;
            }
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int q = 0; q < d; q++)
                    s += Gt[i * d + q] * G[j * d + q];
                Kt[i * N + j] = s;
            }
        CU_ASSERT_EQUAL_FATAL(bl_kernel_fit(K, N, label, CL, A), 0);
        if (!case_) {
            double worst = 0;
            for (int i = 0; i < N; i++)
                for (int c = 0; c < CL; c++) {
                    double f = 0;
                    for (int j = 0; j < N; j++)
                        f += K0[i * N + j] * A[j * CL + c];
                    worst = fmax(worst, fabs(f - (label[i] == c)));
                }
            CU_ASSERT(worst < 1e-7);
            CU_ASSERT_EQUAL(bl_kernel_correct(K0, N, N, A, CL, label), N);
            continue;
        }
        /* W (d, CL) = (G^T G)^-1 G^T Y, one class at a time */
        double worst = 0, big = 0;
        for (int c = 0; c < CL; c++) {
            double GtG[16], r[4];
            for (int a = 0; a < d; a++) {
                r[a] = 0;
                for (int i = 0; i < N; i++)
                    r[a] += G[i * d + a] * (label[i] == c);
                for (int b = 0; b < d; b++) {
                    GtG[a * d + b] = 0;
                    for (int i = 0; i < N; i++)
                        GtG[a * d + b] += G[i * d + a] * G[i * d + b];
                }
            }
            gauss_solve(GtG, r, d);
            for (int i = 0; i < M; i++) {
                double want = 0, got = 0;
                for (int a = 0; a < d; a++)
                    want += Gt[i * d + a] * r[a];
                for (int j = 0; j < N; j++)
                    got += Kt[i * N + j] * A[j * CL + c];
                worst = fmax(worst, fabs(got - want));
                big = fmax(big, fabs(want));
            }
        }
        CU_ASSERT(big > 0.1);
        CU_ASSERT(worst < 1e-5 * big); /* rounding times the ridge's 1e10 condition */
        if (!(worst < 1e-5 * big))
            printf("\nrank-deficient kernel predictor off by %g (scale %g)\n", worst, big);
    }
}

void bl_test_register_pair_mlp(void)
{
    CU_pSuite s = CU_add_suite("pair_mlp", NULL, NULL);
    BL_ADD_TEST(s, test_pair_mlp_derivatives);
    BL_ADD_TEST(s, test_pair_mlp_equals_mlp_on_one_hots);
    BL_ADD_TEST(s, test_pair_mlp_ntk_gram);
    BL_ADD_TEST(s, test_modular_add_data);
    BL_ADD_TEST(s, test_kernel_predictor);
}
