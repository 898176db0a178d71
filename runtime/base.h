/* base.h -- what every part of keel uses inside: the environment
 * (allocator, limits, error text), allocation, errors and tensors.
 * Nothing here is installed; the public face is keel.h. */
#ifndef KL_BASE_H
#define KL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel.h"

#define KL_MAX_RANK KEEL_MAX_RANK
#define KL_ERRMSG 1024
/* Internal status of infer(): the output shape depends on input data not
 * known yet (kl_op_needs_data); the node is planned at run time.  Never
 * returned to callers of the public API. */
#define KL_DEFERRED ((keel_status)100)

#if defined(__GNUC__)
#define KL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KL_PRINTF(a, b)
#endif

/* ---- allocation and errors -------------------------------------------- */

/* Everything a piece of the library needs to allocate and to report:
 * the caller's allocator, limits, and where the last error's text goes. */
typedef struct kl_env {
    keel_allocator alloc;
    uint64_t max_model_bytes, max_tensor_bytes, max_arena_bytes;
    int threads;
    int optimize;
    int isa;              /* keel_isa the kernels use (never KEEL_ISA_AUTO) */
    bool reference;       /* keel_options.reference: the float64 reference path */
    const struct kl_kernels *kern; /* the kernel table for isa (ops/kernels/kernels.h) */
    uint64_t time_limit_ms;  /* 0: none */
    keel_log_fn log;
    void *log_user;
    keel_status status;
    char msg[KL_ERRMSG];
} kl_env;

void kl_env_init(kl_env *env, const keel_options *opt);
/* A note for the caller's log callback (none set: dropped). */
void kl_log(const kl_env *env, keel_log_level level, const char *fmt, ...) KL_PRINTF(3, 4);

/* All allocation goes through these.  kl_alloc returns 64-byte aligned,
 * zeroed memory or NULL (and sets KEEL_ERR_NOMEM on env). */
void *kl_alloc(kl_env *env, size_t size);
void kl_free(kl_env *env, void *p, size_t size);
char *kl_strdup(kl_env *env, const char *s);
void kl_strfree(kl_env *env, char *s);

/* Records an error on env and returns `status`, so callers can write
 * `return kl_error(env, KEEL_ERR_INVALID, "...", ...)`. */
keel_status kl_error(kl_env *env, keel_status status, const char *fmt, ...) KL_PRINTF(3, 4);
keel_status kl_verror(kl_env *env, keel_status status, const char *fmt, va_list ap);
/* Prepends "prefix: " to the current message. */
void kl_error_prefix(kl_env *env, const char *fmt, ...) KL_PRINTF(2, 3);
/* Appends to the text in buf (size bytes, *used of them written), cut at
 * its end: *used never passes size - 1. */
void kl_appendf(char *buf, size_t size, size_t *used, const char *fmt, ...) KL_PRINTF(4, 5);

/* ---- tensors ---------------------------------------------------------- */

/* A tensor as keel handles it inside: same layout as the public one. */
typedef keel_tensor kl_tensor;

size_t kl_dtype_size(int dtype);
const char *kl_dtype_name(int dtype);
bool kl_dtype_supported(int dtype);       /* one keel can hold */
int64_t kl_numel(const kl_tensor *t);
/* Checked product of dims: false if any dim is negative or it overflows. */
bool kl_checked_numel(int rank, const int64_t *dims, int64_t *out);
size_t kl_nbytes(const kl_tensor *t);
bool kl_same_shape(const kl_tensor *a, const kl_tensor *b);
/* "float[1,3,224,224]" into buf. */
const char *kl_shape_str(const kl_tensor *t, char *buf, size_t size);

/* Allocates data for `t` (whose dtype and dims are set). */
keel_status kl_tensor_alloc_data(kl_env *env, kl_tensor *t);
/* A heap tensor struct plus its data; freed with kl_tensor_free. */
kl_tensor *kl_tensor_new(kl_env *env, int dtype, int rank, const int64_t *dims);
void kl_tensor_free(kl_env *env, kl_tensor *t);

/* ---- strings, sequences and empty optionals (box.c) -------------------- */

/* Values that are not dense tensors (keel.h): inside keel each lives in
 * one block, its array first and what that points at after it. */
static inline bool kl_dtype_boxed(int dtype)
{
    return dtype == KEEL_STRING || dtype == KEEL_SEQUENCE || dtype == KEEL_NONE;
}
/* Bytes of the block holding boxed value t whole (0 for others). */
size_t kl_box_bytes(const kl_tensor *t);
/* kl_box_bytes for boxed values, kl_nbytes for dense ones. */
size_t kl_value_bytes(const kl_tensor *t);
/* Copies t whole into block (kl_value_bytes(t) bytes; NULL when that is
 * 0): its array, then what the array points at; *dst is the copy. */
void kl_box_copy(const kl_tensor *t, void *block, kl_tensor *dst);
/* A heap tensor struct and one block holding a copy of t, of any kind;
 * freed with kl_tensor_free.  NULL out of memory. */
kl_tensor *kl_value_new(kl_env *env, const kl_tensor *t);
/* Checks a value given from outside (a run's input): a tensor with its
 * data, each string present and terminated within the size limit, a
 * sequence of tensors of one element type.  `what` names it in messages. */
keel_status kl_value_check(kl_env *env, const kl_tensor *t, const char *what);

/* float16 <-> float32 */
float kl_half_to_float(uint16_t h);
uint16_t kl_float_to_half(float f);
float kl_bf16_to_float(uint16_t h);
uint16_t kl_float_to_bf16(float f);   /* round to nearest even */

#endif /* KL_BASE_H */
