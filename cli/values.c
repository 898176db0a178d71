/* values.c -- every value of a run, through keel_session_run_watched:
 * recorded (copies), compared one by one with a recorded run (keel
 * compare, keel check --trace), or written to files (keel run --dump). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* ---- elements ------------------------------------------------------------------ */

double cli_element(const keel_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case KEEL_FLOAT: return ((const float *)t->data)[i];
    case KEEL_DOUBLE: return ((const double *)t->data)[i];
    case KEEL_FLOAT16: return kl_half_to_float(((const uint16_t *)t->data)[i]);
    case KEEL_BFLOAT16: return kl_bf16_to_float(((const uint16_t *)t->data)[i]);
    case KEEL_INT64: return (double)((const int64_t *)t->data)[i];
    case KEEL_INT32: return ((const int32_t *)t->data)[i];
    case KEEL_INT16: return ((const int16_t *)t->data)[i];
    case KEEL_INT8: return ((const int8_t *)t->data)[i];
    case KEEL_UINT8: case KEEL_BOOL: return ((const uint8_t *)t->data)[i];
    case KEEL_UINT16: return ((const uint16_t *)t->data)[i];
    case KEEL_UINT32: return ((const uint32_t *)t->data)[i];
    case KEEL_UINT64: return (double)((const uint64_t *)t->data)[i];
    }
    return 0;
}

bool cli_is_float(int dtype)
{
    return dtype == KEEL_FLOAT || dtype == KEEL_DOUBLE || dtype == KEEL_FLOAT16 || dtype == KEEL_BFLOAT16;
}

/* Float x's place in the ordered line of floats: neighbours differ by 1. */
static int64_t float_rank(float x)
{
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits < 0 ? (int64_t)INT32_MIN - bits : bits;
}

/* ---- recording --------------------------------------------------------------- */

/* arr (of *cap elements of `size` bytes, n used) with room for one more:
 * itself, or moved to twice the room when full; NULL out of memory (arr
 * kept). */
static void *room_for_one(void *arr, int *cap, int n, size_t size)
{
    if (n < *cap)
        return arr;
    int grown_cap = *cap ? 2 * *cap : 64;
    void *grown = realloc(arr, (size_t)grown_cap * size);
    if (grown)
        *cap = grown_cap;
    return grown;
}

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static void value_free(cli_value *v)
{
    free(v->name);
    free(v->node);
    free(v->op_type);
    free(v->t.data);
}

void cli_values_free(cli_values *vals)
{
    for (int i = 0; i < vals->n; i++)
        value_free(&vals->v[i]);
    free(vals->v);
    memset(vals, 0, sizeof *vals);
}

bool cli_is_boxed(int dtype)
{
    return dtype == KEEL_STRING || dtype == KEEL_SEQUENCE || dtype == KEEL_NONE;
}

uint8_t *cli_encode_value(const keel_tensor *t, size_t *len)
{
    *len = 0;
    if (keel_value_encode(t, "", NULL, 0, len) != KEEL_OK)
        return NULL;
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf && keel_value_encode(t, "", buf, *len, len) != KEEL_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* A copy of event ev and its tensor t, appended to vals. */
static keel_status add_value(cli_values *vals, const keel_value_event *ev, const keel_tensor *t)
{
    cli_value *grown = room_for_one(vals->v, &vals->cap, vals->n, sizeof *grown);
    if (!grown)
        return KEEL_ERR_NOMEM;
    vals->v = grown;
    cli_value *v = &vals->v[vals->n];
    memset(v, 0, sizeof *v);
    size_t bytes = t->rank >= 0 ? keel_tensor_bytes(t) : 0;
    v->name = dup_str(ev->value);
    v->node = dup_str(ev->node);
    v->op_type = dup_str(ev->op_type);
    v->node_index = ev->node_index;
    v->output_index = ev->output_index;
    v->order = ev->order;
    v->t = *t;
    if (cli_is_boxed(t->dtype)) /* compared as their encoded bytes */
        v->t.data = cli_encode_value(t, &v->pb_len);
    else
        v->t.data = malloc(bytes ? bytes : 1);
    if (!v->name || !v->node || !v->op_type || !v->t.data) {
        value_free(v);
        return KEEL_ERR_NOMEM;
    }
    if (bytes && !cli_is_boxed(t->dtype))
        memcpy(v->t.data, t->data, bytes);
    vals->n++;
    return KEEL_OK;
}

static keel_status record_value(void *user, const keel_value_event *ev, const keel_tensor *t)
{
    return add_value(user, ev, t);
}

keel_status cli_record_run(keel_session *s, const keel_tensor *inputs, keel_tensor *outs, cli_values *vals)
{
    cli_values_free(vals);
    return keel_session_run_watched(s, inputs, outs, record_value, vals);
}

/* ---- comparing with a recorded run --------------------------------------------- */

/* Graphs align when they have the same nodes' op types in the same order:
 * values may then pair by node position where their names differ. */
static bool graphs_align(const keel_model *a, const keel_model *b)
{
    kl_model_info ia, ib;
    kl_inspect_model(a, &ia);
    kl_inspect_model(b, &ib);
    if (ia.n_nodes != ib.n_nodes)
        return false;
    for (int i = 0; i < ia.n_nodes; i++) {
        kl_node_info na, nb;
        kl_inspect_node(a, i, &na);
        kl_inspect_node(b, i, &nb);
        if (strcmp(na.op_type, nb.op_type) != 0 || na.n_out != nb.n_out)
            return false;
    }
    return true;
}

/* The recorded value paired with event ev of the other run: same name,
 * else (aligned graphs) the same output of the node at the same position,
 * else the graph input at the same position; -1 when none. */
static int partner(const cli_comparison *c, const keel_value_event *ev, bool *by_position)
{
    const cli_values *a = c->a;
    *by_position = false;
    for (int i = 0; i < a->n; i++)
        if (!c->a_paired[i] && strcmp(a->v[i].name, ev->value) == 0)
            return i;
    for (int i = 0; i < a->n; i++) {
        const cli_value *v = &a->v[i];
        if (c->a_paired[i])
            continue;
        bool same_node = c->aligned && ev->node_index >= 0 && v->node_index == ev->node_index &&
                         v->output_index == ev->output_index;
        bool same_input = ev->node_index < 0 && v->node_index < 0 && v->order == ev->order;
        if (same_node || same_input) {
            *by_position = true;
            return i;
        }
    }
    return -1;
}

static bool same_shape(const keel_tensor *x, const keel_tensor *y)
{
    if (x->rank != y->rank)
        return false;
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] != y->dims[d])
            return false;
    return true;
}

/* Errors of got against the reference want (same shape), into d. */
static void measure(const keel_tensor *want, const keel_tensor *got, double rtol, double atol, cli_diff *d)
{
    int64_t n = keel_tensor_numel(want);
    bool floats = cli_is_float(want->dtype) && cli_is_float(got->dtype);
    for (int64_t i = 0; i < n; i++) {
        double w = cli_element(want, i), g = cli_element(got, i);
        if (isnan(w) || isnan(g) || isinf(w) || isinf(g)) {
            bool same = (isnan(w) && isnan(g)) || w == g;
            if (!same) {
                d->bad++;
                d->max_abs = d->max_rel = d->ratio = INFINITY;
            }
            continue;
        }
        double err = fabs(g - w), bound = floats ? atol + rtol * fabs(w) : 0;
        d->max_abs = fmax(d->max_abs, err);
        if (w != 0)
            d->max_rel = fmax(d->max_rel, err / fabs(w));
        double ulp = floats ? (double)llabs(float_rank((float)g) - float_rank((float)w)) : err;
        d->max_ulp = fmax(d->max_ulp, ulp);
        if (err > bound) {
            d->bad++;
            d->ratio = fmax(d->ratio, bound > 0 ? err / bound : INFINITY);
        } else if (bound > 0)
            d->ratio = fmax(d->ratio, err / bound);
    }
}

static keel_status add_diff(cli_comparison *c, int a, const keel_value_event *ev, bool by_position,
                            const keel_tensor *got)
{
    cli_diff *grown = room_for_one(c->d, &c->cap, c->n, sizeof *grown);
    if (!grown)
        return KEEL_ERR_NOMEM;
    c->d = grown;
    cli_diff *d = &c->d[c->n];
    memset(d, 0, sizeof *d);
    d->a = a;
    d->by_position = by_position;
    d->b_name = dup_str(ev->value);
    d->b_step_node = dup_str(ev->step_node);
    d->b_step_op = dup_str(ev->step_op_type);
    c->n++;
    if (!d->b_name || !d->b_step_node || !d->b_step_op)
        return KEEL_ERR_NOMEM;
    const keel_tensor *want = &c->a->v[a].t;
    char ws[256], gs[256];
    if (cli_is_boxed(want->dtype) || cli_is_boxed(got->dtype)) { /* equal or not, byte for byte */
        size_t len = 0;
        uint8_t *bytes = cli_encode_value(got, &len);
        d->bad = !bytes || len != c->a->v[a].pb_len || memcmp(bytes, want->data, len) != 0;
        free(bytes);
        if (d->bad) {
            snprintf(d->why, sizeof d->why, "%s differs from %s", kl_shape_str(got, gs, sizeof gs),
                     kl_shape_str(want, ws, sizeof ws));
            d->ratio = d->max_abs = d->max_rel = d->max_ulp = INFINITY;
        }
        return KEEL_OK;
    }
    if (want->rank < 0 || got->rank < 0 || !same_shape(want, got) ||
        cli_is_float(want->dtype) != cli_is_float(got->dtype)) {
        snprintf(d->why, sizeof d->why, "%s against %s", kl_shape_str(got, gs, sizeof gs),
                 kl_shape_str(want, ws, sizeof ws));
        d->bad = 1;
        d->ratio = d->max_abs = d->max_rel = d->max_ulp = INFINITY;
        return KEEL_OK;
    }
    measure(want, got, c->rtol, c->atol, d);
    return KEEL_OK;
}

static keel_status add_unpaired(cli_comparison *c, const char *name)
{
    char **grown = room_for_one(c->only_b, &c->cap_only_b, c->n_only_b, sizeof *grown);
    if (!grown)
        return KEEL_ERR_NOMEM;
    c->only_b = grown;
    if (!(c->only_b[c->n_only_b] = strdup(name)))
        return KEEL_ERR_NOMEM;
    c->n_only_b++;
    return KEEL_OK;
}

static keel_status compare_value(void *user, const keel_value_event *ev, const keel_tensor *t)
{
    cli_comparison *c = user;
    bool by_position;
    int a = partner(c, ev, &by_position);
    if (a < 0)
        return add_unpaired(c, ev->value);
    c->a_paired[a] = true;
    return add_diff(c, a, ev, by_position, t);
}

static int by_reference_order(const void *x, const void *y)
{
    const cli_diff *p = x, *q = y;
    return (p->a > q->a) - (p->a < q->a);
}

keel_status cli_compare_run(keel_session *sb, const keel_tensor *inputs, keel_tensor *outs, const keel_model *ma,
                            const keel_model *mb, cli_comparison *c)
{
    c->aligned = graphs_align(ma, mb);
    c->first_divergent = -1;
    if (!(c->a_paired = calloc((size_t)c->a->n + 1, sizeof *c->a_paired)))
        return KEEL_ERR_NOMEM;
    keel_status st = keel_session_run_watched(sb, inputs, outs, compare_value, c);
    if (st)
        return st;
    qsort(c->d, (size_t)c->n, sizeof *c->d, by_reference_order);
    for (int k = 0; k < c->n && c->first_divergent < 0; k++)
        if (c->d[k].bad)
            c->first_divergent = k;
    return KEEL_OK;
}

void cli_comparison_free(cli_comparison *c)
{
    for (int k = 0; k < c->n; k++) {
        free(c->d[k].b_name);
        free(c->d[k].b_step_node);
        free(c->d[k].b_step_op);
    }
    for (int k = 0; k < c->n_only_b; k++)
        free(c->only_b[k]);
    free(c->d);
    free(c->only_b);
    free(c->a_paired);
    c->d = NULL;
    c->only_b = NULL;
    c->a_paired = NULL;
    c->n = c->cap = c->n_only_b = c->cap_only_b = 0;
}

/* ---- reports --------------------------------------------------------------------- */

/* "%.3g", or "inf" */
static const char *num(double x, char *buf, size_t n)
{
    if (isinf(x))
        snprintf(buf, n, "inf");
    else
        snprintf(buf, n, "%.3g", x);
    return buf;
}

void cli_comparison_summary(const cli_comparison *c, FILE *f, const char *lead)
{
    char e1[32], e2[32], e3[32];
    if (c->first_divergent < 0) {
        fprintf(f, "%sno value exceeds the tolerance (rtol %g, atol %g): %d compared\n", lead, c->rtol, c->atol,
                c->n);
        return;
    }
    const cli_diff *d = &c->d[c->first_divergent];
    const cli_value *v = &c->a->v[d->a];
    if (v->node_index < 0)
        fprintf(f, "%sfirst divergent: graph input '%s'", lead, v->name);
    else
        fprintf(f, "%sfirst divergent: node '%s' (%s), output '%s'", lead, v->node, v->op_type, v->name);
    if (d->why[0])
        fprintf(f, ": shapes differ, %s\n", d->why);
    else
        fprintf(f, ": max abs err %s, max rel err %s, %s ulp; %lld of %lld elements out of tolerance (rtol %g, atol %g)\n",
                num(d->max_abs, e1, sizeof e1), num(d->max_rel, e2, sizeof e2), num(d->max_ulp, e3, sizeof e3),
                (long long)d->bad, (long long)keel_tensor_numel(&v->t), c->rtol, c->atol);
}

/* "node (op)" of v, "(input)" for a graph input */
static const char *node_label(const cli_value *v, char *buf, size_t n)
{
    if (v->node_index < 0)
        snprintf(buf, n, "(input)");
    else
        snprintf(buf, n, "%s (%s)", v->node[0] ? v->node : "-", v->op_type);
    return buf;
}

#define TEXT_COLUMN_MAX 60 /* longer names are cut */

void cli_comparison_text(const cli_comparison *c, FILE *f)
{
    int wv = 5, wn = 9; /* "value", "node (op)" */
    char node[2 * TEXT_COLUMN_MAX];
    for (int k = 0; k < c->n; k++) {
        const cli_value *v = &c->a->v[c->d[k].a];
        wv = (int)fmax(wv, fmin(TEXT_COLUMN_MAX, (double)strlen(v->name)));
        wn = (int)fmax(wn, fmin(TEXT_COLUMN_MAX, (double)strlen(node_label(v, node, sizeof node))));
    }
    fprintf(f, "%4s  %-*s  %-*s %10s %10s %10s\n", "#", wv, "value", wn, "node (op)", "max abs", "max rel", "ulp");
    for (int k = 0; k < c->n; k++) {
        const cli_diff *d = &c->d[k];
        const cli_value *v = &c->a->v[d->a];
        char e1[32], e2[32], e3[32];
        fprintf(f, "%4d  %-*.*s  %-*.*s %10s %10s %10s%s%s\n", k, wv, wv, v->name, wn, wn,
                node_label(v, node, sizeof node), num(d->max_abs, e1, sizeof e1), num(d->max_rel, e2, sizeof e2),
                num(d->max_ulp, e3, sizeof e3), d->bad ? "  !" : "", d->by_position ? "  (paired by position)" : "");
    }
    if (c->n_only_b)
        fprintf(f, "%d value%s of the second run had no partner\n", c->n_only_b, c->n_only_b == 1 ? "" : "s");
    cli_comparison_summary(c, f, "");
}

static void json_num(FILE *f, double x)
{
    if (isinf(x) || isnan(x))
        fputs("null", f);
    else
        fprintf(f, "%.6g", x);
}

/* {"node": ..., "op_type": ..., "output": ..., errors} of diff d */
static void json_diff(FILE *f, const cli_comparison *c, const cli_diff *d)
{
    const cli_value *v = &c->a->v[d->a];
    char shape[256];
    fputs("{\"output\": ", f);
    cli_json_str(f, v->name);
    fputs(", \"other_name\": ", f);
    cli_json_str(f, d->b_name);
    fputs(", \"node\": ", f);
    if (v->node_index < 0)
        fputs("null", f);
    else
        cli_json_str(f, v->node);
    fputs(", \"op_type\": ", f);
    if (v->node_index < 0)
        fputs("null", f);
    else
        cli_json_str(f, v->op_type);
    fputs(", \"other_computed_by\": ", f);
    cli_json_str(f, d->b_step_node);
    fprintf(f, ", \"node_index\": %d, \"paired_by\": \"%s\", \"shape\": ", v->node_index,
            d->by_position ? "position" : "name");
    cli_json_str(f, kl_shape_str(&v->t, shape, sizeof shape));
    fputs(", \"max_abs\": ", f);
    json_num(f, d->max_abs);
    fputs(", \"max_rel\": ", f);
    json_num(f, d->max_rel);
    fputs(", \"max_ulp\": ", f);
    json_num(f, d->max_ulp);
    fputs(", \"tolerance_ratio\": ", f);
    json_num(f, d->ratio);
    fprintf(f, ", \"out_of_tolerance\": %lld, \"exceeds\": %s", (long long)d->bad, d->bad ? "true" : "false");
    if (d->why[0]) {
        fputs(", \"mismatch\": ", f);
        cli_json_str(f, d->why);
    }
    fputc('}', f);
}

void cli_comparison_json(const cli_comparison *c, FILE *f)
{
    fprintf(f, "\"rtol\": %g, \"atol\": %g, \"aligned\": %s,\n  \"first_divergent\": ", c->rtol, c->atol,
            c->aligned ? "true" : "false");
    if (c->first_divergent < 0)
        fputs("null", f);
    else
        json_diff(f, c, &c->d[c->first_divergent]);
    fputs(",\n  \"values\": [", f);
    for (int k = 0; k < c->n; k++) {
        fputs(k ? ",\n    " : "\n    ", f);
        json_diff(f, c, &c->d[k]);
    }
    fputs("],\n  \"only_in_second\": [", f);
    for (int k = 0; k < c->n_only_b; k++) {
        if (k)
            fputs(", ", f);
        cli_json_str(f, c->only_b[k]);
    }
    fputs("]", f);
}

/* ---- the picture ----------------------------------------------------------------- */

static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
}

#define SVG_FLOOR 1e-9 /* ratios below it (exact agreement included) sit on the floor */

/* log10 of the tolerance ratio shown for d */
static double svg_level(const cli_diff *d)
{
    double r = isinf(d->ratio) ? 1e9 : d->ratio;
    return log10(r < SVG_FLOOR ? SVG_FLOOR : r);
}

bool cli_comparison_svg(const cli_comparison *c, const char *path, const char *title, char *err, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return false;
    }
    const double W = 900, H = 360, left = 70, right = 20, top = 40, bottom = 50;
    double lo = log10(SVG_FLOOR), hi = 2;
    for (int k = 0; k < c->n; k++)
        hi = fmax(hi, ceil(svg_level(&c->d[k])));
    double pw = W - left - right, ph = H - top - bottom;
#define X(k) (left + (c->n > 1 ? pw * (k) / (c->n - 1) : pw / 2))
#define Y(l) (top + ph * (hi - (l)) / (hi - lo))
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fputs("<text x=\"10\" y=\"20\" font-size=\"13\">", f);
    svg_text(f, title);
    fputs("</text>\n", f);
    for (int e = (int)lo; e <= (int)hi; e++) /* a grid line per decade */
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%s1e%d</text>\n",
                left, Y(e), W - right, Y(e), left - 6, Y(e) + 4, e == (int)lo ? "&#8804;" : "", e);
    fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"6,4\"/>"
               "<text x=\"%g\" y=\"%.1f\" fill=\"#c00\">tolerance (rtol %g, atol %g)</text>\n",
            left, Y(0), W - right, Y(0), left + 6, Y(0) + 14, c->rtol, c->atol);
    fputs("<polyline fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\" points=\"", f);
    for (int k = 0; k < c->n; k++)
        fprintf(f, "%.1f,%.1f ", X(k), Y(svg_level(&c->d[k])));
    fputs("\"/>\n", f);
    for (int k = 0; k < c->n; k++) {
        const cli_diff *d = &c->d[k];
        const cli_value *v = &c->a->v[d->a];
        char e1[32];
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"><title>", X(k), Y(svg_level(d)),
                k == c->first_divergent ? 5 : 3, d->bad ? "#c00" : "#36c");
        svg_text(f, v->node_index < 0 ? "input" : v->node);
        fputs(" (", f);
        svg_text(f, v->node_index < 0 ? "input" : v->op_type);
        fputs("): ", f);
        svg_text(f, v->name);
        fprintf(f, ", error/tolerance %s</title></circle>\n", num(d->ratio, e1, sizeof e1));
    }
    if (c->first_divergent >= 0) {
        const cli_value *v = &c->a->v[c->d[c->first_divergent].a];
        bool right_half = X(c->first_divergent) > left + pw / 2;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\" text-anchor=\"%s\">first divergent: ",
                X(c->first_divergent) + (right_half ? -8 : 8), Y(svg_level(&c->d[c->first_divergent])) - 8,
                right_half ? "end" : "start");
        svg_text(f, v->node_index < 0 ? v->name : v->node);
        fputs("</text>\n", f);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">values in schedule order (%d)</text>\n"
               "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\" text-anchor=\"middle\">max error / tolerance</text>\n"
               "</svg>\n",
            left + pw / 2, H - 12, c->n, top + ph / 2, top + ph / 2);
#undef X
#undef Y
    if (fclose(f) != 0) {
        snprintf(err, n, "%s: write failed", path);
        return false;
    }
    return true;
}

/* ---- dumping ----------------------------------------------------------------------- */

/* The file name of value `name` in a dump: each byte outside A-Z a-z 0-9
 * . _ - becomes '_', a leading '.' too, at most 200 bytes are kept, and a
 * name met before (after this mapping) gets "~N" added, N its order. */
static void safe_name(const char *name, int order, const cli_dump *d, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = name; *p && k < 200 && k + 1 < n; p++) {
        char ch = *p;
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '-' || (ch == '.' && k > 0);
        out[k++] = ok ? ch : '_';
    }
    out[k] = 0;
    if (!k)
        snprintf(out, n, "_");
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->files[i], out) == 0) {
            size_t len = strlen(out);
            snprintf(out + len, n - len, "~%d", order);
            break;
        }
}

static bool dump_index_entry(cli_dump *d, const keel_value_event *ev, const keel_tensor *t, const char *file)
{
    char **grown = room_for_one(d->files, &d->cap, d->n, sizeof *grown);
    if (!grown)
        return false;
    d->files = grown;
    if (!(d->files[d->n] = strdup(file)))
        return false;
    fputs(d->n ? ",\n    {\"name\": " : "\n    {\"name\": ", d->index);
    cli_json_str(d->index, ev->value);
    fputs(", \"file\": ", d->index);
    char fname[300];
    snprintf(fname, sizeof fname, "%s.%s", file, cli_is_boxed(t->dtype) ? "pb" : "npy");
    cli_json_str(d->index, fname);
    fputs(", \"node\": ", d->index);
    if (ev->node_index < 0)
        fputs("null, \"op_type\": null", d->index);
    else {
        cli_json_str(d->index, ev->node);
        fputs(", \"op_type\": ", d->index);
        cli_json_str(d->index, ev->op_type);
    }
    fprintf(d->index, ", \"node_index\": %d, \"output_index\": %d, \"dtype\": ", ev->node_index, ev->output_index);
    cli_json_str(d->index, keel_dtype_name(t->dtype));
    fputs(", \"shape\": [", d->index);
    for (int i = 0; i < t->rank; i++)
        fprintf(d->index, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    fputs("]}", d->index);
    d->n++;
    return true;
}

static keel_status dump_value(void *user, const keel_value_event *ev, const keel_tensor *t)
{
    cli_dump *d = user;
    char file[256], path[4096];
    safe_name(ev->value, ev->order, d, file, sizeof file);
    bool boxed = cli_is_boxed(t->dtype); /* no .npy form: written as .pb */
    snprintf(path, sizeof path, "%s/%s.%s", d->dir, file, boxed ? "pb" : "npy");
    if ((boxed ? cli_save_pb(path, t, ev->value, d->err, sizeof d->err)
               : cli_save_npy(path, t, d->err, sizeof d->err)) != KEEL_OK)
        return KEEL_ERR_IO;
    if (!dump_index_entry(d, ev, t, file)) {
        snprintf(d->err, sizeof d->err, "out of memory");
        return KEEL_ERR_NOMEM;
    }
    return KEEL_OK;
}

bool cli_dump_open(cli_dump *d, const char *dir, const char *model)
{
    memset(d, 0, sizeof *d);
    d->dir = dir;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(d->err, sizeof d->err, "%s: %s", dir, strerror(errno));
        return false;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", dir);
    if (!(d->index = fopen(path, "w"))) {
        snprintf(d->err, sizeof d->err, "%.900s: %s", path, strerror(errno));
        return false;
    }
    fputs("{\"model\": ", d->index);
    cli_json_str(d->index, model);
    fputs(", \"values\": [", d->index);
    return true;
}

keel_status cli_dump_run(cli_dump *d, keel_session *s, const keel_tensor *inputs, keel_tensor *outs)
{
    return keel_session_run_watched(s, inputs, outs, dump_value, d);
}

bool cli_dump_close(cli_dump *d)
{
    bool ok = true;
    if (d->index) {
        fputs("\n]}\n", d->index);
        ok = fclose(d->index) == 0;
        if (!ok)
            snprintf(d->err, sizeof d->err, "%s/index.json: write failed", d->dir);
    }
    for (int i = 0; i < d->n; i++)
        free(d->files[i]);
    free(d->files);
    d->files = NULL;
    d->index = NULL;
    return ok;
}
