/* manifest.c -- zoo.yaml through libyaml's document API.  Every error names
 * the file, line and column of the offending node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "manifest.h"

typedef struct reader {
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t err_size;
} reader;

static int fail(reader *r, const yaml_node_t *node, const char *fmt, const char *a, const char *b)
{
    char what[512];
    snprintf(what, sizeof what, fmt, a, b);
    snprintf(r->err, r->err_size, "%s:%zu:%zu: %s", r->file, node ? node->start_mark.line + 1 : 0,
             node ? node->start_mark.column + 1 : 0, what);
    return -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of `key` in a mapping node, or NULL. */
static yaml_node_t *lookup(reader *r, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(r->doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(r->doc, p->value);
    }
    return NULL;
}

static int get_string(reader *r, yaml_node_t *map, const char *key, char *out, size_t size, bool required,
                      const char *entry)
{
    yaml_node_t *n = lookup(r, map, key);
    if (!n) {
        if (required)
            return fail(r, map, "entry '%s': missing '%s'", entry, key);
        return 0;
    }
    const char *s = scalar(n);
    if (!s)
        return fail(r, n, "entry '%s': '%s' must be a string", entry, key);
    if (strlen(s) >= size)
        return fail(r, n, "entry '%s': '%s' is too long", entry, key);
    strcpy(out, s);
    return 0;
}

static int get_int(reader *r, yaml_node_t *map, const char *key, int64_t *out, bool required,
                   const char *entry)
{
    yaml_node_t *n = lookup(r, map, key);
    if (!n)
        return required ? fail(r, map, "entry '%s': missing '%s'", entry, key) : 0;
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno)
        return fail(r, n, "entry '%s': '%s' must be an integer", entry, key);
    *out = v;
    return 0;
}

static int get_double(reader *r, yaml_node_t *map, const char *key, double *out, const char *entry)
{
    yaml_node_t *n = lookup(r, map, key);
    if (!n)
        return 0;
    const char *s = scalar(n);
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || v < 0)
        return fail(r, n, "entry '%s': '%s' must be a non-negative number", entry, key);
    *out = v;
    return 0;
}

static int get_bool(reader *r, yaml_node_t *map, const char *key, bool *out, const char *entry)
{
    yaml_node_t *n = lookup(r, map, key);
    if (!n)
        return 0;
    const char *s = scalar(n);
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        *out = s[0] == 't';
        return 0;
    }
    return fail(r, n, "entry '%s': '%s' must be true or false", entry, key);
}

static int get_shape(reader *r, yaml_node_t *map, zoo_entry *e)
{
    yaml_node_t *n = lookup(r, map, "input");
    if (!n)
        return fail(r, map, "entry '%s': missing '%s'", e->name, "input");
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(r, n, "entry '%s': 'input' must be a list of dims like [1, 3, 224, 224]%s", e->name, "");
    e->rank = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *d = yaml_document_get_node(r->doc, *it);
        const char *s = scalar(d);
        char *end;
        long long v = s ? strtoll(s, &end, 10) : 0;
        if (!s || *end || v <= 0 || e->rank == 8)
            return fail(r, d ? d : n, "entry '%s': input dims must be positive integers (at most 8)%s", e->name, "");
        e->input[e->rank++] = v;
    }
    if (e->rank == 0)
        return fail(r, n, "entry '%s': 'input' is empty%s", e->name, "");
    return 0;
}

/* The exporter's keyword options: a flat mapping of scalars, kept as text
 * ("alpha=0.75 dynamic_batch=3") for `keel zoo list`. */
static int get_options(reader *r, yaml_node_t *map, zoo_entry *e)
{
    yaml_node_t *n = lookup(r, map, "options");
    if (!n)
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(r, n, "entry '%s': 'options' must be a mapping like {alpha: 0.75}%s", e->name, "");
    size_t used = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(r->doc, p->key), *vn = yaml_document_get_node(r->doc, p->value);
        const char *k = scalar(kn), *v = scalar(vn);
        if (!k || !v)
            return fail(r, k ? vn : kn, "entry '%s': options must map names to single values%s", e->name, "");
        int len = snprintf(e->options + used, sizeof e->options - used, "%s%s=%s", used ? " " : "", k, v);
        if (len < 0 || (size_t)len >= sizeof e->options - used)
            return fail(r, n, "entry '%s': 'options' is too long%s", e->name, "");
        used += (size_t)len;
    }
    return 0;
}

/* A misspelt key would otherwise be ignored silently (and the entry
 * exported with the default it meant to change). */
static int check_keys(reader *r, yaml_node_t *map, const char *const *known, const char *what)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(r->doc, p->key);
        const char *k = scalar(kn);
        bool found = false;
        for (int i = 0; k && known[i] && !found; i++)
            found = strcmp(k, known[i]) == 0;
        if (!found)
            return fail(r, kn, "%s: unknown key '%s'", what, k ? k : "(not a string)");
    }
    return 0;
}

static const char *const ENTRY_KEYS[] = {"name", "family", "source", "reference", "input", "opset",
                                         "constant_folding", "options", "params", "params_tolerance",
                                         "rtol", "atol", NULL};
static const char *const DEFAULT_KEYS[] = {"opset", "rtol", "atol", "params_tolerance", NULL};

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int read_entry(reader *r, yaml_node_t *map, const zoo_entry *defaults, zoo_entry *e)
{
    *e = *defaults;
    e->line = (int)map->start_mark.line + 1;
    if (map->type != YAML_MAPPING_NODE)
        return fail(r, map, "a model entry must be a mapping%s%s", "", "");
    if (get_string(r, map, "name", e->name, sizeof e->name, true, "?"))
        return -1;
    if (!valid_name(e->name))
        return fail(r, lookup(r, map, "name"), "entry name '%s' must be made of a-z, 0-9 and _%s", e->name, "");
    int64_t opset = e->opset, params = 0;
    if (get_string(r, map, "family", e->family, sizeof e->family, true, e->name) ||
        get_string(r, map, "source", e->source, sizeof e->source, true, e->name) ||
        get_string(r, map, "reference", e->reference, sizeof e->reference, false, e->name) ||
        get_shape(r, map, e) || get_int(r, map, "opset", &opset, false, e->name) ||
        get_int(r, map, "params", &params, true, e->name) ||
        get_double(r, map, "params_tolerance", &e->params_tolerance, e->name) ||
        get_double(r, map, "rtol", &e->rtol, e->name) || get_double(r, map, "atol", &e->atol, e->name) ||
        get_bool(r, map, "constant_folding", &e->constant_folding, e->name) || get_options(r, map, e))
        return -1;
    char what[96];
    snprintf(what, sizeof what, "entry '%s'", e->name);
    if (check_keys(r, map, ENTRY_KEYS, what))
        return -1;
    if (strncmp(e->source, "torchvision:", 12) != 0 && strncmp(e->source, "file:", 5) != 0)
        return fail(r, lookup(r, map, "source"), "entry '%s': source '%s' must start with torchvision: or file:",
                    e->name, e->source);
    if (opset < 1 || opset > 30)
        return fail(r, lookup(r, map, "opset"), "entry '%s': opset out of range%s", e->name, "");
    if (params <= 0)
        return fail(r, lookup(r, map, "params"), "entry '%s': params must be positive%s", e->name, "");
    e->opset = (int)opset;
    e->params = params;
    return 0;
}

static int read_defaults(reader *r, yaml_node_t *root, zoo_entry *d)
{
    memset(d, 0, sizeof *d);
    d->opset = 13;
    d->rtol = 1e-3;
    d->atol = 1e-4;
    d->params_tolerance = 0.01;
    d->constant_folding = true;
    strcpy(d->reference, "pytorch");
    yaml_node_t *n = lookup(r, root, "defaults");
    if (!n)
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(r, n, "'defaults' must be a mapping%s%s", "", "");
    if (check_keys(r, n, DEFAULT_KEYS, "defaults"))
        return -1;
    int64_t opset = d->opset;
    if (get_int(r, n, "opset", &opset, false, "defaults") || get_double(r, n, "rtol", &d->rtol, "defaults") ||
        get_double(r, n, "atol", &d->atol, "defaults") ||
        get_double(r, n, "params_tolerance", &d->params_tolerance, "defaults"))
        return -1;
    d->opset = (int)opset;
    return 0;
}

static int read_models(reader *r, yaml_node_t *root, zoo_manifest *m)
{
    zoo_entry defaults;
    if (!root || root->type != YAML_MAPPING_NODE)
        return fail(r, root, "the manifest must be a mapping with 'models'%s%s", "", "");
    static const char *const root_keys[] = {"defaults", "models", NULL};
    if (check_keys(r, root, root_keys, "the manifest") || read_defaults(r, root, &defaults))
        return -1;
    yaml_node_t *models = lookup(r, root, "models");
    if (!models || models->type != YAML_SEQUENCE_NODE)
        return fail(r, models ? models : root, "'models' must be a list of entries%s%s", "", "");
    int count = (int)(models->data.sequence.items.top - models->data.sequence.items.start);
    m->entries = calloc((size_t)(count ? count : 1), sizeof *m->entries);
    if (!m->entries)
        return fail(r, root, "out of memory%s%s", "", "");
    for (int i = 0; i < count; i++) {
        yaml_node_t *e = yaml_document_get_node(r->doc, models->data.sequence.items.start[i]);
        if (read_entry(r, e, &defaults, &m->entries[i]))
            return -1;
        if (zoo_manifest_find(m, m->entries[i].name))
            return fail(r, e, "entry '%s' appears twice%s", m->entries[i].name, "");
        m->n = i + 1;
    }
    return 0;
}

int zoo_manifest_parse(const char *text, size_t len, const char *name, zoo_manifest *m, char *err,
                       size_t err_size)
{
    memset(m, 0, sizeof *m);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, err_size, "%s: cannot start the YAML parser", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, err_size, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        return -1;
    }
    reader r = {&doc, name, err, err_size};
    int rc = read_models(&r, yaml_document_get_root_node(&doc), m);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc)
        zoo_manifest_free(m);
    return rc;
}

int zoo_manifest_load(const char *path, zoo_manifest *m, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    memset(m, 0, sizeof *m);
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) {
                free(text);
                text = NULL;
            }
            text = bigger;
        }
    }
    fclose(f);
    if (!text) {
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    int rc = zoo_manifest_parse(text, len, path, m, err, err_size);
    free(text);
    return rc;
}

void zoo_manifest_free(zoo_manifest *m)
{
    free(m->entries);
    m->entries = NULL;
    m->n = 0;
}

const zoo_entry *zoo_manifest_find(const zoo_manifest *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->entries[i].name, name) == 0)
            return &m->entries[i];
    return NULL;
}
