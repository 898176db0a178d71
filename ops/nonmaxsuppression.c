/* nonmaxsuppression.c -- NonMaxSuppression: per batch and class, boxes
 * taken greedily by descending score (above score_threshold), each
 * dropping the remaining boxes it overlaps with IoU above iou_threshold,
 * at most max_output_boxes_per_class of them.  Output: the selected
 * [batch, class, box] triples, int64 [count, 3]; the count depends on the
 * data, so the node is planned when boxes and scores are known.  Boxes are
 * corners (y1, x1, y2, x2) in either order, or center_point_box = 1:
 * (x_center, y_center, width, height). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

enum { BOXES, SCORES, MAX_OUT, IOU, SCORE_MIN };

typedef struct nms_args {
    int64_t batches, classes, n, max_out;
    float iou, score_min;
    bool center;
} nms_args;

typedef struct corner_box {
    float y1, x1, y2, x2;
} corner_box;

static keel_status read_args(kl_opctx *c, nms_args *a)
{
    const kl_tensor *boxes = c->in[BOXES], *scores = c->in[SCORES];
    if (boxes->dtype != KEEL_FLOAT || scores->dtype != KEEL_FLOAT || boxes->rank != 3 || boxes->dims[2] != 4 ||
        scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return kl_op_fail(c, KEEL_ERR_SHAPE, "boxes float [B, N, 4] and scores float [B, classes, N] expected");
    a->batches = boxes->dims[0];
    a->n = boxes->dims[1];
    a->classes = scores->dims[1];
    a->center = kl_attr_int(c->node, "center_point_box", 0) != 0;
    a->max_out = 0;
    a->iou = 0;
    a->score_min = -INFINITY;
    for (int i = MAX_OUT; i <= SCORE_MIN; i++) {
        const kl_tensor *t = i < c->n_in ? c->in[i] : NULL;
        if (!t)
            continue;
        if (kl_numel(t) != 1 || t->dtype != (i == MAX_OUT ? KEEL_INT64 : KEEL_FLOAT))
            return kl_op_fail(c, KEEL_ERR_SHAPE, "input %d must be one %s", i, i == MAX_OUT ? "int64" : "float");
        if (!t->data)
            return kl_op_needs_data(c, i);
        if (i == MAX_OUT)
            a->max_out = *(const int64_t *)t->data;
        else
            *(i == IOU ? &a->iou : &a->score_min) = *(const float *)t->data;
    }
    if (!boxes->data)
        return kl_op_needs_data(c, BOXES);
    if (!scores->data)
        return kl_op_needs_data(c, SCORES);
    return KEEL_OK;
}

static corner_box box_at(const nms_args *a, const float *b)
{
    if (a->center) {
        float hw = b[2] / 2, hh = b[3] / 2;
        return (corner_box){b[1] - hh, b[0] - hw, b[1] + hh, b[0] + hw};
    }
    return (corner_box){b[0] < b[2] ? b[0] : b[2], b[1] < b[3] ? b[1] : b[3], b[0] > b[2] ? b[0] : b[2],
                        b[1] > b[3] ? b[1] : b[3]};
}

static bool overlaps(const nms_args *a, corner_box p, corner_box q)
{
    float area_p = (p.y2 - p.y1) * (p.x2 - p.x1), area_q = (q.y2 - q.y1) * (q.x2 - q.x1);
    if (area_p <= 0 || area_q <= 0)
        return false;
    float ih = (p.y2 < q.y2 ? p.y2 : q.y2) - (p.y1 > q.y1 ? p.y1 : q.y1);
    float iw = (p.x2 < q.x2 ? p.x2 : q.x2) - (p.x1 > q.x1 ? p.x1 : q.x1);
    if (ih <= 0 || iw <= 0)
        return false;
    float inter = ih * iw;
    return inter / (area_p + area_q - inter) > a->iou;
}

typedef struct scored {
    float score;
    int64_t index;
} scored;

static int by_score(const void *x, const void *y)
{
    const scored *p = x, *q = y;
    if (p->score != q->score)
        return p->score < q->score ? 1 : -1;
    return p->index < q->index ? -1 : p->index > q->index;
}

/* Selects the boxes of one (batch, class); writes their indices to sel
 * (scratch: cand holds n entries) and returns how many. */
static int64_t select_class(const nms_args *a, const float *boxes, const float *scores, scored *cand, int64_t *sel)
{
    int64_t nc = 0, ns = 0;
    for (int64_t i = 0; i < a->n; i++)
        if (scores[i] > a->score_min)
            cand[nc++] = (scored){scores[i], i};
    qsort(cand, (size_t)nc, sizeof *cand, by_score);
    for (int64_t k = 0; k < nc && ns < a->max_out; k++) {
        corner_box b = box_at(a, boxes + cand[k].index * 4);
        bool keep = true;
        for (int64_t j = 0; j < ns && keep; j++)
            keep = !overlaps(a, b, box_at(a, boxes + sel[j] * 4));
        if (keep)
            sel[ns++] = cand[k].index;
    }
    return ns;
}

/* Runs the selection; with out NULL only counts. */
static int64_t suppress(kl_opctx *c, const nms_args *a, int64_t *out, scored *cand, int64_t *sel)
{
    int64_t total = 0;
    for (int64_t b = 0; b < a->batches; b++)
        for (int64_t k = 0; k < a->classes; k++) {
            const float *boxes = (const float *)c->in[BOXES]->data + b * a->n * 4;
            const float *scores = (const float *)c->in[SCORES]->data + (b * a->classes + k) * a->n;
            int64_t ns = select_class(a, boxes, scores, cand, sel);
            for (int64_t j = 0; out && j < ns; j++) {
                out[3 * (total + j)] = b;
                out[3 * (total + j) + 1] = k;
                out[3 * (total + j) + 2] = sel[j];
            }
            total += ns;
        }
    return total;
}

/* Candidate and selection lists: from the session's allocator at infer
 * (which runs before any run-time buffer exists), freed at once. */
static keel_status with_lists(kl_opctx *c, const nms_args *a, int64_t *out, int64_t *count)
{
    size_t n = (size_t)(a->n ? a->n : 1);
    scored *cand = kl_alloc(c->env, n * sizeof *cand);
    int64_t *sel = kl_alloc(c->env, n * sizeof *sel);
    keel_status st = cand && sel ? KEEL_OK : KEEL_ERR_NOMEM;
    if (!st)
        *count = suppress(c, a, out, cand, sel);
    kl_free(c->env, cand, n * sizeof *cand);
    kl_free(c->env, sel, n * sizeof *sel);
    return st;
}

static keel_status nms_infer(kl_opctx *c)
{
    nms_args a;
    int64_t count = 0;
    keel_status st = read_args(c, &a);
    if (!st)
        st = with_lists(c, &a, NULL, &count);
    if (!st)
        kl_set_shape(c->out[0], KEEL_INT64, 2, (int64_t[]){count, 3});
    return st;
}

static keel_status nms_run(kl_opctx *c)
{
    nms_args a;
    int64_t count = 0;
    keel_status st = read_args(c, &a);
    return st ? st : with_lists(c, &a, c->out[0]->data, &count);
}

static const kl_op nms = {.type = "NonMaxSuppression", .since = 10, .min_inputs = 2,
                          .max_inputs = 5, .infer = nms_infer, .run = nms_run};

const kl_op *const kl_opfile_nonmaxsuppression[] = {&nms, NULL};
