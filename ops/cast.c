/* cast.c -- Cast: converts between float, double, float16, bool, the
 * 8- to 64-bit integer types and strings.  Float to integer truncates
 * toward zero and saturates (NaN gives 0), integer to narrower integer
 * wraps, anything to bool is "not zero".  Numbers become the shortest
 * decimal that reads back to the same value ("NaN", "INF", "-INF" for the
 * special ones); strings are read as decimal or scientific numbers, with
 * "INF", "+INF", "-INF" and "NaN" in any case.  Opsets 1-5 name the target
 * type with a string.
 *
 * Elements go through a small buffer in chunks: loaded into the carrier
 * that holds every value of the source type exactly (double, int64 or
 * uint64), then stored from it to the target type.  That takes one loop
 * per type and direction instead of one per pair of types. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "drivers/eltwise.h"
#include "../runtime/exec.h"

#define CHUNK 256

typedef enum carrier { AS_DOUBLE, AS_INT64, AS_UINT64 } carrier;

typedef union chunk {
    double f[CHUNK];
    int64_t i[CHUNK];
    uint64_t u[CHUNK];
} chunk;

static bool castable(int dtype)
{
    switch (dtype) {
    case KEEL_FLOAT: case KEEL_DOUBLE: case KEEL_FLOAT16: case KEEL_BFLOAT16: case KEEL_BOOL:
    case KEEL_INT8: case KEEL_INT16: case KEEL_INT32: case KEEL_INT64:
    case KEEL_UINT8: case KEEL_UINT16: case KEEL_UINT32: case KEEL_UINT64:
        return true;
    default:
        return false;
    }
}

static carrier carrier_of(int dtype)
{
    switch (dtype) {
    case KEEL_FLOAT: case KEEL_DOUBLE: case KEEL_FLOAT16: case KEEL_BFLOAT16: return AS_DOUBLE;
    case KEEL_INT8: case KEEL_INT16: case KEEL_INT32: case KEEL_INT64: return AS_INT64;
    default: return AS_UINT64;
    }
}

static void load(int dtype, const void *src, int64_t n, chunk *buf)
{
#define LOAD(T, FIELD, CONVERT)                      \
    for (int64_t k = 0; k < n; k++)                  \
        buf->FIELD[k] = CONVERT(((const T *)src)[k]); \
    break;
    switch (dtype) {
    case KEEL_FLOAT: LOAD(float, f, (double))
    case KEEL_DOUBLE: LOAD(double, f, (double))
    case KEEL_FLOAT16: LOAD(uint16_t, f, (double)kl_half_to_float)
    case KEEL_BFLOAT16: LOAD(uint16_t, f, (double)kl_bf16_to_float)
    case KEEL_INT8: LOAD(int8_t, i, (int64_t))
    case KEEL_INT16: LOAD(int16_t, i, (int64_t))
    case KEEL_INT32: LOAD(int32_t, i, (int64_t))
    case KEEL_INT64: LOAD(int64_t, i, (int64_t))
    case KEEL_BOOL: LOAD(uint8_t, u, (uint64_t)!!)
    case KEEL_UINT8: LOAD(uint8_t, u, (uint64_t))
    case KEEL_UINT16: LOAD(uint16_t, u, (uint64_t))
    case KEEL_UINT32: LOAD(uint32_t, u, (uint64_t))
    case KEEL_UINT64: LOAD(uint64_t, u, (uint64_t))
    }
#undef LOAD
}

/* double -> integer, truncating; out-of-range values saturate, NaN is 0
 * (C leaves both undefined). */
#define SATURATE(NAME, T, LO, HI)                                                  \
    static T NAME(double v)                                                        \
    {                                                                              \
        return v != v ? 0 : v <= (double)(LO) ? (LO) : v >= (double)(HI) ? (HI) : (T)v; \
    }
SATURATE(sat_i8, int8_t, INT8_MIN, INT8_MAX)
SATURATE(sat_i16, int16_t, INT16_MIN, INT16_MAX)
SATURATE(sat_i32, int32_t, INT32_MIN, INT32_MAX)
SATURATE(sat_i64, int64_t, INT64_MIN, INT64_MAX)
SATURATE(sat_u8, uint8_t, 0, UINT8_MAX)
SATURATE(sat_u16, uint16_t, 0, UINT16_MAX)
SATURATE(sat_u32, uint32_t, 0, UINT32_MAX)
SATURATE(sat_u64, uint64_t, 0, UINT64_MAX)

/* Rounds to float by truncating and setting the last bit when inexact
 * ("round to odd"), so that rounding the float to half again gives the
 * correctly rounded half: plain double -> float -> half rounds twice. */
static uint16_t double_to_half(double d)
{
    float f = (float)d;
    if ((double)f != d && d == d) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        if (!(bits & 1)) /* step the magnitude toward d, to the odd neighbour */
            bits = fabs((double)f) < fabs(d) ? bits + 1 : bits - 1;
        memcpy(&f, &bits, sizeof bits);
    }
    return kl_float_to_half(f);
}

/* To bfloat16 with round to nearest even, as current ONNX and PyTorch do
 * (bfloat16 keeps float's exponent, so double -> float rounds only the
 * mantissa twice where the float is exactly halfway: ignored). */
#define TO_BF16(x) kl_float_to_bf16((float)(x))
#define TO_BOOL(x) ((x) != 0)
#define TO_HALF_FROM_INT(x) kl_float_to_half((float)(x))

static void store(int dtype, carrier from, const chunk *buf, int64_t n, void *dst)
{
#define STORE(T, FROM_DOUBLE, FROM_INT)                  \
    if (from == AS_DOUBLE)                               \
        for (int64_t k = 0; k < n; k++)                  \
            ((T *)dst)[k] = (T)FROM_DOUBLE(buf->f[k]);   \
    else if (from == AS_INT64)                           \
        for (int64_t k = 0; k < n; k++)                  \
            ((T *)dst)[k] = (T)FROM_INT(buf->i[k]);      \
    else                                                 \
        for (int64_t k = 0; k < n; k++)                  \
            ((T *)dst)[k] = (T)FROM_INT(buf->u[k]);      \
    break;
    switch (dtype) {
    case KEEL_FLOAT: STORE(float, (float), (float))
    case KEEL_DOUBLE: STORE(double, (double), (double))
    case KEEL_FLOAT16: STORE(uint16_t, double_to_half, TO_HALF_FROM_INT)
    case KEEL_BFLOAT16: STORE(uint16_t, TO_BF16, TO_BF16)
    case KEEL_BOOL: STORE(uint8_t, TO_BOOL, TO_BOOL)
    case KEEL_INT8: STORE(int8_t, sat_i8, (int8_t))
    case KEEL_INT16: STORE(int16_t, sat_i16, (int16_t))
    case KEEL_INT32: STORE(int32_t, sat_i32, (int32_t))
    case KEEL_INT64: STORE(int64_t, sat_i64, (int64_t))
    case KEEL_UINT8: STORE(uint8_t, sat_u8, (uint8_t))
    case KEEL_UINT16: STORE(uint16_t, sat_u16, (uint16_t))
    case KEEL_UINT32: STORE(uint32_t, sat_u32, (uint32_t))
    case KEEL_UINT64: STORE(uint64_t, sat_u64, (uint64_t))
    }
#undef STORE
}

/* Attribute `to`: a dtype number, or (opsets 1-5) a name like "FLOAT". */
static int target_type(const kl_opctx *c)
{
    const char *name = kl_attr_str(c->node, "to", NULL);
    if (!name)
        return (int)kl_attr_int(c->node, "to", 0);
    for (int t = 1; t <= KEEL_BFLOAT16; t++)
        if (strcasecmp(name, kl_dtype_name(t)) == 0)
            return t;
    return 0;
}

static keel_status check_types(kl_opctx *c, int to)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype == KEEL_STRING && to == KEEL_STRING) {
        kl_set_shape(c->out[0], to, x->rank, x->dims);
        return KEEL_OK;
    }
    if ((x->dtype == KEEL_STRING || to == KEEL_STRING) && (castable(x->dtype) || castable(to))) {
        if (x->dtype == KEEL_STRING && x->rank >= 0 && !x->data && kl_numel(x))
            return kl_op_needs_data(c, 0);
        kl_set_shape(c->out[0], to, x->rank, x->dims);
        return KEEL_OK;
    }
    if (!castable(x->dtype))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "cannot cast from %s",
                          kl_dtype_name(x->dtype));
    if (!castable(to))
        return kl_op_fail(c, KEEL_ERR_UNSUPPORTED, "cannot cast to type %s (%d)",
                          kl_dtype_name(to), to);
    kl_set_shape(c->out[0], to, x->rank, x->dims);
    return KEEL_OK;
}

static keel_status cast_infer(kl_opctx *c)
{
    return check_types(c, target_type(c));
}

/* CastLike (opset 15): Cast to the type of input 1. */
static keel_status castlike_infer(kl_opctx *c)
{
    return check_types(c, c->in[1]->dtype);
}

/* ---- strings ---------------------------------------------------------------- */

#define NUMBER_CHARS 32

/* Digits d (no point) times 10^e as positional text ("1000.0", "0.05"). */
static void positional(bool neg, const char *d, int e, char *out)
{
    int n = (int)strlen(d), at = 0;
    if (neg)
        out[at++] = '-';
    if (e < 0) {
        at += snprintf(out + at, NUMBER_CHARS - at, "0.");
        for (int k = 0; k < -e - 1; k++)
            out[at++] = '0';
        snprintf(out + at, NUMBER_CHARS - at, "%s", d);
        return;
    }
    for (int k = 0; k <= e; k++)
        out[at++] = k < n ? d[k] : '0';
    out[at++] = '.';
    if (n <= e + 1)
        out[at++] = '0';
    for (int k = e + 1; k < n; k++)
        out[at++] = d[k];
    out[at] = 0;
}

/* The fewest significant digits that read back as v (a float when
 * `single`): positional for 1e-4 <= |v| < 1e16, else scientific
 * ("1000.0", "0.039187793", "1e-05"), as NumPy prints them. */
static void format_real(double v, bool single, char *out)
{
    if (v != v || isinf(v)) {
        snprintf(out, NUMBER_CHARS, "%s", v != v ? "NaN" : v < 0 ? "-INF" : "INF");
        return;
    }
    char sci[NUMBER_CHARS];
    int max = single ? 9 : 17;
    for (int p = 1; p <= max; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        double back = strtod(sci, NULL);
        if (single ? (float)back == (float)v : back == v)
            break;
    }
    char *e_at = strchr(sci, 'e');
    int e = atoi(e_at + 1);
    if (v != 0 && (fabs(v) < 1e-4 || fabs(v) >= 1e16)) {
        snprintf(out, NUMBER_CHARS, "%s", sci);
        return;
    }
    char digits[NUMBER_CHARS];
    int n = 0;
    for (const char *c = sci; c < e_at; c++)
        if (*c >= '0' && *c <= '9')
            digits[n++] = *c;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    positional(sci[0] == '-', digits, v == 0 ? 0 : e, out);
}

/* Element i of x as text into out (NUMBER_CHARS bytes). */
static void format_number(const kl_tensor *x, int64_t i, char *out)
{
    chunk one;
    one.i[0] = 0;
    load(x->dtype, (const char *)x->data + (size_t)i * kl_dtype_size(x->dtype), 1, &one);
    switch (carrier_of(x->dtype)) {
    case AS_DOUBLE: format_real(one.f[0], x->dtype != KEEL_DOUBLE, out); break;
    case AS_INT64: snprintf(out, NUMBER_CHARS, "%lld", (long long)one.i[0]); break;
    default: snprintf(out, NUMBER_CHARS, "%llu", (unsigned long long)one.u[0]); break;
    }
}

static keel_status to_strings(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    size_t n = (size_t)kl_numel(x), bytes = (n ? n : 1) * (sizeof(char *) + NUMBER_CHARS);
    char **ptrs = kl_alloc(c->env, bytes);
    if (!ptrs)
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory for %zu strings", n);
    char *text = (char *)(ptrs + n);
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = text + i * NUMBER_CHARS;
        format_number(x, (int64_t)i, ptrs[i]);
    }
    kl_tensor t = *x;
    t.dtype = KEEL_STRING;
    t.data = ptrs;
    keel_status st = kl_out_value(c, 0, &t);
    kl_free(c->env, ptrs, bytes);
    return st;
}

/* String s as a number: into f (and into i when it is an integer). */
static bool parse_number(const char *s, double *f, int64_t *i, bool *integer)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    *integer = end != s && !*end && !errno;
    *i = v;
    *f = strtod(s, &end);
    return *integer || (end != s && !*end);
}

static keel_status from_strings(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    int64_t n = kl_numel(x);
    bool to_int = carrier_of(y->dtype) != AS_DOUBLE && y->dtype != KEEL_BOOL;
    size_t es = kl_dtype_size(y->dtype);
    chunk one;
    for (int64_t k = 0; k < n; k++) {
        const char *s = ((char *const *)x->data)[k];
        double f;
        int64_t i;
        bool integer;
        if (!parse_number(s, &f, &i, &integer))
            return kl_op_fail(c, KEEL_ERR_RUNTIME, "string %lld \"%.64s\" is not a number", (long long)k, s);
        if (to_int) {
            one.i[0] = integer ? i : sat_i64(f);
            store(y->dtype, AS_INT64, &one, 1, (char *)y->data + (size_t)k * es);
        } else {
            one.f[0] = f;
            store(y->dtype, AS_DOUBLE, &one, 1, (char *)y->data + (size_t)k * es);
        }
    }
    return KEEL_OK;
}

static keel_status cast_run(kl_opctx *c)
{
    const kl_tensor *x = c->in[0], *y = c->out[0];
    int64_t n = kl_numel(x);
    if (x->dtype == KEEL_STRING && y->dtype == KEEL_STRING)
        return kl_out_value(c, 0, x);
    if (y->dtype == KEEL_STRING)
        return to_strings(c);
    if (x->dtype == KEEL_STRING)
        return from_strings(c);
    if (x->dtype == y->dtype) {
        if (x->data != y->data)
            memcpy(y->data, x->data, kl_nbytes(x));
        return KEEL_OK;
    }
    kl_convert(x->dtype, x->data, y->dtype, y->data, n);
    return KEEL_OK;
}

void kl_convert(int from, const void *src, int to, void *dst, int64_t n)
{
    size_t in_size = kl_dtype_size(from), out_size = kl_dtype_size(to);
    chunk buf;
    for (int64_t done = 0; done < n; done += CHUNK) {
        int64_t m = n - done < CHUNK ? n - done : CHUNK;
        load(from, (const char *)src + (size_t)done * in_size, m, &buf);
        store(to, carrier_of(from), &buf, m, (char *)dst + (size_t)done * out_size);
    }
}

static const kl_op cast = {.type = "Cast", .since = 1, .min_inputs = 1, .max_inputs = 1,
                           .flags = KL_OP_VALUES, .infer = cast_infer, .run = cast_run};
static const kl_op castlike = {.type = "CastLike", .since = 15, .min_inputs = 2, .max_inputs = 2,
                               .flags = KL_OP_VALUES, .infer = castlike_infer, .run = cast_run};

const kl_op *const kl_opfile_cast[] = {&cast, &castlike, NULL};
