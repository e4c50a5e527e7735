/* The hard-margin linear SVM without bias, solved by dual coordinate descent
 * (Hsieh et al., ICML 2008, with no upper bound on alpha since the margin is
 * hard, and no equality constraint since there is no bias), finished by an
 * exact solve on the support set. */
#include "bl_reference.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bl_log.h"

/* Epochs between two evaluations of the duality gap; one evaluation costs
 * about as much as one epoch. */
#define CHECK_EVERY 10

/* Rounds of the primal-dual active-set iteration in one polish attempt. */
#define POLISH_ROUNDS 30

/* A remaining pivot below this fraction of the largest diagonal of the Gram
 * matrix is treated as zero: that example lies in the span of those already
 * chosen (symmetric data repeat every y_i x_i twice). */
#define RANK_TOL 1e-12

struct svm_problem {
    const double *x;  /* (n, dim) */
    const int *label; /* (n) */
    int n, dim;
};

static double sign_of(int label)
{
    return label ? 1.0 : -1.0;
}

static const double *row(const struct svm_problem *p, int i)
{
    return p->x + (size_t)i * (size_t)p->dim;
}

/* w (dim) = sum_i alpha_i y_i x_i, from scratch so that the rounding of the
 * incremental updates does not accumulate into the gap. */
static void build_w(const struct svm_problem *p, const double *alpha, double *w)
{
    memset(w, 0, (size_t)p->dim * sizeof *w);
    for (int i = 0; i < p->n; i++)
        if (alpha[i] != 0)
            cblas_daxpy(p->dim, alpha[i] * sign_of(p->label[i]), row(p, i), 1, w, 1);
}

/* margin (n) = y_i <w, x_i>; returns the smallest. */
static double margins(const struct svm_problem *p, const double *w, double *margin)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, p->n, p->dim, 1.0, p->x, p->dim, w, 1, 0.0,
                margin, 1);
    double m = INFINITY;
    for (int i = 0; i < p->n; i++) {
        margin[i] *= sign_of(p->label[i]);
        m = fmin(m, margin[i]);
    }
    return m;
}

/* Relative duality gap (P - D) / max(1, |P|) of alpha (n) and its
 * w = sum alpha_i y_i x_i with ||w||^2 = wnorm2 and smallest margin m_min.
 * P is the primal value of the feasible w / m_min, D the dual value. Weak
 * duality makes it >= 0 up to rounding; infinite while w does not separate. */
static double relative_gap(const double *alpha, int n, double wnorm2, double m_min)
{
    if (!(m_min > 0))
        return INFINITY;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += alpha[i];
    double primal = 0.5 * wnorm2 / (m_min * m_min);
    double dual = sum - 0.5 * wnorm2;
    return (primal - dual) / fmax(1.0, fabs(primal));
}

/* q (s, s) row-major, symmetric positive semidefinite, only its lower
 * triangle read. Left-looking Cholesky with diagonal pivoting (as LAPACK's
 * dpstf2): on return piv (s) is an order of the indices and l (s, s) holds in
 * its leading (r, r) lower triangle L with q[piv, piv] = L L^T there. d (s) is
 * scratch. Stops when the largest remaining pivot is below RANK_TOL times the
 * largest diagonal; returns the rank r. */
static int pivoted_cholesky(const double *q, int s, double *l, int *piv, double *d)
{
    double dmax = 0;
    for (int i = 0; i < s; i++) {
        piv[i] = i;
        d[i] = q[(size_t)i * s + i];
        dmax = fmax(dmax, d[i]);
    }
    int r = 0;
    for (int k = 0; k < s; k++) {
        int p = k;
        for (int i = k + 1; i < s; i++)
            if (d[i] > d[p])
                p = i;
        if (!(d[p] > RANK_TOL * dmax))
            break;
        if (p != k) {
            int t = piv[k];
            piv[k] = piv[p];
            piv[p] = t;
            double u = d[k];
            d[k] = d[p];
            d[p] = u;
            for (int j = 0; j < k; j++) {
                u = l[(size_t)k * s + j];
                l[(size_t)k * s + j] = l[(size_t)p * s + j];
                l[(size_t)p * s + j] = u;
            }
        }
        double lkk = sqrt(d[k]);
        l[(size_t)k * s + k] = lkk;
        /* column k below the diagonal: (q[piv_i, piv_k] - L[i, :k] L[k, :k]) / lkk */
        for (int i = k + 1; i < s; i++) {
            int a = piv[i], b = piv[k];
            l[(size_t)i * s + k] = a > b ? q[(size_t)a * s + b] : q[(size_t)b * s + a];
        }
        if (k > 0 && k + 1 < s)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, s - k - 1, k, -1.0, l + (size_t)(k + 1) * s,
                        s, l + (size_t)k * s, 1, 1.0, l + (size_t)(k + 1) * s + k, s);
        for (int i = k + 1; i < s; i++) {
            double v = l[(size_t)i * s + k] / lkk;
            l[(size_t)i * s + k] = v;
            d[i] -= v * v;
        }
        r = k + 1;
    }
    return r;
}

/* Solves L L^T u = rhs in place, L the leading (r, r) of l (s, s). */
static void cholesky_solve(const double *l, int s, int r, double *u)
{
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, r, l, s, u, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, r, l, s, u, 1);
}

/* Scratch of one polish attempt. */
struct polish_work {
    int *member;  /* (n) index in the set, or -1 */
    int *set;     /* (n) the candidate support set */
    int *piv;     /* (n) */
    double *z;    /* (s, dim) rows y_i x_i of the set */
    double *q;    /* (s, s) Gram matrix of z */
    double *l;    /* (s, s) its pivoted Cholesky factor */
    double *u;    /* (n) right-hand side, then solution, in pivot order */
    double *d;    /* (n) */
    int capacity; /* rows allocated in z, q, l */
};

/* Solves q a = 1 on the set, leaving a = 0 on examples dependent on the
 * others, with one step of iterative refinement against the true margins.
 * Writes alpha (n), w (dim), margin (n); returns the smallest margin. */
static double solve_on_set(const struct svm_problem *p, struct polish_work *pw, int s,
                           double *alpha, double *w, double *margin)
{
    if (s > pw->capacity) {
        free(pw->z);
        free(pw->q);
        free(pw->l);
        pw->capacity = s;
        pw->z = bl_malloc((size_t)s * p->dim * sizeof *pw->z);
        pw->q = bl_malloc((size_t)s * s * sizeof *pw->q);
        pw->l = bl_malloc((size_t)s * s * sizeof *pw->l);
    }
    for (int k = 0; k < s; k++) {
        int i = pw->set[k];
        double y = sign_of(p->label[i]);
        for (int j = 0; j < p->dim; j++)
            pw->z[(size_t)k * p->dim + j] = y * row(p, i)[j];
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, s, p->dim, 1.0, pw->z, p->dim, 0.0,
                pw->q, s);
    int r = pivoted_cholesky(pw->q, s, pw->l, pw->piv, pw->d);

    memset(alpha, 0, (size_t)p->n * sizeof *alpha);
    for (int k = 0; k < r; k++)
        pw->u[k] = 1.0;
    cholesky_solve(pw->l, s, r, pw->u);
    for (int k = 0; k < r; k++)
        alpha[pw->set[pw->piv[k]]] = pw->u[k];
    build_w(p, alpha, w);
    margins(p, w, margin);

    /* The Gram matrix squares the condition number of z; one correction
     * against the residual of the margins themselves recovers the digits. */
    for (int k = 0; k < r; k++)
        pw->u[k] = 1.0 - margin[pw->set[pw->piv[k]]];
    cholesky_solve(pw->l, s, r, pw->u);
    for (int k = 0; k < r; k++)
        alpha[pw->set[pw->piv[k]]] += pw->u[k];
    build_w(p, alpha, w);
    return margins(p, w, margin);
}

/* Tries to finish exactly from the coordinate-descent iterate alpha_in (n)
 * by the primal-dual active-set method (Hintermueller, Ito & Kunisch 2003) on
 * the dual: put every member of the set S on the margin (Q_SS a_S = 1,
 * a = 0 elsewhere), then drop members whose a came out negative and add
 * non-members whose margin came out below 1, until S stops changing.
 * Accepted only if the result's own duality gap is <= tol, so a failure
 * costs time, never accuracy. On success writes alpha (n), w (dim),
 * margin (n) and *gap and returns 1. */
static int polish(const struct svm_problem *p, const double *alpha_in, double tol,
                  struct polish_work *pw, double *alpha, double *w, double *margin, double *gap)
{
    int n = p->n;
    int s = 0;
    for (int i = 0; i < n; i++) {
        pw->member[i] = -1;
        if (alpha_in[i] > 0) {
            pw->member[i] = s;
            pw->set[s++] = i;
        }
    }
    for (int round = 0; round < POLISH_ROUNDS && s > 0; round++) {
        double m_min = solve_on_set(p, pw, s, alpha, w, margin);
        *gap = relative_gap(alpha, n, cblas_ddot(p->dim, w, 1, w, 1), m_min);
        if (*gap <= tol) {
            for (int i = 0; i < n; i++)
                if (alpha[i] < 0)
                    *gap = INFINITY;
            if (*gap <= tol)
                return 1;
        }
        int changed = 0, s_new = 0;
        for (int k = 0; k < s; k++) {
            int i = pw->set[k];
            if (alpha[i] < 0) {
                pw->member[i] = -1;
                changed = 1;
            } else {
                pw->member[i] = s_new;
                pw->set[s_new++] = i;
            }
        }
        for (int i = 0; i < n; i++)
            if (pw->member[i] < 0 && margin[i] < 1.0 && !(alpha[i] < 0)) {
                pw->member[i] = s_new;
                pw->set[s_new++] = i;
                changed = 1;
            }
        s = s_new;
        if (!changed)
            return 0;
    }
    return 0;
}

/* xorshift64* (Vigna 2016): a fixed, local generator keeps the solver
 * deterministic and independent of the rest of biaslab. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

int bl_svm_hard_margin(const double *x, const int *label, int n, int dim, double tol,
                       long max_iter, double *w_unit, double *alpha,
                       struct bl_svm_result *res)
{
    if (!x || !label || !w_unit || !res || n < 1 || dim < 1 || !(tol >= 0) || max_iter < 0)
        bl_fatal_at(__FILE__, __LINE__, "bl_svm_hard_margin: bad arguments (n %d, dim %d)", n,
                    dim);
    for (int i = 0; i < n; i++)
        if (label[i] != 0 && label[i] != 1)
            bl_fatal_at(__FILE__, __LINE__, "bl_svm_hard_margin: label[%d] = %d is not 0 or 1",
                        i, label[i]);
    struct svm_problem p = {x, label, n, dim};

    double *a = alpha ? alpha : bl_malloc((size_t)n * sizeof *a);
    double *w = bl_malloc((size_t)dim * sizeof *w);
    double *qdiag = bl_malloc((size_t)n * sizeof *qdiag);
    double *margin = bl_malloc((size_t)n * sizeof *margin);
    int *perm = bl_malloc((size_t)n * sizeof *perm);
    double *a_try = bl_malloc((size_t)n * sizeof *a_try);
    double *w_try = bl_malloc((size_t)dim * sizeof *w_try);
    double *margin_try = bl_malloc((size_t)n * sizeof *margin_try);
    struct polish_work pw = {
        .member = bl_malloc((size_t)n * sizeof(int)),
        .set = bl_malloc((size_t)n * sizeof(int)),
        .piv = bl_malloc((size_t)n * sizeof(int)),
        .u = bl_malloc((size_t)n * sizeof(double)),
        .d = bl_malloc((size_t)n * sizeof(double)),
    };

    memset(a, 0, (size_t)n * sizeof *a);
    memset(w, 0, (size_t)dim * sizeof *w);
    int status = 2;
    double m_min = 0, gap = INFINITY;
    long epoch = 0;
    for (int i = 0; i < n; i++) {
        perm[i] = i;
        qdiag[i] = cblas_ddot(dim, row(&p, i), 1, row(&p, i), 1);
        /* y_i <w, 0> = 0 for every w: no margin is possible. */
        if (qdiag[i] == 0)
            status = 1;
    }

    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    long next_polish = CHECK_EVERY;
    while (status == 2) {
        if (epoch % CHECK_EVERY == 0 || epoch == max_iter) {
            build_w(&p, a, w);
            m_min = margins(&p, w, margin);
            gap = relative_gap(a, n, cblas_ddot(dim, w, 1, w, 1), m_min);
            if (gap <= tol) {
                status = 0;
                break;
            }
            /* Polishing pays once the support set is nearly right; doubling
             * the interval keeps failed attempts a small share of the time. */
            if (m_min > 0 && epoch >= next_polish) {
                next_polish = 2 * epoch;
                double g;
                if (polish(&p, a, tol, &pw, a_try, w_try, margin_try, &g)) {
                    memcpy(a, a_try, (size_t)n * sizeof *a);
                    memcpy(w, w_try, (size_t)dim * sizeof *w);
                    memcpy(margin, margin_try, (size_t)n * sizeof *margin);
                    m_min = INFINITY;
                    for (int i = 0; i < n; i++)
                        m_min = fmin(m_min, margin[i]);
                    gap = g;
                    status = 0;
                    break;
                }
            }
            if (epoch >= max_iter) {
                /* A dual that keeps growing leaves w unable to separate. */
                status = m_min > 0 ? 2 : 1;
                break;
            }
        }
        for (int k = n - 1; k > 0; k--) {
            int j = (int)(next_random(&rng) % (uint64_t)(k + 1));
            int t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        for (int k = 0; k < n; k++) {
            int i = perm[k];
            double y = sign_of(label[i]);
            /* gradient of the dual's negative in alpha_i, then the exact
             * minimizer along that coordinate, clipped at alpha_i >= 0 */
            double grad = y * cblas_ddot(dim, w, 1, row(&p, i), 1) - 1.0;
            double a_new = fmax(0.0, a[i] - grad / qdiag[i]);
            if (a_new != a[i]) {
                cblas_daxpy(dim, (a_new - a[i]) * y, row(&p, i), 1, w, 1);
                a[i] = a_new;
            }
        }
        epoch++;
    }

    double wnorm = sqrt(cblas_ddot(dim, w, 1, w, 1));
    for (int j = 0; j < dim; j++)
        w_unit[j] = wnorm > 0 ? w[j] / wnorm : 0.0;
    res->gamma = wnorm > 0 && isfinite(m_min) ? m_min / wnorm : 0.0;
    res->duality_gap = gap;
    res->iterations = epoch;
    res->n_support = 0;
    for (int i = 0; i < n; i++)
        res->n_support += a[i] > 0;
    res->converged = status == 0;

    free(pw.member);
    free(pw.set);
    free(pw.piv);
    free(pw.u);
    free(pw.d);
    free(pw.z);
    free(pw.q);
    free(pw.l);
    free(margin_try);
    free(w_try);
    free(a_try);
    free(perm);
    free(margin);
    free(qdiag);
    free(w);
    if (!alpha)
        free(a);
    return status;
}

/* Why (1 + s) / 4 * gamma_svm (any slope s > -1): max(z, s z) + min(z, s z) =
 * (1 + s) z gives phi(t) - phi(-t) = (1 + s) t. Upper bound: on symmetric data
 * the margin q of f at (x, y) and at (-x, -y) give y (f(x) - f(-x)) >= 2 q,
 * and f(x) - f(-x) = (1 + s) <v, x> with v = sum_k a_k w_k, so
 * 2 q <= (1 + s) gamma_svm ||v|| <= (1 + s) gamma_svm sum_k |a_k| ||w_k||
 * <= (1 + s) gamma_svm ||theta||^2 / 2 (AM-GM). Attained by the pair
 * (w, a), (-w, -a) with w = r w_svm, |a| = r: f(x) = (1 + s) r^2 <w_svm, x>
 * and ||theta||^2 = 4 r^2. Checked numerically in test_reference.c. */
double bl_two_layer_margin_bound(double gamma_svm, double leaky_slope)
{
    return (1.0 + leaky_slope) / 4.0 * gamma_svm;
}
