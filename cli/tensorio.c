/* tensorio.c -- tensors in and out of files: TensorProto .pb and NumPy .npy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool cli_read_file(const char *path, void **data, size_t *size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool ok = buf && !ferror(f);
    fclose(f);
    if (!ok) {
        free(buf);
        snprintf(err, err_size, "%s: read failed", path);
        return false;
    }
    *data = buf;
    *size = len;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- .npy ------------------------------------------------------------------ */

static int npy_dtype(const char *descr)
{
    static const struct { const char *d; int t; } map[] = {
        {"<f4", KEEL_FLOAT}, {"<f8", KEEL_DOUBLE}, {"<f2", KEEL_FLOAT16}, {"<i8", KEEL_INT64},
        {"<i4", KEEL_INT32}, {"<i2", KEEL_INT16}, {"|i1", KEEL_INT8}, {"|u1", KEEL_UINT8},
        {"<u2", KEEL_UINT16}, {"<u4", KEEL_UINT32}, {"<u8", KEEL_UINT64}, {"|b1", KEEL_BOOL}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(descr, map[i].d) == 0)
            return map[i].t;
    return 0;
}

static const char *npy_descr(int dtype)
{
    switch (dtype) {
    case KEEL_FLOAT: return "<f4";
    case KEEL_DOUBLE: return "<f8";
    case KEEL_FLOAT16: return "<f2";
    case KEEL_INT64: return "<i8";
    case KEEL_INT32: return "<i4";
    case KEEL_INT16: return "<i2";
    case KEEL_INT8: return "|i1";
    case KEEL_UINT8: return "|u1";
    case KEEL_UINT16: return "<u2";
    case KEEL_UINT32: return "<u4";
    case KEEL_UINT64: return "<u8";
    case KEEL_BOOL: return "|b1";
    }
    return NULL;
}

/* The CLI's allocator, for keel_tensor_decode: 64-byte aligned, freed
 * with free(), never NULL for a size of 0 (so data != NULL marks a loaded
 * tensor). */
static void *cli_alloc(void *user, size_t size)
{
    (void)user;
    size_t rounded = (size + 63) / 64 * 64;
    if (rounded < size)
        return NULL;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static void cli_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

static const keel_allocator cli_allocator = {cli_alloc, cli_free, NULL};

void cli_tensor_free(keel_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

static keel_status load_npy(const char *path, const uint8_t *b, size_t n, keel_tensor *out, char *err,
                            size_t err_size)
{
    if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        snprintf(err, err_size, "%s: not a .npy file", path);
        return KEEL_ERR_FORMAT;
    }
    size_t hlen, hstart;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else {
        hlen = n < 12 ? 0 : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    }
    if (hstart + hlen > n || hlen > 65536) {
        snprintf(err, err_size, "%s: truncated .npy header", path);
        return KEEL_ERR_FORMAT;
    }
    char header[65537];
    memcpy(header, b + hstart, hlen);
    header[hlen] = 0;
    char descr[16] = "";
    const char *d = strstr(header, "'descr':");
    if (d)
        sscanf(d + 8, " '%15[^']'", descr);
    int dtype = npy_dtype(descr);
    if (!dtype) {
        snprintf(err, err_size, "%s: .npy element type '%s' not supported", path, descr);
        return KEEL_ERR_UNSUPPORTED;
    }
    if (strstr(header, "'fortran_order': True")) {
        snprintf(err, err_size, "%s: Fortran-ordered .npy not supported", path);
        return KEEL_ERR_UNSUPPORTED;
    }
    const char *s = strstr(header, "'shape':");
    s = s ? strchr(s, '(') : NULL;
    if (!s) {
        snprintf(err, err_size, "%s: .npy header without a shape", path);
        return KEEL_ERR_FORMAT;
    }
    keel_tensor t = {.dtype = dtype};
    size_t have = n - hstart - hlen, bytes = keel_dtype_size(dtype);
    bool fits = true; /* the shape's bytes do not pass the file's */
    for (s++; *s && *s != ')';) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s) {
            s++;
            continue;
        }
        if (t.rank == KEEL_MAX_RANK || v < 0) {
            snprintf(err, err_size, "%s: .npy shape not supported", path);
            return KEEL_ERR_UNSUPPORTED;
        }
        t.dims[t.rank++] = v;
        if (v && bytes > have / (uint64_t)v)
            fits = false;
        bytes = fits ? bytes * (size_t)v : 0;
        s = end;
    }
    if (!fits || bytes != have) {
        if (fits)
            snprintf(err, err_size, "%s: .npy holds %zu data bytes, its shape needs %zu", path, have, bytes);
        else
            snprintf(err, err_size, "%s: .npy holds %zu data bytes, its shape needs more", path, have);
        return KEEL_ERR_FORMAT;
    }
    if (!(t.data = cli_alloc(NULL, bytes))) {
        snprintf(err, err_size, "%s: out of memory", path);
        return KEEL_ERR_NOMEM;
    }
    memcpy(t.data, b + hstart + hlen, bytes);
    *out = t;
    return KEEL_OK;
}

keel_status cli_load_value(const char *path, int kind, keel_tensor *t, char *err, size_t err_size)
{
    void *data;
    size_t size;
    memset(t, 0, sizeof *t);
    if (kind != KEEL_SEQUENCE && kind != KEEL_OPTIONAL)
        return cli_load_tensor(path, t, err, err_size);
    if (!cli_read_file(path, &data, &size, err, err_size))
        return KEEL_ERR_IO;
    keel_status st = keel_value_decode(t, kind, data, size, path, &cli_allocator, err, err_size);
    free(data);
    return st;
}

keel_status cli_load_input(const keel_model *m, int k, const char *path, keel_tensor *t, char *err,
                           size_t err_size)
{
    keel_tensor decl;
    if (keel_model_input_info(m, k, &decl, NULL) != KEEL_OK)
        decl.dtype = 0;
    return cli_load_value(path, decl.dtype, t, err, err_size);
}

keel_status cli_load_tensor(const char *path, keel_tensor *t, char *err, size_t err_size)
{
    void *data;
    size_t size;
    memset(t, 0, sizeof *t);
    if (!cli_read_file(path, &data, &size, err, err_size))
        return KEEL_ERR_IO;
    keel_status st = ends_with(path, ".npy")
                         ? load_npy(path, data, size, t, err, err_size)
                         : keel_tensor_decode(t, data, size, path, &cli_allocator, NULL, 0, err, err_size);
    free(data);
    return st;
}

keel_status cli_save_pb(const char *path, const keel_tensor *t, const char *name, char *err, size_t n)
{
    size_t len = 0;
    keel_status st = keel_value_encode(t, name, NULL, 0, &len);
    uint8_t *buf = st == KEEL_OK ? malloc(len ? len : 1) : NULL;
    if (st == KEEL_OK && !buf)
        st = KEEL_ERR_NOMEM;
    if (st == KEEL_OK)
        st = keel_value_encode(t, name, buf, len, &len);
    if (st != KEEL_OK) {
        free(buf);
        snprintf(err, n, "%s: cannot encode %s tensor: %s", path, keel_dtype_name(t->dtype),
                 keel_status_string(st));
        return st;
    }
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    free(buf);
    if (!ok) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return KEEL_ERR_IO;
    }
    return KEEL_OK;
}

keel_status cli_save_npy(const char *path, const keel_tensor *t, char *err, size_t n)
{
    const char *descr = npy_descr(t->dtype);
    if (!descr) {
        snprintf(err, n, "%s: element type %s has no .npy form", path, keel_dtype_name(t->dtype));
        return KEEL_ERR_UNSUPPORTED;
    }
    char header[512], shape[256] = "";
    size_t used = 0;
    for (int i = 0; i < t->rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld,%s", (long long)t->dims[i],
                                 i + 1 < t->rank ? " " : "");
    if (t->rank > 1)
        shape[used - 1] = 0; /* "(2, 3)" but "(2,)" */
    int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                      descr, shape);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return KEEL_ERR_IO;
    }
    uint16_t hlen = (uint16_t)(hl + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(header, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t bytes = keel_tensor_bytes(t);
    bool ok = fwrite(t->data, 1, bytes, f) == bytes;
    if (fclose(f) != 0 || !ok) {
        snprintf(err, n, "%s: write failed", path);
        return KEEL_ERR_IO;
    }
    return KEEL_OK;
}

bool cli_parse_dim(char *arg, keel_dim_binding *out)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    char *end;
    long long v = strtoll(eq + 1, &end, 10);
    if (*end || end == eq + 1 || v < 0)
        return false;
    *eq = 0; /* the name is the argument's own prefix */
    out->name = arg;
    out->value = v;
    return true;
}

int cli_parse_isa(const char *s)
{
    for (int isa = KEEL_ISA_AUTO; isa <= KEEL_ISA_AVX512; isa++)
        if (strcmp(s, keel_isa_name((keel_isa)isa)) == 0)
            return isa;
    return -1;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

int cli_default_dims(const keel_model *m, keel_dim_binding *dims, int n_dims, int cap, const char *cmd)
{
    for (int k = 0; k < keel_model_input_count(m); k++) {
        keel_tensor decl;
        const char *sym[KEEL_MAX_RANK] = {0};
        if (keel_model_input_info(m, k, &decl, sym) != KEEL_OK)
            continue;
        for (int i = 0; i < decl.rank; i++) {
            bool bound = !sym[i] || decl.dims[i] >= 0;
            for (int j = 0; !bound && j < n_dims; j++)
                bound = strcmp(dims[j].name, sym[i]) == 0;
            if (bound || n_dims == cap)
                continue;
            dims[n_dims++] = (keel_dim_binding){sym[i], 1};
            fprintf(stderr, "keel %s: symbolic dim '%s' planned as 1 (give --dim %s=N)\n", cmd, sym[i], sym[i]);
        }
    }
    return n_dims;
}
