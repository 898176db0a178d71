/* checker.h -- telling memory checkers (AddressSanitizer, valgrind's
 * memcheck) where keel's own blocks begin and end.
 *
 * keel carves some allocations into pieces (the weights' block, the
 * default allocator's mapped blocks); the checkers would see one valid
 * region.  These marks make the bytes between the pieces unaddressable to
 * them.  Every build runs the same layout: outside a checker the marks
 * compile to nothing (ASan) or to a few instructions that do nothing
 * (valgrind's client requests). */
#ifndef KL_CHECKER_H
#define KL_CHECKER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define KL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KL_ASAN 1
#endif
#endif

#ifdef KL_ASAN
#include <sanitizer/asan_interface.h>
#define KL_ASAN_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define KL_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define KL_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define KL_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define KL_MEMCHECK 1
#endif
#endif

#ifdef KL_MEMCHECK
#define KL_VG_NOACCESS(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define KL_VG_DEFINED(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
/* A block that memcheck tracks like one from malloc: checked for leaks,
 * and its bytes defined (keel's blocks come zeroed). */
#define KL_VG_MALLOCLIKE(p, n) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 1)
#define KL_VG_FREELIKE(p) VALGRIND_FREELIKE_BLOCK((p), 0)
#else
#define KL_VG_NOACCESS(p, n) ((void)(p), (void)(n))
#define KL_VG_DEFINED(p, n) ((void)(p), (void)(n))
#define KL_VG_MALLOCLIKE(p, n) ((void)(p), (void)(n))
#define KL_VG_FREELIKE(p) ((void)(p))
#endif

/* [p, p + n) is none of the program's business: any access is reported. */
static inline void kl_mark_noaccess(const void *p, size_t n)
{
    if (!n)
        return;
    KL_ASAN_POISON(p, n);
    KL_VG_NOACCESS(p, n);
}

/* [p, p + n) may be read and written again (its contents are kept). */
static inline void kl_mark_access(const void *p, size_t n)
{
    if (!n)
        return;
    KL_ASAN_UNPOISON(p, n);
    KL_VG_DEFINED(p, n);
}

#endif
