/* scan.c -- Scan: runs `body` once per step along the scan inputs,
 * threading N state values through it; each step's K extra outputs are
 * stacked into the scan outputs.  Opset 9+ takes per-input axes and
 * directions; opset 8 has a leading batch axis on everything (and an
 * optional sequence_lens, supported when every length is the full one).
 * Like Loop, the whole scan runs in infer() once the inputs are known. */
#include <string.h>

#include "drivers/control.h"
#include "../runtime/exec.h"

#define MAX_VALUES KL_MAX_LOOP_VALUES

typedef struct scan_spec {
    int n_state, n_scan_in, n_scan_out;
    int in_axis[MAX_VALUES], in_reverse[MAX_VALUES];
    int out_axis[MAX_VALUES], out_reverse[MAX_VALUES];
} scan_spec;

/* One scan over unbatched tensors: states[] (borrowed) and scan inputs
 * xs[] -> r->t[0..n_state) final states, r->t[n_state..) scan outputs. */
static keel_status scan_once(kl_opctx *c, const kl_graph *body, const scan_spec *sp,
                             const kl_tensor *const *states, const kl_tensor *const *xs, kl_tensor **res)
{
    int ns = sp->n_state, nx = sp->n_scan_in, ny = sp->n_scan_out;
    int64_t steps = nx ? xs[0]->dims[sp->in_axis[0]] : 0;
    for (int j = 1; j < nx; j++)
        if (xs[j]->dims[sp->in_axis[j]] != steps)
            return kl_op_fail(c, KEEL_ERR_SHAPE, "scan inputs 0 and %d have different lengths", j);
    kl_tensor *cur[MAX_VALUES] = {0}, *slices[MAX_VALUES] = {0}, *outs[2 * MAX_VALUES] = {0};
    kl_tensor **ys = kl_alloc(c->env, (size_t)(ny * steps + 1) * sizeof *ys);
    keel_status st = ys ? KEEL_OK : KEEL_ERR_NOMEM;
    for (int k = 0; !st && k < ns; k++)
        if (!(cur[k] = kl_value_new(c->env, states[k])))
            st = KEEL_ERR_NOMEM;
    for (int64_t t = 0; !st && t < steps; t++) {
        const kl_tensor *ins[2 * MAX_VALUES];
        for (int k = 0; k < ns; k++)
            ins[k] = cur[k];
        for (int j = 0; j < nx && !st; j++) {
            int64_t at = sp->in_reverse[j] ? steps - 1 - t : t;
            if (!(slices[j] = kl_tensor_slice(c->env, xs[j], sp->in_axis[j], at)))
                st = KEEL_ERR_NOMEM;
            ins[ns + j] = slices[j];
        }
        if (!st)
            st = kl_run_subgraph(c, body, ins, ns + nx, outs);
        for (int j = 0; j < nx; j++) {
            kl_tensor_free(c->env, slices[j]);
            slices[j] = NULL;
        }
        if (st)
            break;
        for (int k = 0; k < ns; k++) {
            kl_tensor_free(c->env, cur[k]);
            cur[k] = outs[k];
        }
        for (int j = 0; j < ny; j++)
            ys[(size_t)j * (size_t)steps + (size_t)t] = outs[ns + j];
    }
    for (int j = 0; !st && j < ny; j++) {
        kl_tensor **part = ys + (size_t)j * (size_t)steps;
        if (steps == 0)
            st = kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "scan of length 0");
        else if (!(st = kl_check_same_shapes(c, part, (int)steps, "a scan output")) &&
                 (sp->out_axis[j] < 0 || sp->out_axis[j] > part[0]->rank))
            st = kl_op_fail(c, KEEL_ERR_SHAPE, "scan_output_axes[%d] is out of range", j);
        else if (!st && !(res[ns + j] = kl_tensor_stack(c->env, part, (int)steps, sp->out_axis[j],
                                                         sp->out_reverse[j])))
            st = KEEL_ERR_NOMEM;
    }
    for (int k = 0; k < ns; k++) {
        if (!st)
            res[k] = cur[k];
        else
            kl_tensor_free(c->env, cur[k]);
    }
    for (int64_t i = 0; ys && i < ny * steps; i++)
        kl_tensor_free(c->env, ys[i]);
    kl_free(c->env, ys, (size_t)(ny * steps + 1) * sizeof *ys);
    return st;
}

/* Axes and directions from the attributes (opset 9+). */
static keel_status read_spec(kl_opctx *c, const kl_graph *body, int first_input, scan_spec *sp)
{
    int n_in = c->n_in - first_input;
    sp->n_scan_in = (int)kl_attr_int(c->node, "num_scan_inputs", -1);
    sp->n_state = n_in - sp->n_scan_in;
    sp->n_scan_out = c->n_out - sp->n_state;
    if (sp->n_scan_in < 1 || sp->n_state < 0 || sp->n_scan_out < 0 || sp->n_scan_in > MAX_VALUES ||
        sp->n_state > MAX_VALUES || sp->n_scan_out > MAX_VALUES)
        return kl_op_fail(c, KEEL_ERR_INVALID, "num_scan_inputs %d does not fit %d inputs and %d outputs",
                          sp->n_scan_in, n_in, c->n_out);
    if (body->n_inputs != n_in || body->n_outputs != c->n_out)
        return kl_op_fail(c, KEEL_ERR_INVALID, "body takes %d inputs and gives %d outputs; the node has %d and %d",
                          body->n_inputs, body->n_outputs, n_in, c->n_out);
    const int64_t *v;
    int n;
    struct { const char *name; int count; int *dst; bool is_axis; } lists[] = {
        {"scan_input_axes", sp->n_scan_in, sp->in_axis, true},
        {"scan_input_directions", sp->n_scan_in, sp->in_reverse, false},
        {"scan_output_axes", sp->n_scan_out, sp->out_axis, true},
        {"scan_output_directions", sp->n_scan_out, sp->out_reverse, false},
        /* opset 8 */
        {"directions", sp->n_scan_in, sp->in_reverse, false}};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        n = kl_attr_ints(c->node, lists[l].name, &v);
        if (n >= 0 && n != lists[l].count)
            return kl_op_fail(c, KEEL_ERR_INVALID, "attribute %s has %d values, not %d", lists[l].name, n,
                              lists[l].count);
        for (int k = 0; k < lists[l].count && n >= 0; k++)
            lists[l].dst[k] = (int)v[k];
    }
    for (int j = 0; j < sp->n_scan_in; j++) {
        const kl_tensor *x = c->in[first_input + sp->n_state + j];
        int axis;
        if (!x)
            return kl_op_fail(c, KEEL_ERR_INVALID, "scan input %d is missing", j);
        keel_status st = kl_norm_axis(c, sp->in_axis[j], x->rank, &axis);
        if (st)
            return st;
        sp->in_axis[j] = axis;
    }
    return KEEL_OK;
}

/* Opset 8: every state and scan input has a leading batch axis; each
 * batch entry is scanned on its own and the results stacked back. */
static keel_status scan_batched(kl_opctx *c, const kl_graph *body, scan_spec *sp,
                                const kl_tensor *const *vals, kl_results *r)
{
    const kl_tensor *lens = c->in[0], *x0 = vals[sp->n_state];
    if (x0->rank < 2)
        return kl_op_fail(c, KEEL_ERR_SHAPE, "opset 8 scan inputs need [batch, sequence, ...]");
    int64_t batch = x0->dims[0];
    if (lens && !lens->data)
        return kl_op_needs_data(c, 0);
    for (int64_t b = 0; lens && b < kl_numel(lens); b++)
        if (lens->dtype != KEEL_INT32 || ((const int32_t *)lens->data)[b] != x0->dims[1])
            return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "sequence_lens other than the full length");
    if (batch < 1 || batch > 4096)
        return kl_op_fail(c, KEEL_ERR_LIMIT, "batch of %lld (1 to 4096 supported)", (long long)batch);
    for (int j = 0; j < sp->n_scan_in; j++)
        if (sp->in_axis[j] != 0 && sp->in_axis[j] != 1)
            return kl_op_fail(c, KEEL_ERR_INVALID, "opset 8 scans along axis 1");
        else
            sp->in_axis[j] = 0; /* the sequence axis once the batch axis is sliced off */
    int n_out = c->n_out, nv = sp->n_state + sp->n_scan_in;
    size_t n_per = (size_t)batch * (size_t)n_out;
    kl_tensor **per = kl_alloc(c->env, n_per * sizeof *per);
    keel_status st = per ? KEEL_OK : KEEL_ERR_NOMEM;
    for (int64_t b = 0; !st && b < batch; b++) {
        kl_tensor *sl[2 * MAX_VALUES] = {0};
        for (int k = 0; k < nv && !st; k++)
            if (!(sl[k] = kl_tensor_slice(c->env, vals[k], 0, b)))
                st = KEEL_ERR_NOMEM;
        const kl_tensor *const *in = (const kl_tensor *const *)sl;
        if (!st)
            st = scan_once(c, body, sp, in, in + sp->n_state, per + b * n_out);
        for (int k = 0; k < nv; k++)
            kl_tensor_free(c->env, sl[k]);
    }
    kl_tensor *parts[4096];
    for (int k = 0; !st && k < n_out; k++) {
        for (int64_t b = 0; b < batch; b++)
            parts[b] = per[b * n_out + k];
        if (!(st = kl_check_same_shapes(c, parts, (int)batch, "a batch entry")) &&
            !(r->t[k] = kl_tensor_stack(c->env, parts, (int)batch, 0, false)))
            st = KEEL_ERR_NOMEM;
    }
    for (size_t i = 0; per && i < n_per; i++)
        kl_tensor_free(c->env, per[i]);
    kl_free(c->env, per, n_per * sizeof *per);
    return st;
}

static keel_status scan_infer(kl_opctx *c)
{
    const kl_attr *a = kl_node_attr(c->node, "body");
    if (!a || a->type != KL_ATTR_GRAPH)
        return kl_op_fail(c, KEEL_ERR_INVALID, "needs a graph attribute 'body'");
    bool batched = c->opset < 9;
    int first = batched ? 1 : 0; /* opset 8: input 0 is sequence_lens */
    scan_spec sp = {0};
    keel_status st = read_spec(c, a->g, first, &sp);
    if (st)
        return st;
    for (int k = first; k < c->n_in; k++)
        if (c->in[k] && !c->in[k]->data && kl_nbytes(c->in[k]))
            return kl_op_needs_data(c, k);
    kl_results *r = kl_results_new(c->env, c->n_out);
    if (!r)
        return KEEL_ERR_NOMEM;
    const kl_tensor *const *vals = (const kl_tensor *const *)c->in + first;
    st = batched ? scan_batched(c, a->g, &sp, vals, r)
                 : scan_once(c, a->g, &sp, vals, vals + sp.n_state, r->t);
    if (st) {
        kl_results_free(c->env, r);
        return st;
    }
    return kl_results_publish(c, r);
}

/* opset 8's input 0 (sequence_lens) may be empty */
static const kl_op scan_v8 = {.type = "Scan", .since = 8, .until = 8, .max_inputs = -1,
                              .infer = scan_infer, .run = kl_results_copy_out,
                              .release = kl_results_free};
static const kl_op scan_v9 = {.type = "Scan", .since = 9, .min_inputs = 1, .max_inputs = -1,
                              .infer = scan_infer, .run = kl_results_copy_out,
                              .release = kl_results_free};

const kl_op *const kl_opfile_scan[] = {&scan_v8, &scan_v9, NULL};
