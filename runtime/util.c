/* util.c -- allocation, error text, element types and small tensor helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

#include "checker.h"
#include "../ops/kernels/kernels.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

/* ---- the default allocator: aligned for SIMD loads --------------------- */

/* Small blocks come from calloc, moved up to the next 64-byte boundary
 * (at least 8 bytes up: calloc aligns to 8 or 16), with the offset back to
 * calloc's pointer in the size_t just before them.
 * calloc rather than malloc and a memset: the C library knows when its
 * memory is fresh from the kernel and then does not clear it again.
 * The bytes before and after the block within calloc's are marked
 * unaddressable for the memory checkers. */
static void *small_alloc(size_t size)
{
    if (size > SIZE_MAX - 64)
        return NULL;
    uint8_t *raw = calloc(1, size + 64);
    if (!raw)
        return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + 64) & ~(uintptr_t)63);
    ((size_t *)p)[-1] = (size_t)(p - raw);
    kl_mark_noaccess(raw, (size_t)(p - raw));
    kl_mark_noaccess(p + size, (size_t)(raw + size + 64 - (p + size)));
    return p;
}

#if defined(__linux__) && defined(MADV_HUGEPAGE)
#define HUGE_PAGE ((size_t)2 << 20)
#define MAPPED_MIN (2 * HUGE_PAGE)

/* Blocks of MAPPED_MIN and more (weights, packed weights, the arena) are
 * mapped on their own, starting at a huge-page boundary, and offered to
 * the kernel's transparent huge pages: a page fault per 2 MiB instead of
 * per 4 KiB when a session is created, and fewer TLB misses when weights
 * stream through.  The block's first 64 bytes are its head: the mapping's
 * length, and 0 where a small block keeps its offset; at least 64 bytes
 * follow the block.  Head and tail are unaddressable to the memory
 * checkers, and memcheck tracks the block like one from malloc (leaks
 * included).  Fresh mappings are zero. */
static void *mapped_alloc(size_t size)
{
    if (size > SIZE_MAX - 2 * HUGE_PAGE)
        return NULL;
    size_t used = (64 + size + 64 + 4095) & ~(size_t)4095, len = used + HUGE_PAGE;
    uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    uint8_t *base = (uint8_t *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (base > map)
        munmap(map, (size_t)(base - map));
    if (map + len > base + used)
        munmap(base + used, (size_t)(map + len - (base + used)));
    madvise(base, used, MADV_HUGEPAGE); /* advice: where refused, 4 KiB pages */
    uint8_t *p = base + 64;
    ((size_t *)p)[-1] = 0;
    ((size_t *)p)[-2] = used;
    kl_mark_noaccess(base, 64);
    kl_mark_noaccess(p + size, used - 64 - size);
    KL_VG_MALLOCLIKE(p, size);
    return p;
}
#endif

static void *default_alloc(void *user, size_t size)
{
    (void)user;
#ifdef MAPPED_MIN
    if (size >= MAPPED_MIN)
        return mapped_alloc(size);
#endif
    return small_alloc(size);
}

static void default_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)size; /* the head says how the block was obtained */
    if (!p)
        return;
    kl_mark_access((uint8_t *)p - 2 * sizeof(size_t), 2 * sizeof(size_t));
    size_t offset = ((size_t *)p)[-1];
#ifdef MAPPED_MIN
    if (!offset) {
        size_t used = ((size_t *)p)[-2];
        KL_VG_FREELIKE(p);
        KL_ASAN_UNPOISON((uint8_t *)p - 64, used); /* the addresses may be mapped again */
        munmap((uint8_t *)p - 64, used);
        return;
    }
#endif
    free((uint8_t *)p - offset);
}

/* Whether blocks from env's allocator come zeroed already. */
static bool comes_zeroed(const kl_env *env)
{
    return env->alloc.alloc == default_alloc;
}

#define GIB ((uint64_t)1 << 30)

void kl_env_init(kl_env *env, const keel_options *opt)
{
    memset(env, 0, sizeof *env);
    keel_options defaults;
    if (!opt) {
        keel_options_init(&defaults);
        opt = &defaults;
    }
    if (opt->allocator && opt->allocator->alloc && opt->allocator->free)
        env->alloc = *opt->allocator;
    else
        env->alloc = (keel_allocator){default_alloc, default_free, NULL};
    env->max_model_bytes = opt->max_model_bytes ? opt->max_model_bytes : 4 * GIB;
    env->max_tensor_bytes = opt->max_tensor_bytes ? opt->max_tensor_bytes : 4 * GIB;
    env->max_arena_bytes = opt->max_arena_bytes ? opt->max_arena_bytes : 16 * GIB;
    env->threads = opt->threads > 0 ? opt->threads : 1;
    env->optimize = opt->optimize;
    env->log = opt->log;
    env->log_user = opt->log_user;
    env->reference = opt->reference != 0;
    if (env->reference)
        env->optimize = 0;
    env->isa = env->reference ? KEEL_ISA_GENERIC : keel_isa_available((keel_isa)opt->isa);
    env->kern = kl_kernels_for(env->isa);
    env->time_limit_ms = opt->time_limit_ms;
}

keel_isa keel_isa_available(keel_isa wanted)
{
    keel_isa best = KEEL_ISA_GENERIC;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
        best = KEEL_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = KEEL_ISA_AVX2;
#endif
    return wanted > KEEL_ISA_AUTO && wanted < best ? wanted : best;
}

const char *keel_isa_name(keel_isa isa)
{
    switch (isa) {
    case KEEL_ISA_AUTO: return "auto";
    case KEEL_ISA_GENERIC: return "generic";
    case KEEL_ISA_AVX2: return "avx2";
    case KEEL_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

void kl_log(const kl_env *env, keel_log_level level, const char *fmt, ...)
{
    if (!env->log)
        return;
    char msg[KL_ERRMSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->log(env->log_user, level, msg);
}

void *kl_alloc(kl_env *env, size_t size)
{
    void *p = env->alloc.alloc(env->alloc.user, size ? size : 1);
    if (!p) {
        kl_error(env, KEEL_ERR_NOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    if (!comes_zeroed(env))
        memset(p, 0, size);
    return p;
}

void kl_free(kl_env *env, void *p, size_t size)
{
    if (p)
        env->alloc.free(env->alloc.user, p, size ? size : 1);
}

char *kl_strdup(kl_env *env, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = kl_alloc(env, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void kl_strfree(kl_env *env, char *s)
{
    if (s)
        kl_free(env, s, strlen(s) + 1);
}

keel_status kl_verror(kl_env *env, keel_status status, const char *fmt, va_list ap)
{
    env->status = status;
    vsnprintf(env->msg, sizeof env->msg, fmt, ap);
    return status;
}

keel_status kl_error(kl_env *env, keel_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kl_verror(env, status, fmt, ap);
    va_end(ap);
    return status;
}

void kl_error_prefix(kl_env *env, const char *fmt, ...)
{
    char prefix[KL_ERRMSG], old[KL_ERRMSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, env->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof env->msg)
        n = sizeof env->msg - 3;
    memcpy(env->msg, prefix, n);
    memcpy(env->msg + n, ": ", 2);
    size_t rest = sizeof env->msg - n - 3;
    size_t old_len = strnlen(old, rest);
    memcpy(env->msg + n + 2, old, old_len);
    env->msg[n + 2 + old_len] = 0;
}

/* ---- element types ----------------------------------------------------- */

size_t kl_dtype_size(int dtype)
{
    switch (dtype) {
    case KEEL_FLOAT: case KEEL_INT32: case KEEL_UINT32: return 4;
    case KEEL_UINT8: case KEEL_INT8: case KEEL_BOOL: return 1;
    case KEEL_UINT16: case KEEL_INT16: case KEEL_FLOAT16: case KEEL_BFLOAT16: return 2;
    case KEEL_INT64: case KEEL_DOUBLE: case KEEL_UINT64: return 8;
    case KEEL_STRING: return sizeof(char *);
    case KEEL_SEQUENCE: return sizeof(kl_tensor);
    default: return 0;
    }
}

const char *kl_dtype_name(int dtype)
{
    static const char *const names[] = {
        "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
        "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
        "complex128", "bfloat16"};
    if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]))
        return names[dtype];
    switch (dtype) {
    case KEEL_SEQUENCE: return "sequence";
    case KEEL_NONE: return "none";
    case KEEL_OPTIONAL: return "optional";
    default: return "?";
    }
}

bool kl_dtype_supported(int dtype)
{
    return kl_dtype_size(dtype) != 0 && dtype != KEEL_SEQUENCE;
}

/* ---- shapes -------------------------------------------------------------- */

bool kl_checked_numel(int rank, const int64_t *dims, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] != 0 && n > INT64_MAX / dims[i])
            return false;
        n *= dims[i];
    }
    *out = n;
    return true;
}

int64_t kl_numel(const kl_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

size_t kl_nbytes(const kl_tensor *t)
{
    return (size_t)kl_numel(t) * kl_dtype_size(t->dtype);
}

bool kl_same_shape(const kl_tensor *a, const kl_tensor *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

void kl_appendf(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    if (!size || *used >= size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = (size_t)n < size - 1 - *used ? *used + (size_t)n : size - 1;
}

const char *kl_shape_str(const kl_tensor *t, char *buf, size_t size)
{
    if (t->rank < 0) { /* a shape known only at run time */
        snprintf(buf, size, "%s[?]", kl_dtype_name(t->dtype));
        return buf;
    }
    size_t used = (size_t)snprintf(buf, size, "%s[", kl_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%lld" : "%lld",
                                 (long long)t->dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

keel_status kl_tensor_alloc_data(kl_env *env, kl_tensor *t)
{
    int64_t n;
    if (!kl_checked_numel(t->rank, t->dims, &n))
        return kl_error(env, KEEL_ERR_SHAPE, "tensor dims are negative or overflow");
    size_t esize = kl_dtype_size(t->dtype);
    if (esize == 0)
        return kl_error(env, KEEL_ERR_UNSUPPORTED, "element type %s is not supported",
                        kl_dtype_name(t->dtype));
    if ((uint64_t)n > env->max_tensor_bytes / esize)
        return kl_error(env, KEEL_ERR_LIMIT, "tensor of %lld elements exceeds the limit of %llu bytes",
                        (long long)n, (unsigned long long)env->max_tensor_bytes);
    t->data = kl_alloc(env, (size_t)n * esize);
    return t->data ? KEEL_OK : KEEL_ERR_NOMEM;
}

kl_tensor *kl_tensor_new(kl_env *env, int dtype, int rank, const int64_t *dims)
{
    kl_tensor *t = kl_alloc(env, sizeof *t);
    if (!t)
        return NULL;
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    if (kl_tensor_alloc_data(env, t) != KEEL_OK) {
        kl_free(env, t, sizeof *t);
        return NULL;
    }
    return t;
}

void kl_tensor_free(kl_env *env, kl_tensor *t)
{
    if (!t)
        return;
    kl_free(env, t->data, kl_value_bytes(t));
    kl_free(env, t, sizeof *t);
}

/* ---- bfloat16 ------------------------------------------------------------ */

float kl_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t kl_float_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet, whatever the payload */
        return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u); /* round to nearest, ties to even */
    return (uint16_t)(bits >> 16);
}

/* ---- float16 ------------------------------------------------------------- */

float kl_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t kl_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10)
            return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which is the right rounding */
    return (uint16_t)half;
}
