/* api.c -- the public entry points that are not about sessions. */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "../onnx/loader.h"

const char *keel_version(void)
{
    return KEEL_VERSION_STRING;
}

const char *keel_status_string(keel_status status)
{
    switch (status) {
    case KEEL_OK: return "ok";
    case KEEL_ERR_IO: return "i/o error";
    case KEEL_ERR_FORMAT: return "not a valid ONNX file";
    case KEEL_ERR_INVALID: return "invalid model";
    case KEEL_ERR_UNSUPPORTED: return "unsupported by keel";
    case KEEL_ERR_NOMEM: return "out of memory";
    case KEEL_ERR_SHAPE: return "shape or type error";
    case KEEL_ERR_ARGUMENT: return "bad argument";
    case KEEL_ERR_RUNTIME: return "error while running";
    case KEEL_ERR_LIMIT: return "size limit exceeded";
    case KEEL_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *keel_dtype_name(int dtype) { return kl_dtype_name(dtype); }
size_t keel_dtype_size(int dtype) { return kl_dtype_size(dtype); }

void keel_options_init(keel_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = 1;
    opt->optimize = 1;
}

int64_t keel_tensor_numel(const keel_tensor *t) { return kl_numel(t); }
size_t keel_tensor_bytes(const keel_tensor *t) { return kl_nbytes(t); }

static void tensor_env(kl_env *env, const keel_allocator *allocator)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.allocator = allocator;
    kl_env_init(env, &opt);
}

/* keel_tensor_decode and keel_value_decode (`fn` names the caller): kind
 * KEEL_SEQUENCE or KEEL_OPTIONAL reads that proto, any other a TensorProto
 * (whose name goes to `name` when asked). */
static keel_status decode(const char *fn, keel_tensor *out, int kind, const void *data, size_t size,
                          const char *file, const keel_allocator *allocator, char *name, size_t name_size,
                          char *err, size_t err_size)
{
    if (!out || (!data && size)) {
        if (err && err_size)
            snprintf(err, err_size, "%s: NULL argument", fn);
        return KEEL_ERR_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    kl_env env;
    tensor_env(&env, allocator);
    kl_tensor *t = NULL;
    char *tname = NULL;
    keel_status st = kl_value_from_pb(&env, data, size, file ? file : "<memory>", kind, &t, name ? &tname : NULL);
    if (st) {
        if (err && err_size)
            snprintf(err, err_size, "%s", env.msg[0] ? env.msg : keel_status_string(st));
        return st;
    }
    *out = *t;
    kl_free(&env, t, sizeof *t);
    if (name && name_size)
        snprintf(name, name_size, "%s", tname ? tname : "");
    kl_strfree(&env, tname);
    return KEEL_OK;
}

keel_status keel_tensor_decode(keel_tensor *out, const void *data, size_t size, const char *file,
                               const keel_allocator *allocator, char *name, size_t name_size, char *err,
                               size_t err_size)
{
    return decode("keel_tensor_decode", out, 0, data, size, file, allocator, name, name_size, err, err_size);
}

keel_status keel_value_decode(keel_tensor *out, int kind, const void *data, size_t size, const char *file,
                              const keel_allocator *allocator, char *err, size_t err_size)
{
    return decode("keel_value_decode", out, kind, data, size, file, allocator, NULL, 0, err, err_size);
}

keel_status keel_tensor_encode(const keel_tensor *t, const char *name, void *buf, size_t cap, size_t *size)
{
    if (!t || !size || (!t->data && kl_nbytes(t)) || !kl_dtype_supported(t->dtype) || t->rank < 0 ||
        t->rank > KEEL_MAX_RANK)
        return KEEL_ERR_ARGUMENT;
    kl_env env;
    tensor_env(&env, NULL);
    return kl_value_to_pb(&env, t, name, buf, cap, size);
}

keel_status keel_value_encode(const keel_tensor *t, const char *name, void *buf, size_t cap, size_t *size)
{
    if (!t || !size)
        return KEEL_ERR_ARGUMENT;
    kl_env env;
    tensor_env(&env, NULL);
    if (kl_value_check(&env, t, "value"))
        return KEEL_ERR_ARGUMENT;
    return kl_value_to_pb(&env, t, name, buf, cap, size);
}

void keel_tensor_release(keel_tensor *t, const keel_allocator *allocator)
{
    if (!t)
        return;
    kl_env env;
    tensor_env(&env, allocator);
    kl_free(&env, t->data, kl_value_bytes(t));
    t->data = NULL;
}

/* ---- models ------------------------------------------------------------- */

static void set_err(char *err, size_t err_size, const kl_env *env)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", env->msg[0] ? env->msg : keel_status_string(env->status));
}

static keel_model *new_model(const keel_options *opt, const char *name, kl_env *fallback)
{
    kl_env_init(fallback, opt);
    keel_model *m = kl_alloc(fallback, sizeof *m);
    if (!m)
        return NULL;
    m->env = *fallback;
    m->weights_fd = -1;
    if (kl_shared_init(m)) {
        *fallback = m->env;
        kl_free(fallback, m, sizeof *m);
        return NULL;
    }
    if (!(m->name = kl_strdup(&m->env, name))) {
        kl_shared_free(m);
        *fallback = m->env;
        kl_free(fallback, m, sizeof *m);
        return NULL;
    }
    return m;
}

/* The folder of `path` ("." when it has none). */
static char *dir_of(kl_env *env, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kl_strdup(env, ".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = kl_alloc(env, n + 1);
    if (d)
        memcpy(d, path, n);
    return d;
}

static keel_status finish_load(keel_model **out, keel_model *m, keel_status st, char *err,
                               size_t err_size)
{
    if (st) {
        if (st == KEEL_ERR_NOMEM && !m->env.msg[0])
            kl_error(&m->env, st, "%s: out of memory while loading", m->name);
        set_err(err, err_size, &m->env);
        keel_model_free(m);
        return st;
    }
    *out = m;
    return KEEL_OK;
}

keel_status keel_model_load(keel_model **out, const char *path, const keel_options *opt,
                            char *err, size_t err_size)
{
    kl_env env;
    if (out)
        *out = NULL;
    if (!out || !path) {
        if (err && err_size)
            snprintf(err, err_size, "keel_model_load: NULL argument");
        return KEEL_ERR_ARGUMENT;
    }
    keel_model *m = new_model(opt, path, &env);
    if (!m) {
        set_err(err, err_size, &env);
        return KEEL_ERR_NOMEM;
    }
    keel_status st = (m->dir = dir_of(&m->env, path)) ? kl_load_file(m, path) : KEEL_ERR_NOMEM;
    return finish_load(out, m, st, err, err_size);
}

keel_status keel_model_load_buffer(keel_model **out, const void *data, size_t size,
                                   const char *base_dir, const char *name,
                                   const keel_options *opt, char *err, size_t err_size)
{
    kl_env env;
    if (out)
        *out = NULL;
    if (!out || (!data && size)) {
        if (err && err_size)
            snprintf(err, err_size, "keel_model_load_buffer: NULL argument");
        return KEEL_ERR_ARGUMENT;
    }
    keel_model *m = new_model(opt, name ? name : "<memory>", &env);
    if (!m) {
        set_err(err, err_size, &env);
        return KEEL_ERR_NOMEM;
    }
    keel_status st = KEEL_OK;
    if (base_dir && !(m->dir = kl_strdup(&m->env, base_dir)))
        st = KEEL_ERR_NOMEM;
    if (!st)
        st = size ? kl_load_buffer(m, data, size)
                  : kl_error(&m->env, KEEL_ERR_FORMAT, "%s: the buffer is empty", m->name);
    return finish_load(out, m, st, err, err_size);
}

void keel_model_free(keel_model *m)
{
    if (!m)
        return;
    kl_env env = m->env;
    kl_shared_free(m);
    kl_custom_free(m);
    kl_graph_free(&env, m->graph);
    for (int i = 0; i < m->n_opsets; i++)
        kl_strfree(&env, m->opsets[i].domain);
    kl_free(&env, m->opsets, (size_t)m->n_opsets * sizeof *m->opsets);
    kl_strfree(&env, m->name);
    kl_strfree(&env, m->dir);
    kl_strfree(&env, m->producer_name);
    kl_strfree(&env, m->producer_version);
    kl_strfree(&env, m->domain);
    kl_strfree(&env, m->doc);
    for (int i = 0; i < m->n_metadata; i++) {
        kl_strfree(&env, m->meta_keys[i]);
        if (m->meta_values)
            kl_strfree(&env, m->meta_values[i]);
    }
    kl_free(&env, m->meta_keys, (size_t)m->n_metadata * sizeof *m->meta_keys);
    kl_free(&env, m->meta_values, (size_t)m->n_metadata * sizeof *m->meta_values);
    kl_free(&env, m, sizeof *m);
}

void keel_model_describe(const keel_model *m, keel_model_about *about)
{
    if (!about)
        return;
    memset(about, 0, sizeof *about);
    if (!m)
        return;
    about->producer_name = m->producer_name;
    about->producer_version = m->producer_version;
    about->domain = m->domain;
    about->doc_string = m->doc;
    about->model_version = m->model_version;
    about->ir_version = m->ir_version;
}

int keel_model_metadata(const keel_model *m, int i, const char **key, const char **value)
{
    bool in_range = m && i >= 0 && i < m->n_metadata;
    if (key)
        *key = in_range ? m->meta_keys[i] : NULL;
    if (value)
        *value = in_range ? m->meta_values[i] : NULL;
    return m ? m->n_metadata : 0;
}

/* ---- declared inputs and outputs ----------------------------------------- */

int keel_model_input_count(const keel_model *m) { return m ? m->graph->n_inputs : 0; }
int keel_model_output_count(const keel_model *m) { return m ? m->graph->n_outputs : 0; }

const char *keel_model_input_name(const keel_model *m, int i)
{
    return m && i >= 0 && i < m->graph->n_inputs ? m->graph->values[m->graph->inputs[i]].name : NULL;
}

const char *keel_model_output_name(const keel_model *m, int i)
{
    return m && i >= 0 && i < m->graph->n_outputs ? m->graph->values[m->graph->outputs[i]].name : NULL;
}

static keel_status decl_info(const kl_value *v, keel_tensor *info, const char **symbolic)
{
    memset(info, 0, sizeof *info);
    info->dtype = v->decl.dtype;
    if (v->kind == KL_VALUE_INIT && !v->decl.has_type) {
        *info = *v->init;
        info->data = NULL;
        return KEEL_OK;
    }
    info->rank = v->decl.rank;
    if (v->decl.optional)
        info->dtype = KEEL_OPTIONAL;
    for (int d = 0; d < v->decl.rank; d++) {
        info->dims[d] = v->decl.dims[d];
        if (symbolic)
            symbolic[d] = v->decl.params[d];
    }
    return KEEL_OK;
}

keel_status keel_model_input_info(const keel_model *m, int i, keel_tensor *info, const char **symbolic)
{
    if (!m || !info || i < 0 || i >= m->graph->n_inputs)
        return KEEL_ERR_ARGUMENT;
    return decl_info(&m->graph->values[m->graph->inputs[i]], info, symbolic);
}

keel_status keel_model_output_info(const keel_model *m, int i, keel_tensor *info, const char **symbolic)
{
    if (!m || !info || i < 0 || i >= m->graph->n_outputs)
        return KEEL_ERR_ARGUMENT;
    return decl_info(&m->graph->values[m->graph->outputs[i]], info, symbolic);
}
