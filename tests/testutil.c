/* testutil.c -- see testutil.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct tb_model {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    void **owned;         /* everything malloc'd for the protos */
    size_t n_owned, cap_owned;
};

static void *own(tb_model *b, void *p)
{
    if (b->n_owned == b->cap_owned) {
        b->cap_owned = b->cap_owned ? b->cap_owned * 2 : 64;
        b->owned = realloc(b->owned, b->cap_owned * sizeof *b->owned);
    }
    b->owned[b->n_owned++] = p;
    return p;
}

static void *tb_alloc(tb_model *b, size_t n)
{
    return own(b, calloc(1, n ? n : 1));
}

static char *tb_str(tb_model *b, const char *s)
{
    return own(b, strdup(s));
}

/* Appends `item` to a protobuf-c repeated field (array + count). */
#define APPEND(b, arr, count, item) do { \
        void *grown = tb_alloc((b), ((count) + 1) * sizeof *(arr)); \
        if ((count)) memcpy(grown, (arr), (count) * sizeof *(arr)); \
        (arr) = grown; (arr)[(count)++] = (item); } while (0)

tb_model *tb_new(int64_t ir_version, int64_t opset)
{
    tb_model *b = calloc(1, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->model.has_ir_version = 1;
    b->model.ir_version = ir_version;
    b->model.producer_name = "keel-tests";
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.opset_import = b->opsets;
    b->model.n_opset_import = 1;
    b->model.graph = &b->graph;
    b->graph.name = "test";
    return b;
}

Onnx__ModelProto *tb_proto(tb_model *b)
{
    return &b->model;
}

void tb_free(tb_model *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    free(b->owned);
    free(b);
}

static Onnx__ValueInfoProto *value_info(tb_model *b, const char *name, int dtype, int rank,
                                        const int64_t *dims, const char *sym)
{
    Onnx__ValueInfoProto *vi = tb_alloc(b, sizeof *vi);
    Onnx__TypeProto *tp = tb_alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = tb_alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sp = tb_alloc(b, sizeof *sp);
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    vi->name = tb_str(b, name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
    tt->shape = sp;
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = tb_alloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else if (sym) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = tb_str(b, sym);
        }
        APPEND(b, sp->dim, sp->n_dim, d);
    }
    return vi;
}

void tb_input(tb_model *b, const char *name, int dtype, int rank, const int64_t *dims, const char *sym)
{
    Onnx__ValueInfoProto *vi = value_info(b, name, dtype, rank, dims, sym);
    APPEND(b, b->graph.input, b->graph.n_input, vi);
}

/* A TypeProto: `kind` KEEL_SEQUENCE (of elem tensors), KEEL_OPTIONAL
 * (of what `inner` says, recursively), else a tensor of elem. */
static Onnx__TypeProto *kind_type(tb_model *b, const int *kinds, int n_kinds, int elem)
{
    Onnx__TypeProto *tp = tb_alloc(b, sizeof *tp);
    onnx__type_proto__init(tp);
    if (n_kinds && kinds[0] == KEEL_SEQUENCE) {
        Onnx__TypeProto__Sequence *sq = tb_alloc(b, sizeof *sq);
        onnx__type_proto__sequence__init(sq);
        sq->elem_type = kind_type(b, kinds + 1, n_kinds - 1, elem);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        tp->sequence_type = sq;
    } else if (n_kinds && kinds[0] == KEEL_OPTIONAL) {
        Onnx__TypeProto__Optional *op = tb_alloc(b, sizeof *op);
        onnx__type_proto__optional__init(op);
        op->elem_type = kind_type(b, kinds + 1, n_kinds - 1, elem);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        tp->optional_type = op;
    } else {
        Onnx__TypeProto__Tensor *tt = tb_alloc(b, sizeof *tt);
        onnx__type_proto__tensor__init(tt);
        tt->has_elem_type = 1;
        tt->elem_type = elem;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
    }
    return tp;
}

void tb_value_kind(tb_model *b, bool input, const char *name, const int *kinds, int n_kinds, int elem)
{
    Onnx__ValueInfoProto *vi = tb_alloc(b, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = tb_str(b, name);
    vi->type = kind_type(b, kinds, n_kinds, elem);
    if (input)
        APPEND(b, b->graph.input, b->graph.n_input, vi);
    else
        APPEND(b, b->graph.output, b->graph.n_output, vi);
}

void tb_output(tb_model *b, const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = value_info(b, name, dtype, rank, dims, NULL);
    APPEND(b, b->graph.output, b->graph.n_output, vi);
}

Onnx__TensorProto *tb_init_raw(tb_model *b, const char *name, int dtype, int rank,
                               const int64_t *dims, const void *data, size_t bytes)
{
    Onnx__TensorProto *t = tb_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = tb_str(b, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = tb_alloc(b, (size_t)rank * sizeof(int64_t));
    if (rank)
        memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = tb_alloc(b, bytes);
    if (bytes)
        memcpy(t->raw_data.data, data, bytes);
    APPEND(b, b->graph.initializer, b->graph.n_initializer, t);
    return t;
}

Onnx__TensorProto *tb_init_f32(tb_model *b, const char *name, int rank, const int64_t *dims,
                               const float *vals)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return tb_init_raw(b, name, KEEL_FLOAT, rank, dims, vals, n * sizeof(float));
}

static void split_names(tb_model *b, const char *list, char ***out, size_t *count)
{
    *count = 0;
    *out = NULL;
    if (!list)
        return;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        char *s = tb_alloc(b, len + 1);
        memcpy(s, p, len);
        APPEND(b, *out, *count, s);
        if (!p[len])
            break;
        p += len + 1;
    }
}

Onnx__NodeProto *tb_node(tb_model *b, const char *op, const char *name, const char *inputs,
                         const char *outputs)
{
    Onnx__NodeProto *n = tb_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = tb_str(b, op);
    n->name = tb_str(b, name);
    split_names(b, inputs, &n->input, &n->n_input);
    split_names(b, outputs, &n->output, &n->n_output);
    APPEND(b, b->graph.node, b->graph.n_node, n);
    return n;
}

static Onnx__AttributeProto *new_attr(tb_model *b, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = tb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = tb_str(b, name);
    a->has_type = 1;
    a->type = type;
    APPEND(b, n->attribute, n->n_attribute, a);
    return a;
}

void tb_attr_int(tb_model *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void tb_attr_float(tb_model *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void tb_attr_ints(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const int64_t *v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = tb_alloc(b, (size_t)count * sizeof(int64_t));
    if (count)
        memcpy(a->ints, v, (size_t)count * sizeof(int64_t));
}

void tb_attr_str(tb_model *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)tb_str(b, v);
}

void tb_attr_floats(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const float *v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = (size_t)count;
    a->floats = tb_alloc(b, (size_t)count * sizeof(float));
    if (count)
        memcpy(a->floats, v, (size_t)count * sizeof(float));
}

void tb_attr_strs(tb_model *b, Onnx__NodeProto *n, const char *name, int count, const char *const *v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = (size_t)count;
    a->strings = tb_alloc(b, (size_t)count * sizeof *a->strings);
    for (int i = 0; i < count; i++) {
        a->strings[i].len = strlen(v[i]);
        a->strings[i].data = (uint8_t *)tb_str(b, v[i]);
    }
}

void tb_attr_graph(tb_model *b, Onnx__NodeProto *n, const char *name, tb_model *sub)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = &sub->graph;
}

void tb_write_floats(const char *path, int count, float start)
{
    FILE *f = fopen(path, "wb");
    for (int i = 0; f && i < count; i++) {
        float v = start + (float)i;
        fwrite(&v, 4, 1, f);
    }
    if (f)
        fclose(f);
}

uint8_t *tb_pack(tb_model *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(*len ? *len : 1);
    onnx__model_proto__pack(&b->model, buf);
    return buf;
}

int tb_write(tb_model *b, const char *path)
{
    size_t len;
    uint8_t *buf = tb_pack(b, &len);
    FILE *f = fopen(path, "wb");
    int rc = !f || fwrite(buf, 1, len, f) != len;
    if (f && fclose(f))
        rc = 1;
    free(buf);
    return rc;
}

/* ---- counting allocator ---------------------------------------------------- */

typedef struct block_header {
    size_t size;
    size_t pad[7];        /* keeps the user block 64-byte aligned */
} block_header;

static void *count_alloc(void *user, size_t size)
{
    tb_counting *c = user;
    c->total_allocs++;
    if (c->fail_at && c->total_allocs == c->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, sizeof(block_header) + size))
        return NULL;
    ((block_header *)p)->size = size;
    c->live_blocks++;
    c->live_bytes += size;
    return (block_header *)p + 1;
}

static void count_free(void *user, void *ptr, size_t size)
{
    tb_counting *c = user;
    if (!ptr)
        return;
    block_header *h = (block_header *)ptr - 1;
    if (h->size != size)
        c->size_mismatch++;
    c->live_blocks--;
    c->live_bytes -= h->size;
    free(h);
}

keel_allocator tb_counting_allocator(tb_counting *c)
{
    return (keel_allocator){count_alloc, count_free, c};
}

char *tb_tempdir(void)
{
    char tmpl[] = "/tmp/keel-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* ---- comparing float outputs ------------------------------------------------ */

void tb_fill_nan(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
}

double tb_max_abs_err(const float *got, const float *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] == want[i] || (isnan(want[i]) && isnan(got[i])))
            continue; /* equal, infinities included, or NaN expected and given */
        double err = fabs((double)got[i] - (double)want[i]);
        if (isnan(err))
            return NAN; /* NaN on one side only */
        if (err > worst)
            worst = err;
    }
    return worst;
}

void tb_naive_conv(const float *x, int c, int h, int w, const float *wt, int m, int k, int group, float *y)
{
    const int cg = c / group, mg = m / group, pad = k / 2;
    for (int o = 0; o < m; o++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double acc = 0;
                for (int ci = 0; ci < cg; ci++)
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++) {
                            int ii = i + a - pad, jj = j + b - pad;
                            if (ii >= 0 && ii < h && jj >= 0 && jj < w)
                                acc += (double)x[((o / mg * cg + ci) * h + ii) * w + jj] *
                                       wt[((o * cg + ci) * k + a) * k + b];
                        }
                y[(o * h + i) * w + j] = (float)acc;
            }
}

bool tb_isa_runs(int isa, const char *what)
{
    if (keel_isa_available((keel_isa)isa) == (keel_isa)isa)
        return true;
    printf("\n  skipped: %s not available (%s)\n", keel_isa_name((keel_isa)isa), what);
    fflush(stdout);
    return false;
}

keel_status tb_session(keel_session **s, const keel_model *m, int isa, int threads, const char *off, char *err,
                       size_t err_len)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.isa = isa;
    opt.threads = threads;
    opt.passes_off = off;
    *s = NULL;
    return keel_session_create(s, m, &opt, NULL, 0, NULL, err, err_len);
}
