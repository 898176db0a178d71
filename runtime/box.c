/* box.c -- values that are not dense tensors: string tensors, sequences
 * of tensors and the empty optional (keel.h, "Strings, sequences and
 * optional values").  Inside keel such a value lives in one block: its
 * array first (string pointers, or sequence items), then what the array
 * points at (each string's bytes; each item's data, 64-byte aligned), so
 * that it is copied, moved and freed whole. */
#include <stdio.h>
#include <string.h>

#include "base.h"

#define BOX_ALIGN ((size_t)64)

/* String i of t ("" where a pointer is NULL: a tensor being built). */
static const char *string_at(const kl_tensor *t, int64_t i)
{
    const char *s = ((char *const *)t->data)[i];
    return s ? s : "";
}

static size_t align_up(size_t n)
{
    return (n + BOX_ALIGN - 1) & ~(BOX_ALIGN - 1);
}

size_t kl_box_bytes(const kl_tensor *t)
{
    switch (t->dtype) {
    case KEEL_STRING: {
        int64_t n = kl_numel(t);
        size_t bytes = (size_t)n * sizeof(char *);
        for (int64_t i = 0; i < n; i++)
            bytes += strlen(string_at(t, i)) + 1;
        return bytes;
    }
    case KEEL_SEQUENCE: {
        const kl_tensor *items = t->data;
        size_t bytes = align_up((size_t)t->dims[0] * sizeof(kl_tensor));
        for (int64_t i = 0; i < t->dims[0]; i++)
            bytes += align_up(kl_value_bytes(&items[i]));
        return bytes;
    }
    default:
        return 0;
    }
}

size_t kl_value_bytes(const kl_tensor *t)
{
    return kl_dtype_boxed(t->dtype) ? kl_box_bytes(t) : kl_nbytes(t);
}

void kl_box_copy(const kl_tensor *t, void *block, kl_tensor *dst)
{
    uint8_t *at = block;
    *dst = *t;
    dst->data = at;
    if (!at || t->dtype == KEEL_NONE) { /* nothing to hold (an empty value) */
        dst->data = NULL;
    } else if (t->dtype == KEEL_STRING) {
        int64_t n = kl_numel(t);
        char **ptrs = (char **)at;
        char *chars = (char *)(at + (size_t)n * sizeof(char *));
        for (int64_t i = 0; i < n; i++) {
            size_t len = strlen(string_at(t, i)) + 1;
            memcpy(chars, string_at(t, i), len);
            ptrs[i] = chars;
            chars += len;
        }
    } else if (t->dtype == KEEL_SEQUENCE) {
        const kl_tensor *items = t->data;
        kl_tensor *out = (kl_tensor *)at;
        uint8_t *next = at + align_up((size_t)t->dims[0] * sizeof(kl_tensor));
        for (int64_t i = 0; i < t->dims[0]; i++) {
            kl_box_copy(&items[i], next, &out[i]);
            next += align_up(kl_value_bytes(&items[i]));
        }
    } else if (kl_nbytes(t)) {
        memcpy(at, t->data, kl_nbytes(t));
    }
}

kl_tensor *kl_value_new(kl_env *env, const kl_tensor *t)
{
    kl_tensor *out = kl_alloc(env, sizeof *out);
    if (!out)
        return NULL;
    size_t bytes = kl_value_bytes(t);
    void *block = bytes ? kl_alloc(env, bytes) : NULL;
    if (bytes && !block) {
        kl_free(env, out, sizeof *out);
        return NULL;
    }
    kl_box_copy(t, block, out);
    return out;
}

/* A tensor from outside keel: `item` is its index in a sequence, or -1. */
static keel_status check_one(kl_env *env, const kl_tensor *t, const char *what, int item, uint64_t *total)
{
    char at[48] = "";
    if (item >= 0)
        snprintf(at, sizeof at, " item %d", item);
    if (t->dtype == KEEL_NONE)
        return item < 0 ? KEEL_OK
                        : kl_error(env, KEEL_ERR_ARGUMENT, "%s%s is an empty optional; a sequence holds tensors",
                                   what, at);
    if (t->dtype == KEEL_SEQUENCE)
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s%s is a sequence; sequences hold tensors, not sequences", what,
                        at);
    if (!kl_dtype_supported(t->dtype))
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s%s has element type %d, which keel does not hold", what, at,
                        t->dtype);
    int64_t numel;
    if (t->rank < 0 || t->rank > KL_MAX_RANK || !kl_checked_numel(t->rank, t->dims, &numel))
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s%s has rank %d or negative or overflowing dims", what, at,
                        t->rank);
    size_t es = kl_dtype_size(t->dtype);
    if ((uint64_t)numel > env->max_tensor_bytes / es)
        return kl_error(env, KEEL_ERR_LIMIT, "%s%s is larger than the tensor size limit", what, at);
    if (numel && !t->data)
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s%s has no data", what, at);
    *total += (uint64_t)numel * es + BOX_ALIGN;
    if (t->dtype != KEEL_STRING)
        return KEEL_OK;
    for (int64_t i = 0; i < numel; i++) {
        const char *str = ((char *const *)t->data)[i];
        if (!str)
            return kl_error(env, KEEL_ERR_ARGUMENT, "%s%s: string %lld is NULL", what, at, (long long)i);
        size_t len = strnlen(str, env->max_tensor_bytes);
        if (len == env->max_tensor_bytes)
            return kl_error(env, KEEL_ERR_LIMIT, "%s%s: string %lld has no terminator within the tensor size limit",
                            what, at, (long long)i);
        *total += len + 1;
    }
    return KEEL_OK;
}

keel_status kl_value_check(kl_env *env, const kl_tensor *t, const char *what)
{
    uint64_t total = 0;
    if (t->dtype != KEEL_SEQUENCE)
        return check_one(env, t, what, -1, &total);
    if (t->rank != 1 || t->dims[0] < 0 || t->dims[0] > INT32_MAX)
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s is a sequence of rank %d; rank 1 (dims[0] items) expected", what,
                        t->rank);
    if (t->dims[0] && !t->data)
        return kl_error(env, KEEL_ERR_ARGUMENT, "%s is a sequence of %lld items without data", what,
                        (long long)t->dims[0]);
    const kl_tensor *items = t->data;
    for (int64_t i = 0; i < t->dims[0]; i++) {
        keel_status st = check_one(env, &items[i], what, (int)i, &total);
        if (st)
            return st;
        if (items[i].dtype != items[0].dtype)
            return kl_error(env, KEEL_ERR_ARGUMENT, "%s mixes element types: item 0 is %s, item %lld is %s", what,
                            kl_dtype_name(items[0].dtype), (long long)i, kl_dtype_name(items[i].dtype));
        if (total > env->max_tensor_bytes)
            return kl_error(env, KEEL_ERR_LIMIT, "%s is larger than the tensor size limit", what);
    }
    return KEEL_OK;
}
