/* The model registry, and what every family shares: parameter blocks, the
 * layout string, workspaces and the calls through the ops table. A new
 * family is one file in this folder and one line in `families` below (and
 * its name in config.c's model.kind). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_model.h"

extern const struct bl_model_ops bl_model_dense, bl_model_quadratic, bl_model_noisy_quadratic,
    bl_model_diag_linear, bl_model_factorization, bl_model_pair_mlp;

/* indexed by enum bl_model_kind */
static const struct bl_model_ops *const families[] = {
    [BL_MODEL_LINEAR] = &bl_model_dense,
    [BL_MODEL_MLP] = &bl_model_dense,
    [BL_MODEL_QUADRATIC] = &bl_model_quadratic,
    [BL_MODEL_DIAG_LINEAR] = &bl_model_diag_linear,
    [BL_MODEL_NOISY_QUADRATIC] = &bl_model_noisy_quadratic,
    [BL_MODEL_FACTORIZATION] = &bl_model_factorization,
    [BL_MODEL_PAIR_MLP] = &bl_model_pair_mlp,
};
static_assert(sizeof families / sizeof families[0] == BL_MODEL_COUNT,
              "one family per model kind");

const struct bl_model_ops *bl_model_family(enum bl_model_kind kind)
{
    return (unsigned)kind < BL_MODEL_COUNT ? families[kind] : NULL;
}

int bl_model_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs, int outputs,
                   char *err, size_t err_len)
{
    memset(m, 0, sizeof *m);
    m->ops = bl_model_family(cfg->kind);
    if (!m->ops) {
        snprintf(err, err_len, "model.kind %d has no family", (int)cfg->kind);
        return 1;
    }
    m->inputs = inputs;
    m->outputs = outputs;
    if (m->ops->build(m, cfg, inputs, outputs, err, err_len)) {
        bl_model_free(m);
        return 1;
    }
    return 0;
}

void bl_model_free(struct bl_model *m)
{
    if (m->ops && m->ops->free)
        m->ops->free(m);
    m->impl = NULL;
}

void bl_model_add_block(struct bl_model *m, const char *name, int rows, int cols)
{
    if (m->n_blocks == BL_MAX_BLOCKS)
        bl_fatal_at(__FILE__, __LINE__, "more than %d parameter blocks", BL_MAX_BLOCKS);
    struct bl_param_block *b = &m->blocks[m->n_blocks++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->rows = rows;
    b->cols = cols;
    b->offset = m->n_params;
    m->n_params += (long)rows * cols;
}

void bl_model_layout(const struct bl_model *m, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < m->n_blocks && used < len; k++) {
        const struct bl_param_block *b = &m->blocks[k];
        if (b->cols == 1)
            used += snprintf(buf + used, len - used, "%s%s(%d)", k ? " " : "", b->name, b->rows);
        else
            used += snprintf(buf + used, len - used, "%s%s(%d,%d)", k ? " " : "", b->name,
                             b->rows, b->cols);
    }
}

void bl_workspace_alloc(struct bl_workspace *ws, const struct bl_model *m, int max_batch,
                        int hvp)
{
    memset(ws, 0, sizeof *ws);
    ws->max_batch = max_batch;
    size_t outs = (size_t)max_batch * (size_t)m->outputs;
    size_t own = m->ops->workspace_doubles(m, max_batch, hvp);
    /* one allocation: the family's buffers, then dout and rdout */
    double *block = bl_malloc(sizeof(double) * (own + 2 * outs + 1));
    ws->dout = block + own;
    ws->rdout = hvp ? ws->dout + outs : NULL;
    m->ops->workspace_bind(m, ws, block, hvp);
    ws->block = block;
}

void bl_workspace_free(struct bl_workspace *ws)
{
    free(ws->impl);
    free(ws->block);
    memset(ws, 0, sizeof *ws);
}

double bl_workspace_bytes(const struct bl_model *m, int max_batch, int hvp)
{
    return 8.0 * ((double)m->ops->workspace_doubles(m, max_batch, hvp) +
                  2.0 * max_batch * m->outputs);
}

const double *bl_model_forward(const struct bl_model *m, const double *theta,
                               const struct bl_batch *b, struct bl_workspace *ws)
{
    if (b->n > ws->max_batch)
        bl_fatal_at(__FILE__, __LINE__, "batch of %d exceeds workspace of %d", b->n,
                    ws->max_batch);
    return m->ops->forward(m, theta, b, ws);
}

void bl_model_backward(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                       const double *dout, struct bl_workspace *ws, double *grad)
{
    m->ops->backward(m, theta, b, dout, ws, grad);
}

int bl_model_has_hvp(const struct bl_model *m)
{
    return (m->ops->rforward && m->ops->rbackward) || m->ops->objective_hvp;
}

enum bl_margin_kind bl_model_margin_reference(const struct bl_model *m, double *slope)
{
    *slope = 0;
    return m->ops->margin_reference ? m->ops->margin_reference(m, slope) : BL_MARGIN_NONE;
}

double bl_model_step_flops(const struct bl_model *m, int n)
{
    return m->ops->step_flops ? m->ops->step_flops(m, n) : 0.0;
}
