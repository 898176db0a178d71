/* loader.c -- ONNX protobuf into keel's graph.
 *
 * Large weights are kept out of protobuf-c: before unpacking, a small wire
 * scanner copies the model's bytes minus the raw_data payloads of the main
 * graph's initializers into a metadata buffer and remembers where each
 * payload lives.  protobuf-c then parses only the metadata, and each
 * payload is copied exactly once, straight from the mapped file into its
 * tensor.  Pages already copied are dropped from the mapping as we go, so
 * peak memory stays close to one copy of the weights. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "checker.h"
#include "onnx.pb-c.h"

#define MAX_KNOWN_IR_VERSION 10

/* ---- protobuf wire scanning -------------------------------------------- */

typedef struct raw_ref {
    size_t offset, length;
    bool present;
} raw_ref;

typedef struct strip_state {
    const uint8_t *base;  /* the whole model */
    uint8_t *out;         /* metadata being written, NULL while sizing */
    size_t out_len;
    raw_ref *refs;        /* one per main-graph initializer, NULL while sizing */
    int n_refs;           /* initializers seen */
    int n_graphs;         /* ModelProto.graph occurrences */
} strip_state;

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static void emit(strip_state *s, const void *p, size_t n)
{
    if (s->out)
        memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
}

static void emit_varint(strip_state *s, uint64_t v)
{
    uint8_t buf[10];
    size_t n = 0;
    do {
        buf[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    emit(s, buf, n);
}

/* Levels: 0 ModelProto, 1 GraphProto, 2 TensorProto (an initializer). */
static bool strip_message(strip_state *s, const uint8_t *p, const uint8_t *end, int level,
                          size_t *size_out);

/* The stripped size of a nested message, computed without writing. */
static bool nested_size(strip_state *s, const uint8_t *p, const uint8_t *end, int level,
                        size_t *size)
{
    strip_state probe = *s;
    probe.out = NULL;
    probe.refs = NULL;
    probe.out_len = 0;
    return strip_message(&probe, p, end, level, size);
}

static bool strip_message(strip_state *s, const uint8_t *p, const uint8_t *end, int level,
                          size_t *size_out)
{
    size_t start_len = s->out_len;
    int my_ref = -1;
    if (level == 2) {
        my_ref = s->n_refs++;
        if (s->refs)
            s->refs[my_ref].present = false;
    }
    while (p < end) {
        const uint8_t *field_start = p;
        uint64_t key, len = 0;
        if (!read_varint(&p, end, &key))
            return false;
        unsigned wire = key & 7;
        uint64_t field = key >> 3;
        switch (wire) {
        case 0:
            if (!read_varint(&p, end, &len))
                return false;
            emit(s, field_start, (size_t)(p - field_start));
            continue;
        case 1:
        case 5: {
            size_t n = wire == 1 ? 8 : 4;
            if ((size_t)(end - p) < n)
                return false;
            p += n;
            emit(s, field_start, (size_t)(p - field_start));
            continue;
        }
        case 2:
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p))
                return false;
            break;
        default: /* groups are not used by ONNX */
            return false;
        }
        const uint8_t *payload = p, *payload_end = p + len;
        p = payload_end;
        int child = -1;
        if (level == 0 && field == 7) {
            child = 1;
            s->n_graphs++;
        } else if (level == 1 && field == 5) {
            child = 2;
        } else if (level == 2 && field == 9) {
            if (s->refs) {
                s->refs[my_ref].present = true;
                s->refs[my_ref].offset = (size_t)(payload - s->base);
                s->refs[my_ref].length = (size_t)len;
            }
            continue; /* dropped from the metadata */
        }
        if (child < 0) {
            emit(s, field_start, (size_t)(payload_end - field_start));
            continue;
        }
        size_t inner;
        if (!nested_size(s, payload, payload_end, child, &inner))
            return false;
        emit_varint(s, key);
        emit_varint(s, inner);
        if (!strip_message(s, payload, payload_end, child, &inner))
            return false;
    }
    *size_out = s->out_len - start_len;
    return true;
}

/* ---- protobuf-c allocation through the caller's allocator ---------------- */

/* protobuf-c's free() gets no size; we prefix each block with it. */
static void *pb_alloc(void *user, size_t size)
{
    kl_env *env = user;
    uint64_t *p = kl_alloc(env, size + 64);
    if (!p)
        return NULL;
    p[0] = size + 64;
    return (uint8_t *)p + 64;
}

static void pb_free(void *user, void *ptr)
{
    if (!ptr)
        return;
    uint64_t *p = (uint64_t *)((uint8_t *)ptr - 64);
    kl_free(user, p, (size_t)p[0]);
}

/* ---- conversion context ---------------------------------------------------- */

typedef struct load_ctx {
    keel_model *m;
    kl_env *env;
    const char *file;          /* for messages */
    const uint8_t *bytes;      /* the whole model (for raw_data refs) */
    raw_ref *refs;
    int n_refs;
    bool drop_pages;           /* bytes is our own mapping: release pages once copied */
    kl_graph *main;            /* while its initializers are decoded: their block */
    size_t weights_used;
    bool own_buffer;           /* the tensor being decoded gets its own buffer, not the block */
    int nesting;               /* subgraph level of the graph being converted (main: 0) */
} load_ctx;

#define FAIL(ctx, st, ...) kl_error((ctx)->env, (st), __VA_ARGS__)

/* ---- nesting depth, before anything recurses ------------------------------- */

/* protobuf-c unpacks nested messages recursively, with no depth limit and
 * about a kilobyte of stack per level.  This pass walks the wire format
 * with an explicit stack, using the generated descriptors to know which
 * length-delimited fields are messages, and refuses files whose messages
 * nest deeper than KEEL_MAX_MESSAGE_DEPTH or whose graphs nest more than
 * KEEL_MAX_NESTING subgraph levels below the main graph (keel.h).  On the
 * way it refuses strings holding a NUL byte, which protobuf-c would cut
 * short without a word. */
typedef struct nest_frame {
    const ProtobufCMessageDescriptor *desc;
    const uint8_t *end;
} nest_frame;

/* root: the message the bytes hold (a ModelProto but for test data) */
static keel_status check_nesting(load_ctx *x, const uint8_t *bytes, size_t size,
                                 const ProtobufCMessageDescriptor *root)
{
    nest_frame *stack = kl_alloc(x->env, (KEEL_MAX_MESSAGE_DEPTH + 1) * sizeof *stack);
    if (!stack)
        return KEEL_ERR_NOMEM;
    keel_status st = KEEL_OK;
    int depth = 0, graphs = 0; /* graphs: GraphProto messages on the stack */
    const uint8_t *p = bytes;
    stack[0] = (nest_frame){root, bytes + size};
    for (;;) {
        while (depth > 0 && p == stack[depth].end)
            graphs -= stack[depth--].desc == &onnx__graph_proto__descriptor;
        const uint8_t *end = stack[depth].end;
        if (p == end)
            break;
        uint64_t key, v;
        if (!read_varint(&p, end, &key))
            goto broken;
        unsigned wire = key & 7;
        if (wire == 0) {
            if (!read_varint(&p, end, &v))
                goto broken;
            continue;
        }
        if (wire == 1 || wire == 5) {
            size_t n = wire == 1 ? 8 : 4;
            if ((size_t)(end - p) < n)
                goto broken;
            p += n;
            continue;
        }
        if (wire != 2 || !read_varint(&p, end, &v) || v > (uint64_t)(end - p))
            goto broken;
        const ProtobufCFieldDescriptor *f =
            key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(stack[depth].desc, (unsigned)(key >> 3))
                                   : NULL;
        if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)v)) {
            /* protobuf-c would cut the string there: "w\0../../x" would
             * silently become "w" */
            st = FAIL(x, KEEL_ERR_INVALID, "%s: the string %s.%s at byte %zu holds a NUL byte",
                      x->file, stack[depth].desc->short_name, f->name, (size_t)(p - bytes));
            break;
        }
        if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
            p += v;
            continue;
        }
        const ProtobufCMessageDescriptor *child = f->descriptor;
        if (depth == KEEL_MAX_MESSAGE_DEPTH) {
            st = FAIL(x, KEEL_ERR_LIMIT,
                      "%s: protobuf messages nest more than %d levels deep (a %s at byte %zu); "
                      "keel's limit is KEEL_MAX_MESSAGE_DEPTH = %d",
                      x->file, KEEL_MAX_MESSAGE_DEPTH, child->short_name, (size_t)(p - bytes),
                      KEEL_MAX_MESSAGE_DEPTH);
            break;
        }
        if (child == &onnx__graph_proto__descriptor && ++graphs - 1 > KEEL_MAX_NESTING) {
            st = FAIL(x, KEEL_ERR_LIMIT,
                      "%s: subgraphs nest more than %d levels deep (the graph at byte %zu is at "
                      "level %d); keel's limit is KEEL_MAX_NESTING = %d", x->file, KEEL_MAX_NESTING,
                      (size_t)(p - bytes), graphs - 1, KEEL_MAX_NESTING);
            break;
        }
        stack[++depth] = (nest_frame){child, p + v};
    }
    kl_free(x->env, stack, (KEEL_MAX_MESSAGE_DEPTH + 1) * sizeof *stack);
    return st;
broken:
    kl_free(x->env, stack, (KEEL_MAX_MESSAGE_DEPTH + 1) * sizeof *stack);
    return FAIL(x, KEEL_ERR_FORMAT, "%s: not an ONNX model: the protobuf encoding is broken at byte %zu "
                "(truncated or corrupt file)", x->file, (size_t)(p - bytes));
}

/* ---- external data ----------------------------------------------------------- */

/* Opens `location` under the model's folder without following any symbolic
 * link: each folder on the way is opened relative to the previous one with
 * O_NOFOLLOW | O_DIRECTORY, the file itself with O_NOFOLLOW (and
 * O_NONBLOCK, so that a FIFO cannot block the open), and the descriptor
 * actually opened must be a regular file.  Nothing is checked by name and
 * then opened again, so swapping a file for a link in between changes
 * nothing.  Returns the descriptor and its size, or fails naming the
 * tensor and location. */
static keel_status open_external(load_ctx *x, const char *tensor, const char *location, int *fd_out,
                                 uint64_t *size_out)
{
    *fd_out = -1;
    if (!x->m->dir)
        return FAIL(x, KEEL_ERR_INVALID,
                    "%s: tensor '%s' uses external data, but the model was loaded from memory "
                    "without a base folder", x->file, tensor);
    size_t len = strlen(location);
    if (!len || location[0] == '/' || strchr(location, '\\') || len >= PATH_MAX)
        return FAIL(x, KEEL_ERR_INVALID,
                    "%s: tensor '%s': external data location '%s' must be a relative path "
                    "inside the model's folder", x->file, tensor, location);
    int cur = open(x->m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return FAIL(x, KEEL_ERR_IO, "%s: cannot open the model's folder '%s': %s", x->file, x->m->dir,
                    strerror(errno));
    const char *p = location;
    keel_status st = KEEL_OK;
    char part[NAME_MAX + 1];
    while (*p) {
        size_t n = strcspn(p, "/");
        bool last = !p[n] || !p[n + strspn(p + n, "/")];
        if (n > NAME_MAX) {
            st = FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data location '%s' has a name "
                      "longer than %d bytes", x->file, tensor, location, NAME_MAX);
            break;
        }
        memcpy(part, p, n);
        part[n] = 0;
        p += n;
        p += strspn(p, "/");
        if (!n || strcmp(part, ".") == 0) {
            if (last) {
                st = FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data location '%s' names "
                          "a folder, not a file", x->file, tensor, location);
                break;
            }
            continue;
        }
        if (strcmp(part, "..") == 0) {
            st = FAIL(x, KEEL_ERR_INVALID,
                      "%s: tensor '%s': external data location '%s' must be a relative path "
                      "inside the model's folder (no '..')", x->file, tensor, location);
            break;
        }
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
        int next = openat(cur, part, flags);
        if (next < 0) {
            int e = errno;
            if (e == ELOOP || (!last && e == ENOTDIR))
                st = FAIL(x, KEEL_ERR_INVALID,
                          "%s: tensor '%s': external data '%s': '%s' is a symbolic link%s; keel "
                          "follows none, so that nothing leads outside the model's folder",
                          x->file, tensor, location, part, last ? "" : " or not a folder");
            else
                st = FAIL(x, KEEL_ERR_IO, "%s: tensor '%s': external data file '%s' in '%s': %s",
                          x->file, tensor, location, x->m->dir, strerror(e));
            break;
        }
        close(cur);
        cur = next;
        if (last) {
            struct stat sb;
            if (fstat(cur, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                st = FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data '%s' is not a regular "
                          "file", x->file, tensor, location);
                break;
            }
            *fd_out = cur;
            *size_out = (uint64_t)sb.st_size;
            return KEEL_OK;
        }
    }
    close(cur);
    return st;
}

/* An external-data offset or length: decimal digits only, no sign, no
 * blanks, at most INT64_MAX. */
static bool parse_u63(const char *v, uint64_t *out)
{
    if (!v[0])
        return false;
    uint64_t n = 0;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9' || n > ((uint64_t)INT64_MAX - (uint64_t)(*c - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*c - '0');
    }
    *out = n;
    return true;
}

/* Opens an external tensor's file and checks that it holds nbytes at the
 * offset, before anything is allocated for it.  The keys are ONNX's:
 * location (required), offset, length, checksum (not verified); each at
 * most once, no other.  On success the caller reads from *fd and closes it. */
static keel_status open_external_data(load_ctx *x, const Onnx__TensorProto *tp, size_t nbytes,
                                      int *fd_out, uint64_t *offset_out, const char **location_out)
{
    const char *name = tp->name ? tp->name : "";
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool has_offset = false, has_length = false, has_checksum = false;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k || !k[0])
            return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data entry %zu has no key",
                        x->file, name, i);
        if (!v)
            v = "";
        bool *seen = strcmp(k, "location") == 0 ? NULL
                   : strcmp(k, "offset") == 0 ? &has_offset
                   : strcmp(k, "length") == 0 ? &has_length
                   : strcmp(k, "checksum") == 0 ? &has_checksum : NULL;
        bool is_location = strcmp(k, "location") == 0;
        if (!seen && !is_location)
            return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': unknown external data key '%s'",
                        x->file, name, k);
        if ((is_location && location) || (seen && *seen))
            return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data key '%s' is given twice",
                        x->file, name, k);
        if (is_location) {
            location = v;
            continue;
        }
        *seen = true;
        if (seen == &has_checksum)
            continue;
        if (!parse_u63(v, seen == &has_offset ? &offset : &length))
            return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': bad external data %s '%s' (a decimal "
                        "number from 0 to 2^63-1 expected)", x->file, name, k, v);
    }
    if (!location)
        return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': external data without a location",
                    x->file, name);
    if (has_length && length != nbytes)
        return FAIL(x, KEEL_ERR_INVALID,
                    "%s: tensor '%s': external data length %llu does not match its dims (%zu bytes)",
                    x->file, name, (unsigned long long)length, nbytes);
    int fd;
    uint64_t size;
    keel_status st = open_external(x, name, location, &fd, &size);
    if (st)
        return st;
    if (offset > size || size - offset < nbytes) {
        close(fd);
        return FAIL(x, KEEL_ERR_IO,
                    "%s: tensor '%s': external data '%s' is too short (needs %zu bytes at offset "
                    "%llu; the file has %llu)", x->file, name, location, nbytes,
                    (unsigned long long)offset, (unsigned long long)size);
    }
    *fd_out = fd;
    *offset_out = offset;
    *location_out = location;
    return KEEL_OK;
}

/* Reads what open_external_data checked into t and closes fd. */
static keel_status read_external(load_ctx *x, const char *name, int fd, uint64_t offset,
                                 const char *location, kl_tensor *t, size_t nbytes)
{
    size_t done = 0;
    while (done < nbytes) {
        ssize_t got = pread(fd, (uint8_t *)t->data + done, nbytes - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int e = got < 0 ? errno : 0;
            close(fd);
            return FAIL(x, KEEL_ERR_IO, "%s: tensor '%s': reading external data '%s': %s", x->file,
                        name, location, e ? strerror(e) : "the file shrank while being read");
        }
        done += (size_t)got;
    }
    close(fd);
    return KEEL_OK;
}

/* ---- tensors ----------------------------------------------------------------- */

/* Gives the pages fully inside [p, p+n) back to the kernel: they are file
 * pages of a private read-only mapping, re-readable if ever touched again. */
static void drop_pages(const uint8_t *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Copies a raw payload (little-endian, as on every host keel targets).
 * From our own mapping it goes in slices, each dropped once copied, so the
 * file's pages and the copy are never both resident in full. */
static void copy_payload(void *dst, const uint8_t *src, size_t n, bool drop)
{
    const size_t slice = (size_t)8 << 20;
    for (size_t done = 0; done < n; done += slice) {
        size_t len = n - done < slice ? n - done : slice;
        memcpy((uint8_t *)dst + done, src + done, len);
        if (drop)
            drop_pages(src + done, len);
    }
}

/* The number of values in the typed field that holds dtype's data. */
static size_t typed_count(const Onnx__TensorProto *tp, int dt)
{
    switch (dt) {
    case KEEL_FLOAT: return tp->n_float_data;
    case KEEL_INT64: return tp->n_int64_data;
    case KEEL_DOUBLE: return tp->n_double_data;
    case KEEL_UINT32: case KEEL_UINT64: return tp->n_uint64_data;
    default: return tp->n_int32_data;
    }
}

/* Copies typed protobuf fields into t->data; typed_count() was checked. */
static void decode_typed(const Onnx__TensorProto *tp, kl_tensor *t)
{
    size_t count = typed_count(tp, t->dtype);
    int dt = t->dtype;
    for (size_t i = 0; i < count; i++) {
        switch (dt) {
        case KEEL_FLOAT: ((float *)t->data)[i] = tp->float_data[i]; break;
        case KEEL_INT64: ((int64_t *)t->data)[i] = tp->int64_data[i]; break;
        case KEEL_DOUBLE: ((double *)t->data)[i] = tp->double_data[i]; break;
        case KEEL_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i]; break;
        case KEEL_UINT64: ((uint64_t *)t->data)[i] = tp->uint64_data[i]; break;
        case KEEL_INT32: ((int32_t *)t->data)[i] = tp->int32_data[i]; break;
        case KEEL_INT16: ((int16_t *)t->data)[i] = (int16_t)tp->int32_data[i]; break;
        case KEEL_UINT16: case KEEL_FLOAT16: case KEEL_BFLOAT16:
            ((uint16_t *)t->data)[i] = (uint16_t)tp->int32_data[i]; break;
        case KEEL_INT8: ((int8_t *)t->data)[i] = (int8_t)tp->int32_data[i]; break;
        case KEEL_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)tp->int32_data[i]; break;
        case KEEL_BOOL: ((uint8_t *)t->data)[i] = tp->int32_data[i] != 0; break;
        }
    }
}

/* ---- the weights' block ------------------------------------------------------- */

#define SLOT_ALIGN ((size_t)64)

/* A payload of n bytes, rounded up to 64, then 64 bytes of guard. */
static size_t slot_size(size_t n)
{
    return ((n + SLOT_ALIGN - 1) & ~(SLOT_ALIGN - 1)) + SLOT_ALIGN;
}

/* The main graph's raw payloads share one block, 64-byte aligned each: one
 * allocation instead of one per tensor, which the default allocator maps
 * with huge pages where most single tensors are too small for them
 * (ResNet-50: about 8,000 fewer page faults at load).  Each payload is
 * followed by a guard that memory checkers see as unaddressable, so they
 * still report a read past a tensor's end. */
static keel_status alloc_weights(load_ctx *x, kl_graph *g, const bool *apart)
{
    size_t total = 0;
    for (int i = 0; i < x->n_refs; i++)
        if (x->refs[i].present && x->refs[i].length && !(apart && apart[i])) {
            if (x->refs[i].length > SIZE_MAX / 2 - total)
                return KEEL_OK; /* absurd sizes: each tensor's own checks speak */
            total += slot_size(x->refs[i].length);
        }
    if (!total)
        return KEEL_OK;
    if (!(g->weights = kl_alloc(x->env, total)))
        return FAIL(x, KEEL_ERR_NOMEM, "%s: out of memory for %zu bytes of weights", x->file, total);
    g->weights_bytes = total;
    kl_mark_noaccess(g->weights, total);
    x->main = g;
    x->weights_used = 0;
    return KEEL_OK;
}

/* Room in the block for an initializer whose payload `ref` is nbytes long
 * (as its dims say), or NULL: it then gets a block of its own. */
static uint8_t *weights_slot(load_ctx *x, const raw_ref *ref, size_t nbytes)
{
    if (!x->main || x->own_buffer || !ref || !ref->present || !nbytes || ref->length != nbytes ||
        slot_size(nbytes) > x->main->weights_bytes - x->weights_used)
        return NULL;
    uint8_t *slot = x->main->weights + x->weights_used;
    x->weights_used += slot_size(nbytes);
    kl_mark_access(slot, nbytes);
    return slot;
}

/* A string tensor's string_data into t's block (kl_box_bytes), each
 * string terminated; t's dtype and dims are set, numel its count. */
static keel_status decode_strings(load_ctx *x, const Onnx__TensorProto *tp, kl_tensor *t, int64_t numel)
{
    const char *name = tp->name ? tp->name : "";
    if (tp->has_raw_data || (tp->has_data_location &&
                             tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return FAIL(x, KEEL_ERR_INVALID, "%s: string tensor '%s' has raw or external data; strings are "
                    "stored in string_data", x->file, name);
    if (tp->n_string_data != (size_t)numel)
        return FAIL(x, KEEL_ERR_INVALID, "%s: string tensor '%s' has %zu strings, its dims say %lld", x->file,
                    name, tp->n_string_data, (long long)numel);
    uint64_t bytes = (uint64_t)numel * sizeof(char *);
    for (size_t i = 0; i < tp->n_string_data; i++) {
        const ProtobufCBinaryData *b = &tp->string_data[i];
        if (b->len && memchr(b->data, 0, b->len))
            return FAIL(x, KEEL_ERR_INVALID, "%s: string tensor '%s': string %zu holds a NUL byte", x->file,
                        name, i);
        bytes += b->len + 1;
        if (bytes > x->env->max_tensor_bytes)
            return FAIL(x, KEEL_ERR_LIMIT, "%s: string tensor '%s' exceeds the tensor size limit (%llu bytes)",
                        x->file, name, (unsigned long long)x->env->max_tensor_bytes);
    }
    if (!bytes) { /* no strings: no block */
        t->data = NULL;
        return KEEL_OK;
    }
    uint8_t *block = kl_alloc(x->env, (size_t)bytes);
    if (!block)
        return FAIL(x, KEEL_ERR_NOMEM, "%s: string tensor '%s': out of memory", x->file, name);
    char **ptrs = (char **)block;
    char *chars = (char *)(block + (size_t)numel * sizeof(char *));
    for (size_t i = 0; i < tp->n_string_data; i++) {
        const ProtobufCBinaryData *b = &tp->string_data[i];
        if (b->len)
            memcpy(chars, b->data, b->len);
        chars[b->len] = 0;
        ptrs[i] = chars;
        chars += b->len + 1;
    }
    t->data = block;
    return KEEL_OK;
}

/* Decodes a TensorProto.  `ref` is the stripped raw_data of an initializer
 * of the main graph (NULL otherwise).  On success *out owns the tensor. */
static keel_status decode_tensor(load_ctx *x, const Onnx__TensorProto *tp, const raw_ref *ref,
                                 kl_tensor **out)
{
    const char *name = tp->name ? tp->name : "";
    *out = NULL;
    if (!tp->has_data_type || !kl_dtype_supported(tp->data_type))
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: tensor '%s' has element type %s (%d), which keel does not support",
                    x->file, name, kl_dtype_name(tp->data_type), tp->data_type);
    if (tp->segment)
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: tensor '%s' is segmented; keel does not read segments",
                    x->file, name);
    if (tp->n_dims > KL_MAX_RANK)
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: tensor '%s' has rank %zu; keel supports up to %d",
                    x->file, name, tp->n_dims, KL_MAX_RANK);
    int64_t numel;
    if (!kl_checked_numel((int)tp->n_dims, tp->dims, &numel))
        return FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s' has negative dims or a dim product that overflows",
                    x->file, name);
    size_t esize = kl_dtype_size(tp->data_type);
    if ((uint64_t)numel > x->env->max_tensor_bytes / esize)
        return FAIL(x, KEEL_ERR_LIMIT, "%s: tensor '%s' of %lld elements exceeds the tensor size limit (%llu bytes)",
                    x->file, name, (long long)numel, (unsigned long long)x->env->max_tensor_bytes);
    size_t nbytes = (size_t)numel * esize;
    if (tp->data_type == KEEL_STRING) {
        kl_tensor *t = kl_alloc(x->env, sizeof *t);
        if (!t)
            return KEEL_ERR_NOMEM;
        t->dtype = KEEL_STRING;
        t->rank = (int)tp->n_dims;
        for (size_t i = 0; i < tp->n_dims; i++)
            t->dims[i] = tp->dims[i];
        keel_status st = decode_strings(x, tp, t, numel);
        if (st)
            kl_free(x->env, t, sizeof *t);
        else
            *out = t;
        return st;
    }
    /* the data must be there before its room is allocated: a few bytes
     * of file must not buy gigabytes of memory */
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    bool has_raw = (ref && ref->present) || tp->has_raw_data;
    if (ref && ref->present) {
        raw = x->bytes + ref->offset;
        raw_len = ref->length;
    } else if (tp->has_raw_data) {
        raw = tp->raw_data.data;
        raw_len = tp->raw_data.len;
    }
    int fd = -1;
    uint64_t offset = 0;
    const char *location = NULL;
    keel_status st = KEEL_OK;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        st = open_external_data(x, tp, nbytes, &fd, &offset, &location);
    else if (has_raw && raw_len != nbytes)
        st = FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s': raw_data has %zu bytes, its dims need %zu",
                  x->file, name, raw_len, nbytes);
    else if (!has_raw && typed_count(tp, tp->data_type) != (size_t)numel)
        st = FAIL(x, KEEL_ERR_INVALID, "%s: tensor '%s' has %zu values, its dims say %lld", x->file,
                  name, typed_count(tp, tp->data_type), (long long)numel);
    if (st)
        return st;
    kl_tensor *t = kl_alloc(x->env, sizeof *t);
    if (!t) {
        if (fd >= 0)
            close(fd);
        return KEEL_ERR_NOMEM;
    }
    t->dtype = tp->data_type;
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++)
        t->dims[i] = tp->dims[i];
    uint8_t *slot = fd < 0 ? weights_slot(x, ref, nbytes) : NULL;
    st = slot ? KEEL_OK : kl_tensor_alloc_data(x->env, t);
    if (st) {
        if (fd >= 0)
            close(fd);
        kl_free(x->env, t, sizeof *t);
        return FAIL(x, st, "%s: tensor '%s': out of memory for %zu bytes", x->file, name, nbytes);
    }
    if (slot)
        t->data = slot;
    if (fd >= 0)
        st = read_external(x, name, fd, offset, location, t, nbytes);
    else if (has_raw) {
        if (nbytes)
            copy_payload(t->data, raw, nbytes, ref && x->drop_pages);
    } else {
        decode_typed(tp, t);
    }
    if (st) {
        kl_tensor_free(x->env, t);
        return st;
    }
    *out = t;
    return KEEL_OK;
}

/* ---- declared types ---------------------------------------------------------- */

static keel_status decode_type(load_ctx *x, const char *name, const Onnx__TypeProto *tp, kl_decl *d);

static keel_status decode_decl(load_ctx *x, const Onnx__ValueInfoProto *vi, kl_decl *d)
{
    return decode_type(x, vi->name, vi->type, d);
}

/* What TypeProto tp declares of value `name` into d. */
static keel_status decode_type(load_ctx *x, const char *name, const Onnx__TypeProto *tp, kl_decl *d)
{
    /* a name may be declared twice (input and output): the last one counts */
    for (int i = 0; i < KL_MAX_RANK; i++) {
        kl_strfree(x->env, d->params[i]);
        d->params[i] = NULL;
    }
    d->has_type = d->optional = false;
    d->rank = -1;
    d->elem_dtype = 0;
    if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
        d->optional = true;
        tp = tp->optional_type->elem_type;
        if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)
            return FAIL(x, KEEL_ERR_INVALID, "%s: value '%s' is declared an optional of an optional; ONNX "
                        "allows an optional of a tensor or of a sequence", x->file, name);
    }
    if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) {
        const Onnx__TypeProto *e = tp->sequence_type->elem_type;
        if (e && e->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            return KEEL_OK; /* sequences of sequences or maps: no type keel holds (refused where used) */
        d->has_type = true;
        d->dtype = KEEL_SEQUENCE;
        d->elem_dtype = e && e->tensor_type->has_elem_type ? e->tensor_type->elem_type : 0;
        return KEEL_OK;
    }
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return KEEL_OK; /* maps, sparse tensors: no type to record */
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    d->has_type = true;
    d->dtype = tt->has_elem_type ? tt->elem_type : 0;
    if (!tt->shape) {
        d->rank = -1;
        return KEEL_OK;
    }
    if (tt->shape->n_dim > KL_MAX_RANK)
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: value '%s' has rank %zu; keel supports up to %d",
                    x->file, name, tt->shape->n_dim, KL_MAX_RANK);
    d->rank = (int)tt->shape->n_dim;
    for (int i = 0; i < d->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        d->dims[i] = -1;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return FAIL(x, KEEL_ERR_INVALID, "%s: value '%s' declares dim %d as %lld",
                            x->file, name, i, (long long)dim->dim_value);
            d->dims[i] = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   dim->dim_param && dim->dim_param[0]) {
            if (!(d->params[i] = kl_strdup(x->env, dim->dim_param)))
                return KEEL_ERR_NOMEM;
        }
    }
    return KEEL_OK;
}

/* ---- graphs ------------------------------------------------------------------- */

static keel_status convert_graph(load_ctx *x, const Onnx__GraphProto *gp, bool is_main,
                                 kl_graph **out);

static keel_status node_fail(load_ctx *x, const Onnx__NodeProto *np, size_t idx,
                             keel_status st, const char *what)
{
    return FAIL(x, st, "%s: node %zu '%s' (%s): %s", x->file, idx, np->name ? np->name : "",
                np->op_type ? np->op_type : "?", what);
}

static keel_status convert_attr(load_ctx *x, const Onnx__NodeProto *np, size_t idx,
                                const Onnx__AttributeProto *ap, kl_attr *a)
{
    kl_env *env = x->env;
    char what[512];
    if (!ap->name || !ap->name[0])
        return node_fail(x, np, idx, KEEL_ERR_INVALID, "an attribute has no name");
    if (!(a->name = kl_strdup(env, ap->name)))
        return KEEL_ERR_NOMEM;
    if (ap->ref_attr_name && ap->ref_attr_name[0]) {
        snprintf(what, sizeof what, "attribute '%s' refers to a function attribute, which keel does not support", ap->name);
        return node_fail(x, np, idx, KEEL_ERR_UNSUPPORTED, what);
    }
    int type = ap->has_type ? (int)ap->type : 0;
    if (type == 0) { /* IR < 3 files may omit the type: infer it from the set field */
        type = ap->n_floats ? KL_ATTR_FLOATS : ap->n_ints ? KL_ATTR_INTS
             : ap->n_strings ? KL_ATTR_STRINGS : ap->t ? KL_ATTR_TENSOR : ap->g ? KL_ATTR_GRAPH
             : ap->has_s ? KL_ATTR_STRING : ap->has_f ? KL_ATTR_FLOAT : KL_ATTR_INT;
    }
    a->type = type;
    keel_status st = KEEL_OK;
    switch (type) {
    case KL_ATTR_FLOAT: a->f = ap->f; break;
    case KL_ATTR_INT: a->i = ap->i; break;
    case KL_ATTR_STRING:
        a->s_len = ap->s.len;
        if (!(a->s = kl_alloc(env, a->s_len + 1)))
            return KEEL_ERR_NOMEM;
        if (a->s_len)
            memcpy(a->s, ap->s.data, a->s_len);
        break;
    case KL_ATTR_TENSOR:
        if (!ap->t)
            goto missing;
        st = decode_tensor(x, ap->t, NULL, &a->t);
        break;
    case KL_ATTR_GRAPH:
        if (!ap->g)
            goto missing;
        x->nesting++;
        st = convert_graph(x, ap->g, false, &a->g);
        x->nesting--;
        break;
    case KL_ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        if (!(a->floats = kl_alloc(env, (size_t)a->n * sizeof(float))))
            return KEEL_ERR_NOMEM;
        if (a->n)
            memcpy(a->floats, ap->floats, (size_t)a->n * sizeof(float));
        break;
    case KL_ATTR_INTS:
        a->n = (int)ap->n_ints;
        if (!(a->ints = kl_alloc(env, (size_t)a->n * sizeof(int64_t))))
            return KEEL_ERR_NOMEM;
        if (a->n)
            memcpy(a->ints, ap->ints, (size_t)a->n * sizeof(int64_t));
        break;
    case KL_ATTR_STRINGS:
        /* kl_strfree frees by strlen: an embedded NUL would free the wrong size */
        for (size_t i = 0; i < ap->n_strings; i++)
            if (ap->strings[i].len && memchr(ap->strings[i].data, 0, ap->strings[i].len)) {
                snprintf(what, sizeof what, "attribute '%s' holds a string with a NUL byte", ap->name);
                return node_fail(x, np, idx, KEEL_ERR_UNSUPPORTED, what);
            }
        a->n = (int)ap->n_strings;
        if (!(a->strings = kl_alloc(env, (size_t)a->n * sizeof(char *))))
            return KEEL_ERR_NOMEM;
        for (int i = 0; i < a->n; i++) {
            if (!(a->strings[i] = kl_alloc(env, ap->strings[i].len + 1)))
                return KEEL_ERR_NOMEM;
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
        }
        break;
    case KL_ATTR_TENSORS:
        a->n = (int)ap->n_tensors;
        if (!(a->tensors = kl_alloc(env, (size_t)a->n * sizeof(kl_tensor *))))
            return KEEL_ERR_NOMEM;
        for (int i = 0; i < a->n && !st; i++)
            st = decode_tensor(x, ap->tensors[i], NULL, &a->tensors[i]);
        break;
    case KL_ATTR_GRAPHS:
        a->n = (int)ap->n_graphs;
        if (!(a->graphs = kl_alloc(env, (size_t)a->n * sizeof(kl_graph *))))
            return KEEL_ERR_NOMEM;
        x->nesting++;
        for (int i = 0; i < a->n && !st; i++)
            st = convert_graph(x, ap->graphs[i], false, &a->graphs[i]);
        x->nesting--;
        break;
    case KL_ATTR_TYPE_PROTO:
        if (!ap->tp)
            goto missing;
        if (!(a->tp = kl_alloc(env, sizeof *a->tp)))
            return KEEL_ERR_NOMEM;
        a->tp->rank = -1;
        st = decode_type(x, ap->name, ap->tp, a->tp);
        break;
    default:
        snprintf(what, sizeof what, "attribute '%s' is of kind %d (sparse tensor or list of types), which keel does not support",
                 ap->name, type);
        return node_fail(x, np, idx, KEEL_ERR_UNSUPPORTED, what);
    }
    if (st && st != KEEL_ERR_NOMEM) {
        /* the inner message starts with the file name: keep it in front */
        size_t fl = strlen(x->file);
        if (strncmp(env->msg, x->file, fl) == 0 && env->msg[fl] == ':')
            memmove(env->msg, env->msg + fl + 2, strlen(env->msg + fl + 2) + 1);
        kl_error_prefix(env, "%s: node %zu '%s' (%s) attribute '%s'", x->file, idx,
                        np->name ? np->name : "", np->op_type ? np->op_type : "?", ap->name);
    }
    return st;
missing:
    snprintf(what, sizeof what, "attribute '%s' has no value", ap->name);
    return node_fail(x, np, idx, KEEL_ERR_INVALID, what);
}

/* Adds a value that must not exist yet. */
static keel_status add_unique(load_ctx *x, kl_graph *g, const char *name, const char *what, int *id)
{
    if (kl_graph_find(g, name) >= 0)
        return FAIL(x, KEEL_ERR_INVALID, "%s: %s '%s' is defined twice", x->file, what, name);
    *id = kl_graph_add_value(x->env, g, name);
    return *id < 0 ? KEEL_ERR_NOMEM : KEEL_OK;
}

static keel_status convert_node(load_ctx *x, kl_graph *g, const Onnx__NodeProto *np, size_t idx)
{
    kl_env *env = x->env;
    kl_node *n = &g->nodes[idx];
    n->file_index = (int)idx;
    if (!np->op_type || !np->op_type[0])
        return node_fail(x, np, idx, KEEL_ERR_INVALID, "the node has no op_type");
    if (!(n->name = kl_strdup(env, np->name)) || !(n->op_type = kl_strdup(env, np->op_type)) ||
        !(n->domain = kl_strdup(env, kl_domain(np->domain))))
        return KEEL_ERR_NOMEM;
    /* counts are set with the allocations so that freeing a half-built
     * node frees exactly what was allocated */
    if (!(n->in = kl_alloc(env, np->n_input * sizeof(int))))
        return KEEL_ERR_NOMEM;
    n->n_in = n->n_deps = (int)np->n_input;
    if (!(n->out = kl_alloc(env, np->n_output * sizeof(int))))
        return KEEL_ERR_NOMEM;
    n->n_out = (int)np->n_output;
    if (!(n->attr = kl_alloc(env, np->n_attribute * sizeof(kl_attr))))
        return KEEL_ERR_NOMEM;
    n->n_attr = (int)np->n_attribute;
    for (size_t i = 0; i < np->n_attribute; i++) {
        keel_status st = convert_attr(x, np, idx, np->attribute[i], &n->attr[i]);
        if (st)
            return st;
    }
    for (int k = 0; k < n->n_out; k++) {
        const char *name = np->output[k];
        n->out[k] = -1;
        if (!name[0])
            continue;
        int id = kl_graph_find(g, name);
        if (id >= 0) {
            char what[512];
            snprintf(what, sizeof what, "output '%s' is already produced by %s", name,
                     g->values[id].kind == KL_VALUE_NODE ? "another node"
                     : g->values[id].kind == KL_VALUE_INIT ? "an initializer" : "a graph input");
            return node_fail(x, np, idx, KEEL_ERR_INVALID, what);
        }
        if ((id = kl_graph_add_value(env, g, name)) < 0)
            return KEEL_ERR_NOMEM;
        g->values[id].kind = KL_VALUE_NODE;
        g->values[id].producer = (int)idx;
        n->out[k] = id;
    }
    return KEEL_OK;
}

static keel_status resolve_captures(load_ctx *x, kl_graph *g, kl_node *n, size_t idx,
                                    const Onnx__NodeProto *np, bool is_main);

/* Resolves node inputs once every producer is known.  In a subgraph an
 * unknown name refers to the enclosing scope. */
static keel_status resolve_inputs(load_ctx *x, kl_graph *g, const Onnx__GraphProto *gp,
                                  bool is_main)
{
    for (size_t idx = 0; idx < gp->n_node; idx++) {
        const Onnx__NodeProto *np = gp->node[idx];
        kl_node *n = &g->nodes[idx];
        for (int k = 0; k < n->n_in; k++) {
            const char *name = np->input[k];
            n->in[k] = -1;
            if (!name[0])
                continue;
            int id = kl_graph_find(g, name);
            if (id < 0) {
                if (is_main) {
                    char what[512];
                    snprintf(what, sizeof what, "input '%s' is not produced by any node, initializer or graph input", name);
                    return node_fail(x, np, idx, KEEL_ERR_INVALID, what);
                }
                if ((id = kl_graph_add_value(x->env, g, name)) < 0)
                    return KEEL_ERR_NOMEM;
                g->values[id].kind = KL_VALUE_OUTER;
            }
            n->in[k] = id;
        }
        keel_status st = resolve_captures(x, g, n, idx, np, is_main);
        if (st)
            return st;
    }
    return KEEL_OK;
}

/* Appends value `id` to n's dependencies unless it is there already. */
static keel_status add_dep(kl_env *env, kl_node *n, int id)
{
    for (int k = 0; k < n->n_deps; k++)
        if (n->in[k] == id)
            return KEEL_OK;
    int *grown = kl_alloc(env, (size_t)(n->n_deps + 1) * sizeof *grown);
    if (!grown)
        return KEEL_ERR_NOMEM;
    memcpy(grown, n->in, (size_t)n->n_deps * sizeof *grown);
    kl_free(env, n->in, (size_t)n->n_deps * sizeof *n->in);
    n->in = grown;
    n->in[n->n_deps++] = id;
    return KEEL_OK;
}

/* The values n's subgraphs read from the enclosing scope become n's
 * dependencies in g (or, in a subgraph, outer references of g itself). */
static keel_status resolve_captures(load_ctx *x, kl_graph *g, kl_node *n, size_t idx,
                                    const Onnx__NodeProto *np, bool is_main)
{
    for (int a = 0; a < n->n_attr; a++) {
        const kl_attr *at = &n->attr[a];
        int n_sub = at->type == KL_ATTR_GRAPH ? 1 : at->type == KL_ATTR_GRAPHS ? at->n : 0;
        for (int j = 0; j < n_sub; j++) {
            const kl_graph *sub = at->type == KL_ATTR_GRAPH ? at->g : at->graphs[j];
            for (int v = 0; sub && v < sub->n_values; v++) {
                if (sub->values[v].kind != KL_VALUE_OUTER)
                    continue;
                const char *name = sub->values[v].name;
                int id = kl_graph_find(g, name);
                if (id < 0 && is_main) {
                    char what[512];
                    snprintf(what, sizeof what, "subgraph '%s' reads '%s', which no enclosing graph defines",
                             at->name, name);
                    return node_fail(x, np, idx, KEEL_ERR_INVALID, what);
                }
                if (id < 0) {
                    if ((id = kl_graph_add_value(x->env, g, name)) < 0)
                        return KEEL_ERR_NOMEM;
                    g->values[id].kind = KL_VALUE_OUTER;
                }
                keel_status st = add_dep(x->env, n, id);
                if (st)
                    return st;
            }
        }
    }
    return KEEL_OK;
}

static keel_status convert_io(load_ctx *x, kl_graph *g, const Onnx__GraphProto *gp, bool is_main)
{
    kl_env *env = x->env;
    keel_status st;
    int n_runtime = 0; /* inputs that are not initializers */
    for (size_t i = 0; i < gp->n_input; i++) {
        int id = gp->input[i]->name ? kl_graph_find(g, gp->input[i]->name) : -1;
        n_runtime += !(id >= 0 && g->values[id].kind == KL_VALUE_INIT);
    }
    if (!(g->inputs = kl_alloc(env, (size_t)n_runtime * sizeof(int))))
        return KEEL_ERR_NOMEM;
    g->n_inputs = n_runtime;
    if (!(g->outputs = kl_alloc(env, gp->n_output * sizeof(int))))
        return KEEL_ERR_NOMEM;
    g->n_outputs = (int)gp->n_output;
    int n_inputs = 0;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0])
            return FAIL(x, KEEL_ERR_INVALID, "%s: graph input %zu has no name", x->file, i);
        int id = kl_graph_find(g, vi->name);
        if (id >= 0 && g->values[id].kind == KL_VALUE_INIT) {
            /* an input with a default: keel treats the initializer as constant */
            if ((st = decode_decl(x, vi, &g->values[id].decl)))
                return st;
            continue;
        }
        if ((st = add_unique(x, g, vi->name, "graph input", &id)))
            return st;
        g->values[id].kind = KL_VALUE_INPUT;
        if ((st = decode_decl(x, vi, &g->values[id].decl)))
            return st;
        g->inputs[n_inputs++] = id;
    }
    (void)is_main;
    return KEEL_OK;
}

static keel_status convert_outputs(load_ctx *x, kl_graph *g, const Onnx__GraphProto *gp,
                                   bool is_main)
{
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int id = vi->name ? kl_graph_find(g, vi->name) : -1;
        if (id < 0) {
            if (is_main || !vi->name)
                return FAIL(x, KEEL_ERR_INVALID, "%s: graph output '%s' is not produced by any node, initializer or input",
                            x->file, vi->name ? vi->name : "");
            if ((id = kl_graph_add_value(x->env, g, vi->name)) < 0)
                return KEEL_ERR_NOMEM;
            g->values[id].kind = KL_VALUE_OUTER;
        }
        keel_status st = decode_decl(x, vi, &g->values[id].decl);
        if (st)
            return st;
        g->outputs[i] = id;
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int id = vi->name ? kl_graph_find(g, vi->name) : -1;
        if (id >= 0 && !g->values[id].decl.has_type) {
            keel_status st = decode_decl(x, vi, &g->values[id].decl);
            if (st)
                return st;
        }
    }
    return KEEL_OK;
}

/* ---- weights only Conv reads ------------------------------------------------- */

#define MIN_RELEASABLE_BYTES ((size_t)16 << 10)

typedef struct name_use {
    const char *name;
    bool filters;         /* a Conv's input 1 */
} name_use;

static int by_use_name(const void *a, const void *b)
{
    return strcmp(((const name_use *)a)->name, ((const name_use *)b)->name);
}

static bool is_onnx_conv(const Onnx__NodeProto *n)
{
    return n->op_type && strcmp(n->op_type, "Conv") == 0 &&
           (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static bool holds_subgraph(const Onnx__NodeProto *n)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->n_graphs || n->attribute[a]->g)
            return true;
    return false;
}

/* Whether initializer i's bytes are in the file and it is a float weight
 * of at least MIN_RELEASABLE_BYTES that the graph reads only as a Conv's
 * filters (uses: every name the graph reads, sorted). */
static bool conv_filters_only(const load_ctx *x, const Onnx__TensorProto *tp, int i, const name_use *uses,
                              size_t n_uses)
{
    if (i >= x->n_refs || !x->refs[i].present || x->refs[i].length < MIN_RELEASABLE_BYTES ||
        !tp->has_data_type || tp->data_type != KEEL_FLOAT)
        return false;
    name_use key = {tp->name, false};
    const name_use *hit = bsearch(&key, uses, n_uses, sizeof *uses, by_use_name);
    if (!hit)
        return false;
    while (hit > uses && strcmp(hit[-1].name, tp->name) == 0)
        hit--;
    for (; hit < uses + n_uses && strcmp(hit->name, tp->name) == 0; hit++)
        if (!hit->filters)
            return false;
    return true;
}

/* apart[i]: initializer i of the main graph of a file is a weight the model
 * may release once packed (runtime/shared.c): see conv_filters_only.  None
 * when a node holds a subgraph, which might read it too. */
static keel_status find_conv_filters(load_ctx *x, const Onnx__GraphProto *gp, bool *apart)
{
    size_t n_uses = gp->n_output + gp->n_input;
    for (size_t i = 0; i < gp->n_node; i++) {
        if (holds_subgraph(gp->node[i]))
            return KEEL_OK;
        n_uses += gp->node[i]->n_input;
    }
    name_use *uses = kl_alloc(x->env, (n_uses ? n_uses : 1) * sizeof *uses);
    if (!uses)
        return KEEL_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_input; k++)
            if (gp->node[i]->input[k] && gp->node[i]->input[k][0])
                uses[n++] = (name_use){gp->node[i]->input[k], k == 1 && is_onnx_conv(gp->node[i])};
    for (size_t i = 0; i < gp->n_output; i++)   /* read by the caller */
        if (gp->output[i]->name)
            uses[n++] = (name_use){gp->output[i]->name, false};
    for (size_t i = 0; i < gp->n_input; i++)    /* a caller may feed it */
        if (gp->input[i]->name)
            uses[n++] = (name_use){gp->input[i]->name, false};
    qsort(uses, n, sizeof *uses, by_use_name);
    for (size_t i = 0; i < gp->n_initializer; i++)
        apart[i] = gp->initializer[i]->name && !gp->initializer[i]->has_data_location &&
                   conv_filters_only(x, gp->initializer[i], (int)i, uses, n);
    kl_free(x->env, uses, (n_uses ? n_uses : 1) * sizeof *uses);
    return KEEL_OK;
}

/* Hands the bytes of initializer `id` (decoded into a buffer of its own)
 * to the model's releasable weights. */
static keel_status add_weight(load_ctx *x, kl_graph *g, int id, const raw_ref *ref, int cap)
{
    keel_model *m = x->m;
    if (!m->weights && !(m->weights = kl_alloc(x->env, (size_t)cap * sizeof *m->weights)))
        return KEEL_ERR_NOMEM;
    kl_tensor *t = g->values[id].init;
    if (m->n_weights && m->weights[m->n_weights - 1].value >= id)
        return KEEL_OK; /* kept in its tensor: plans find weights by id in increasing order */
    m->weights[m->n_weights++] = (kl_weight){id, ref->offset, kl_nbytes(t), t->data, 0};
    t->data = NULL;
    return KEEL_OK;
}

/* Initializer i of gp into g; apart[i] (when apart is not NULL): its
 * bytes go to the model's releasable weights (n_apart of them). */
static keel_status convert_initializer(load_ctx *x, kl_graph *g, const Onnx__GraphProto *gp, size_t i, bool is_main,
                                       const bool *apart, int n_apart)
{
    const Onnx__TensorProto *tp = gp->initializer[i];
    int id = -1;
    if (!tp->name || !tp->name[0])
        return FAIL(x, KEEL_ERR_INVALID, "%s: initializer %zu has no name", x->file, i);
    keel_status st = add_unique(x, g, tp->name, "initializer", &id);
    if (st)
        return st;
    g->values[id].kind = KL_VALUE_INIT;
    const raw_ref *ref = is_main && i < (size_t)x->n_refs ? &x->refs[i] : NULL;
    x->own_buffer = apart && apart[i];
    st = decode_tensor(x, tp, ref, &g->values[id].init);
    x->own_buffer = false;
    if (!st && apart && apart[i])
        st = add_weight(x, g, id, ref, n_apart);
    return st;
}

static keel_status convert_graph(load_ctx *x, const Onnx__GraphProto *gp, bool is_main,
                                 kl_graph **out)
{
    kl_env *env = x->env;
    keel_status st;
    /* check_nesting refused deeper files already; this bounds the
     * recursion through convert_attr on its own */
    if (x->nesting > KEEL_MAX_NESTING)
        return FAIL(x, KEEL_ERR_LIMIT, "%s: graph '%s' is nested %d levels deep; keel's limit is "
                    "KEEL_MAX_NESTING = %d", x->file, gp->name ? gp->name : "", x->nesting,
                    KEEL_MAX_NESTING);
    kl_graph *g = kl_alloc(env, sizeof *g);
    if (!g)
        return KEEL_ERR_NOMEM;
    *out = g;
    if (!(g->name = kl_strdup(env, gp->name)))
        return KEEL_ERR_NOMEM;
    if (gp->n_sparse_initializer)
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: graph '%s' has sparse initializers, which keel does not support",
                    x->file, g->name);
    bool *apart = NULL; /* weights the model may release (file loads) */
    int n_apart = 0;
    if (is_main && x->drop_pages && gp->n_initializer) {
        if (!(apart = kl_alloc(env, gp->n_initializer * sizeof *apart)))
            return KEEL_ERR_NOMEM;
        if ((st = find_conv_filters(x, gp, apart))) {
            kl_free(env, apart, gp->n_initializer * sizeof *apart);
            return st;
        }
        for (size_t i = 0; i < gp->n_initializer; i++)
            n_apart += apart[i];
    }
    st = is_main ? alloc_weights(x, g, apart) : KEEL_OK;
    for (size_t i = 0; !st && i < gp->n_initializer; i++)
        st = convert_initializer(x, g, gp, i, is_main, apart, n_apart);
    if (apart)
        kl_free(env, apart, gp->n_initializer * sizeof *apart);
    if (st)
        return st;
    x->main = NULL;
    if ((st = convert_io(x, g, gp, is_main)))
        return st;
    if (!(g->nodes = kl_alloc(env, gp->n_node * sizeof(kl_node))))
        return KEEL_ERR_NOMEM;
    g->n_nodes = (int)gp->n_node;
    for (size_t i = 0; i < gp->n_node; i++) {
        if ((st = convert_node(x, g, gp->node[i], i)))
            return st;
    }
    if ((st = resolve_inputs(x, g, gp, is_main)) || (st = convert_outputs(x, g, gp, is_main)))
        return st;
    return kl_graph_toposort(env, g, x->file);
}

/* ---- the model ------------------------------------------------------------------ */

static keel_status convert_model(load_ctx *x, const Onnx__ModelProto *mp)
{
    keel_model *m = x->m;
    kl_env *env = x->env;
    if (!mp->has_ir_version || mp->ir_version < 1 || mp->ir_version > MAX_KNOWN_IR_VERSION)
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: unknown IR version %lld (keel reads 1 to %d)",
                    x->file, (long long)mp->ir_version, MAX_KNOWN_IR_VERSION);
    m->ir_version = mp->ir_version;
    m->model_version = mp->model_version;
    if (!(m->producer_name = kl_strdup(env, mp->producer_name)) ||
        !(m->producer_version = kl_strdup(env, mp->producer_version)) ||
        !(m->domain = kl_strdup(env, mp->domain)) || !(m->doc = kl_strdup(env, mp->doc_string)))
        return KEEL_ERR_NOMEM;
    if (mp->n_metadata_props) {
        size_t n = mp->n_metadata_props;
        if (!(m->meta_keys = kl_alloc(env, n * sizeof *m->meta_keys)))
            return KEEL_ERR_NOMEM;
        m->n_metadata = (int)n; /* from here keel_model_free releases both lists */
        if (!(m->meta_values = kl_alloc(env, n * sizeof *m->meta_values)))
            return KEEL_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            if (!(m->meta_keys[i] = kl_strdup(env, mp->metadata_props[i]->key)) ||
                !(m->meta_values[i] = kl_strdup(env, mp->metadata_props[i]->value)))
                return KEEL_ERR_NOMEM;
    }
    size_t n_ops = mp->n_opset_import;
    /* IR 1-2 files have no opset_import: they mean opset 1 of ai.onnx */
    if (!(m->opsets = kl_alloc(env, (n_ops ? n_ops : 1) * sizeof *m->opsets)))
        return KEEL_ERR_NOMEM;
    m->n_opsets = n_ops ? (int)n_ops : 1;
    m->opsets[0].version = 1;
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = n_ops ? kl_domain(mp->opset_import[i]->domain) : "";
        if (!(m->opsets[i].domain = kl_strdup(env, d)))
            return KEEL_ERR_NOMEM;
        if (n_ops)
            m->opsets[i].version = mp->opset_import[i]->version;
    }
    if (!mp->graph)
        return FAIL(x, KEEL_ERR_INVALID, "%s: the model has no graph", x->file);
    keel_status st = convert_graph(x, mp->graph, true, &m->graph);
    if (st)
        return st;
    for (size_t f = 0; f < mp->n_functions; f++)
        for (int i = 0; i < m->graph->n_nodes; i++) {
            const kl_node *n = &m->graph->nodes[i];
            const Onnx__FunctionProto *fp = mp->functions[f];
            if (fp->name && strcmp(n->op_type, fp->name) == 0 &&
                strcmp(n->domain, kl_domain(fp->domain)) == 0)
                return FAIL(x, KEEL_ERR_UNSUPPORTED,
                            "%s: node %d '%s' calls the model-local function '%s', which keel does not support",
                            x->file, n->file_index, n->name, fp->name);
        }
    return KEEL_OK;
}

static keel_status parse_bytes(load_ctx *x, const uint8_t *bytes, size_t size)
{
    kl_env *env = x->env;
    keel_status nest = check_nesting(x, bytes, size, &onnx__model_proto__descriptor);
    if (nest)
        return nest;
    strip_state s = {.base = bytes};
    size_t meta_len;
    if (!strip_message(&s, bytes, bytes + size, 0, &meta_len))
        return FAIL(x, KEEL_ERR_FORMAT, "%s: not an ONNX model: the protobuf encoding is broken (truncated or corrupt file)",
                    x->file);
    if (s.n_graphs > 1)
        return FAIL(x, KEEL_ERR_FORMAT, "%s: the model holds %d graph fields; expected one", x->file, s.n_graphs);
    int n_refs = s.n_refs;
    uint8_t *meta = kl_alloc(env, meta_len ? meta_len : 1);
    raw_ref *refs = kl_alloc(env, (size_t)(n_refs ? n_refs : 1) * sizeof *refs);
    keel_status st = KEEL_OK;
    if (!meta || !refs) {
        st = KEEL_ERR_NOMEM;
        goto done;
    }
    s = (strip_state){.base = bytes, .out = meta, .refs = refs};
    strip_message(&s, bytes, bytes + size, 0, &meta_len);
    ProtobufCAllocator pa = {pb_alloc, pb_free, env};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&pa, meta_len, meta);
    if (!mp) {
        st = env->status == KEEL_ERR_NOMEM ? KEEL_ERR_NOMEM
           : FAIL(x, KEEL_ERR_FORMAT, "%s: not an ONNX model: protobuf decoding failed (truncated, corrupt, or not an ONNX file)",
                  x->file);
        goto done;
    }
    x->bytes = bytes;
    x->refs = refs;
    x->n_refs = n_refs;
    st = convert_model(x, mp);
    onnx__model_proto__free_unpacked(mp, &pa);
done:
    kl_free(env, meta, meta_len ? meta_len : 1);
    kl_free(env, refs, (size_t)(n_refs ? n_refs : 1) * sizeof *refs);
    return st;
}

keel_status kl_load_buffer(keel_model *m, const void *data, size_t size)
{
    load_ctx x = {.m = m, .env = &m->env, .file = m->name};
    if (size > m->env.max_model_bytes)
        return FAIL(&x, KEEL_ERR_LIMIT, "%s: the model is %zu bytes, over the limit of %llu",
                    x.file, size, (unsigned long long)m->env.max_model_bytes);
    return parse_bytes(&x, data, size);
}

keel_status kl_load_file(keel_model *m, const char *path)
{
    load_ctx x = {.m = m, .env = &m->env, .file = m->name, .drop_pages = true};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return FAIL(&x, KEEL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return FAIL(&x, KEEL_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size > m->env.max_model_bytes) {
        close(fd);
        return FAIL(&x, KEEL_ERR_LIMIT, "%s: the model is %zu bytes, over the limit of %llu",
                    path, size, (unsigned long long)m->env.max_model_bytes);
    }
    if (size == 0) {
        close(fd);
        return FAIL(&x, KEEL_ERR_FORMAT, "%s: the file is empty", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return FAIL(&x, KEEL_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    }
    madvise(map, size, MADV_SEQUENTIAL);
    keel_status st = parse_bytes(&x, map, size);
    munmap(map, size);
    if (!st && m->n_weights) { /* kept open to read released weights back */
        m->weights_fd = fd;
        m->file_size = (int64_t)sb.st_size;
        m->file_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    } else
        close(fd);
    return st;
}

/* ---- a lone TensorProto (test data files) ------------------------------------- */

keel_status kl_tensor_from_pb(kl_env *env, const void *data, size_t size, const char *file,
                              kl_tensor **out, char **name)
{
    keel_model dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.name = (char *)file;
    load_ctx x = {.m = &dummy, .env = env, .file = file};
    *out = NULL;
    if (name)
        *name = NULL;
    ProtobufCAllocator pa = {pb_alloc, pb_free, env};
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa, size, data);
    if (!tp)
        return env->status == KEEL_ERR_NOMEM ? KEEL_ERR_NOMEM
             : FAIL(&x, KEEL_ERR_FORMAT, "%s: not a TensorProto (protobuf decoding failed)", file);
    keel_status st = decode_tensor(&x, tp, NULL, out);
    if (!st && name && !(*name = kl_strdup(env, tp->name))) {
        kl_tensor_free(env, *out);
        *out = NULL;
        st = KEEL_ERR_NOMEM;
    }
    onnx__tensor_proto__free_unpacked(tp, &pa);
    return st;
}


/* ---- sequences and optional values (test data files) --------------------------- */

/* A SequenceProto's tensors as one sequence value (kl_value_new). */
static keel_status decode_sequence(load_ctx *x, const Onnx__SequenceProto *sp, kl_tensor **out)
{
    const char *name = sp->name ? sp->name : "";
    *out = NULL;
    if (sp->n_sequence_values || sp->n_optional_values || sp->n_sparse_tensor_values ||
        (sp->has_elem_type && sp->elem_type != 1 && sp->elem_type != 0))
        return FAIL(x, KEEL_ERR_UNSUPPORTED, "%s: sequence '%s' holds values that are not tensors (elem_type %d); "
                    "keel holds sequences of tensors", x->file, name, sp->has_elem_type ? sp->elem_type : 0);
    if (sp->n_tensor_values > INT32_MAX)
        return FAIL(x, KEEL_ERR_LIMIT, "%s: sequence '%s' has too many items", x->file, name);
    size_t n = sp->n_tensor_values;
    kl_tensor **items = kl_alloc(x->env, (n ? n : 1) * sizeof *items);
    kl_tensor *flat = kl_alloc(x->env, (n ? n : 1) * sizeof *flat);
    keel_status st = items && flat ? KEEL_OK : KEEL_ERR_NOMEM;
    for (size_t i = 0; i < n && !st; i++) {
        st = decode_tensor(x, sp->tensor_values[i], NULL, &items[i]);
        if (!st && items[i]->dtype != items[0]->dtype)
            st = FAIL(x, KEEL_ERR_INVALID, "%s: sequence '%s' mixes element types: item 0 is %s, item %zu is %s",
                      x->file, name, kl_dtype_name(items[0]->dtype), i, kl_dtype_name(items[i]->dtype));
        if (!st)
            flat[i] = *items[i];
    }
    if (!st) {
        kl_tensor seq = {.dtype = KEEL_SEQUENCE, .rank = 1, .dims = {(int64_t)n}, .data = flat};
        if (!(*out = kl_value_new(x->env, &seq)))
            st = KEEL_ERR_NOMEM;
    }
    for (size_t i = 0; items && i < n; i++)
        kl_tensor_free(x->env, items[i]);
    kl_free(x->env, items, (n ? n : 1) * sizeof *items);
    kl_free(x->env, flat, (n ? n : 1) * sizeof *flat);
    return st;
}

/* An OptionalProto: its tensor or sequence, or KEEL_NONE. */
static keel_status decode_optional(load_ctx *x, const Onnx__OptionalProto *op, kl_tensor **out)
{
    const char *name = op->name ? op->name : "";
    int elem = op->has_elem_type ? op->elem_type : 0;
    *out = NULL;
    if (op->optional_value || elem == 5)
        return FAIL(x, KEEL_ERR_INVALID, "%s: optional '%s' holds an optional; ONNX allows an optional of a "
                    "tensor or of a sequence", x->file, name);
    if (elem == 1 && op->tensor_value)
        return decode_tensor(x, op->tensor_value, NULL, out);
    if (elem == 3 && op->sequence_value)
        return decode_sequence(x, op->sequence_value, out);
    if (elem == 0 && !op->tensor_value && !op->sequence_value && !op->sparse_tensor_value) {
        kl_tensor none = {.dtype = KEEL_NONE};
        return (*out = kl_value_new(x->env, &none)) ? KEEL_OK : KEEL_ERR_NOMEM;
    }
    return FAIL(x, KEEL_ERR_INVALID, "%s: optional '%s' has elem_type %d and %s", x->file, name, elem,
                op->tensor_value ? "a tensor" : op->sequence_value ? "a sequence" : "no value of that kind");
}

keel_status kl_value_from_pb(kl_env *env, const void *data, size_t size, const char *file, int kind,
                             kl_tensor **out, char **name)
{
    if (kind != KEEL_SEQUENCE && kind != KEEL_OPTIONAL)
        return kl_tensor_from_pb(env, data, size, file, out, name);
    if (name)
        *name = NULL;
    keel_model dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.name = (char *)file;
    load_ctx x = {.m = &dummy, .env = env, .file = file};
    *out = NULL;
    keel_status st = check_nesting(&x, data, size,
                                   kind == KEEL_SEQUENCE ? &onnx__sequence_proto__descriptor
                                                         : &onnx__optional_proto__descriptor);
    if (st)
        return st;
    ProtobufCAllocator pa = {pb_alloc, pb_free, env};
    const char *what = kind == KEEL_SEQUENCE ? "SequenceProto" : "OptionalProto";
    ProtobufCMessage *msg = kind == KEEL_SEQUENCE
                                ? (ProtobufCMessage *)onnx__sequence_proto__unpack(&pa, size, data)
                                : (ProtobufCMessage *)onnx__optional_proto__unpack(&pa, size, data);
    if (!msg)
        return env->status == KEEL_ERR_NOMEM ? KEEL_ERR_NOMEM
             : FAIL(&x, KEEL_ERR_FORMAT, "%s: not a %s (protobuf decoding failed)", file, what);
    st = kind == KEEL_SEQUENCE ? decode_sequence(&x, (Onnx__SequenceProto *)msg, out)
                               : decode_optional(&x, (Onnx__OptionalProto *)msg, out);
    protobuf_c_message_free_unpacked(msg, &pa);
    return st;
}

/* t as a TensorProto message whose pointers borrow t's (raw data, or for
 * strings a string_data array release_message frees). */
static bool tensor_message(kl_env *env, const kl_tensor *t, const char *name, Onnx__TensorProto *tp)
{
    onnx__tensor_proto__init(tp);
    tp->n_dims = (size_t)t->rank;
    tp->dims = (int64_t *)t->dims;
    tp->has_data_type = 1;
    tp->data_type = t->dtype;
    tp->name = (char *)name;
    if (t->dtype != KEEL_STRING) {
        tp->has_raw_data = 1;
        tp->raw_data.len = kl_nbytes(t);
        tp->raw_data.data = t->data;
        return true;
    }
    size_t n = (size_t)kl_numel(t);
    tp->n_string_data = n;
    if (!(tp->string_data = kl_alloc(env, (n ? n : 1) * sizeof *tp->string_data)))
        return false;
    for (size_t i = 0; i < n; i++) {
        char *str = ((char **)t->data)[i];
        tp->string_data[i].data = (uint8_t *)str;
        tp->string_data[i].len = strlen(str);
    }
    return true;
}

static void release_message(kl_env *env, Onnx__TensorProto *tp)
{
    if (tp->string_data)
        kl_free(env, tp->string_data, (tp->n_string_data ? tp->n_string_data : 1) * sizeof *tp->string_data);
}

keel_status kl_value_to_pb(kl_env *env, const kl_tensor *t, const char *name, void *buf, size_t cap, size_t *size)
{
    keel_status st = KEEL_OK;
    if (t->dtype == KEEL_NONE) {
        Onnx__OptionalProto op = ONNX__OPTIONAL_PROTO__INIT;
        op.name = (char *)name;
        op.has_elem_type = 1;
        op.elem_type = 0;
        *size = onnx__optional_proto__get_packed_size(&op);
        if (buf && cap >= *size)
            onnx__optional_proto__pack(&op, buf);
    } else if (t->dtype != KEEL_SEQUENCE) {
        Onnx__TensorProto tp;
        if (!tensor_message(env, t, name, &tp))
            return KEEL_ERR_NOMEM;
        *size = onnx__tensor_proto__get_packed_size(&tp);
        if (buf && cap >= *size)
            onnx__tensor_proto__pack(&tp, buf);
        release_message(env, &tp);
    } else {
        size_t n = (size_t)t->dims[0];
        const kl_tensor *items = t->data;
        Onnx__SequenceProto sp = ONNX__SEQUENCE_PROTO__INIT;
        Onnx__TensorProto *msgs = kl_alloc(env, (n ? n : 1) * sizeof *msgs);
        Onnx__TensorProto **ptrs = kl_alloc(env, (n ? n : 1) * sizeof *ptrs);
        size_t made = 0;
        if (!msgs || !ptrs)
            st = KEEL_ERR_NOMEM;
        for (; !st && made < n; made++) {
            if (!tensor_message(env, &items[made], NULL, &msgs[made]))
                st = KEEL_ERR_NOMEM;
            ptrs[made] = &msgs[made];
        }
        if (!st) {
            sp.name = (char *)name;
            sp.has_elem_type = 1;
            sp.elem_type = 1;
            sp.n_tensor_values = n;
            sp.tensor_values = ptrs;
            *size = onnx__sequence_proto__get_packed_size(&sp);
            if (buf && cap >= *size)
                onnx__sequence_proto__pack(&sp, buf);
        }
        for (size_t i = 0; msgs && i < made; i++)
            release_message(env, &msgs[i]);
        kl_free(env, msgs, (n ? n : 1) * sizeof *msgs);
        kl_free(env, ptrs, (n ? n : 1) * sizeof *ptrs);
    }
    if (!st && buf && cap < *size)
        st = KEEL_ERR_LIMIT;
    return st;
}
