/*
 * keel.h -- the public interface of keel, an ONNX model loader and executor.
 *
 * The whole library is used through this one header.  Every symbol starts
 * with `keel_`; every handle is opaque.
 *
 * Life cycle
 *   keel_model_load()      parse an .onnx file into a model (weights decoded once)
 *   keel_session_create()  infer shapes, plan memory, prepare kernels
 *   keel_session_run()     run, at any input shape the model allows; allocates
 *                          nothing on the way at shapes already planned
 *                          (unless shapes depend on the data)
 *   keel_session_free(), keel_model_free()
 *
 * Errors
 *   Every function that can fail returns a keel_status.  KEEL_OK is 0.
 *   Constructors (keel_model_load*, keel_session_create) write the message
 *   into a caller's buffer; a session keeps the message of its last failed
 *   run, read with keel_session_errmsg().  The library never prints, never
 *   exits and never aborts on bad input.
 *
 * Threads
 *   The library has no global mutable state.  Distinct handles may be used
 *   from distinct threads freely.  Several sessions may be created from one
 *   keel_model and run at the same time in different threads: they share
 *   the model's weights, packed once for all of them (under a lock the
 *   model holds).  One keel_session runs from one thread at a time.
 */
#ifndef KEEL_H
#define KEEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KEEL_API __attribute__((visibility("default")))
#else
#define KEEL_API
#endif

#define KEEL_VERSION_MAJOR 0
#define KEEL_VERSION_MINOR 1
#define KEEL_VERSION_PATCH 0
#define KEEL_VERSION_STRING "0.1.0"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH". */
KEEL_API const char *keel_version(void);

/* ---- status codes ----------------------------------------------------- */
typedef enum keel_status {
    KEEL_OK = 0,
    KEEL_ERR_IO = 1,          /* a file could not be opened or read */
    KEEL_ERR_FORMAT = 2,      /* not a valid ONNX protobuf */
    KEEL_ERR_INVALID = 3,     /* a well-formed file describing an invalid model */
    KEEL_ERR_UNSUPPORTED = 4, /* valid, but uses something keel does not implement */
    KEEL_ERR_NOMEM = 5,       /* the allocator returned NULL */
    KEEL_ERR_SHAPE = 6,       /* shapes or types do not fit an operator */
    KEEL_ERR_ARGUMENT = 7,    /* a caller passed a bad argument */
    KEEL_ERR_RUNTIME = 8,     /* a kernel found bad data while running */
    KEEL_ERR_LIMIT = 9,       /* a size limit was exceeded */
    KEEL_ERR_CANCELLED = 10   /* stopped by keel_session_cancel() or by
                                 keel_options.time_limit_ms */
} keel_status;

/* A short constant description of a status code, e.g. "out of memory". */
KEEL_API const char *keel_status_string(keel_status status);

/* ---- element types (ONNX TensorProto.DataType numbering) -------------- */
typedef enum keel_dtype {
    KEEL_UNDEFINED = 0,
    KEEL_FLOAT = 1,
    KEEL_UINT8 = 2,
    KEEL_INT8 = 3,
    KEEL_UINT16 = 4,
    KEEL_INT16 = 5,
    KEEL_INT32 = 6,
    KEEL_INT64 = 7,
    KEEL_STRING = 8,
    KEEL_BOOL = 9,
    KEEL_FLOAT16 = 10,
    KEEL_DOUBLE = 11,
    KEEL_UINT32 = 12,
    KEEL_UINT64 = 13,
    KEEL_BFLOAT16 = 16,   /* the top half of a float32's bits */
    /* Values that are not dense tensors, which a keel_tensor also carries (see
     * "Strings, sequences and optional values" below): */
    KEEL_SEQUENCE = 100,  /* a sequence of tensors */
    KEEL_NONE = 101,      /* an optional value that holds nothing */
    KEEL_OPTIONAL = 102   /* only in a declaration (keel_model_input_info):
                             an optional value, passed as its element or
                             as KEEL_NONE */
} keel_dtype;

/* Name of an element type ("float", "int64", "string", "sequence", ...),
 * "?" if unknown. */
KEEL_API const char *keel_dtype_name(int dtype);
/* Bytes per element: for KEEL_STRING a pointer, for KEEL_SEQUENCE a
 * keel_tensor; 0 for KEEL_NONE and unknown types. */
KEEL_API size_t keel_dtype_size(int dtype);

#define KEEL_MAX_RANK 8

/* Nesting limits.  A graph attribute (If's branches, Loop's and Scan's
 * bodies) holds a subgraph one level below its node's graph.  keel loads,
 * plans and runs models whose subgraphs nest up to KEEL_MAX_NESTING levels
 * below the main graph, and whose protobuf messages nest up to
 * KEEL_MAX_MESSAGE_DEPTH levels below the ModelProto (each subgraph level
 * takes three: NodeProto, AttributeProto, GraphProto).  Deeper files are
 * refused with KEEL_ERR_LIMIT before they are decoded.  Within these
 * limits loading, session creation and runs fit in a 256 KiB thread stack
 * (docs/robustness.md). */
#define KEEL_MAX_NESTING 32
#define KEEL_MAX_MESSAGE_DEPTH 128

/* ---- allocation ------------------------------------------------------- */
/* Every byte keel allocates goes through these three functions.  `alloc`
 * returns memory aligned to at least 64 bytes or NULL; `free` accepts
 * NULL.  `size` is passed to free so that counting allocators need no
 * header of their own. */
typedef struct keel_allocator {
    void *(*alloc)(void *user, size_t size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} keel_allocator;

/* ---- logging ---------------------------------------------------------- */
/* The library never prints.  Notes worth a caller's attention (a symbolic
 * dim planned as 1 for lack of a value, nodes planned at run time, a
 * declared output shape the inferred one contradicts) go to this callback
 * when one is set, with the session's or model's name in the message. */
typedef enum keel_log_level { KEEL_LOG_INFO = 0, KEEL_LOG_WARNING = 1 } keel_log_level;
typedef void (*keel_log_fn)(void *user, keel_log_level level, const char *message);

/* ---- options ---------------------------------------------------------- */
/* Instruction sets of keel's hand-written kernels (convolutions, their
 * products, depthwise), lowest to highest.  A session uses the highest
 * the CPU runs, or keel_options.isa where that is lower. */
typedef enum keel_isa {
    KEEL_ISA_AUTO = 0,     /* the best this CPU runs */
    KEEL_ISA_GENERIC = 1,  /* portable C (and OpenBLAS) only */
    KEEL_ISA_AVX2 = 2,     /* x86-64 AVX2 and FMA */
    KEEL_ISA_AVX512 = 3    /* x86-64 AVX-512F */
} keel_isa;

/* The instruction set keel's kernels would use on this CPU for `wanted`
 * (KEEL_ISA_AUTO: the best it runs), and its name ("avx512"). */
KEEL_API keel_isa keel_isa_available(keel_isa wanted);
KEEL_API const char *keel_isa_name(keel_isa isa);

typedef struct keel_options {
    const keel_allocator *allocator; /* NULL: the C library's */
    int threads;                      /* 0: one thread.  keel's own threads;
                                         see "OpenBLAS" below */
    int optimize;                     /* 0 off, 1 on (default 1 via keel_options_init) */
    uint64_t max_model_bytes;         /* 0: default limit (4 GiB) */
    uint64_t max_tensor_bytes;        /* 0: default limit (4 GiB) */
    uint64_t max_arena_bytes;         /* 0: default limit (16 GiB) */
    keel_log_fn log;                  /* NULL: notes are dropped */
    void *log_user;                   /* passed to log */
    int isa;                          /* keel_isa: the highest the kernels may
                                         use; 0 (KEEL_ISA_AUTO): the CPU's best */
    uint64_t time_limit_ms;           /* 0: none.  Creating a session, and each
                                         run, stops with KEEL_ERR_CANCELLED
                                         once it has taken this long */
    const char *passes_off;           /* NULL, or the names of passes to skip,
                                         separated by commas ("fuse_pad,slices");
                                         see keel_pass_name */
    int max_plans;                    /* 0: 8.  Plans a session keeps, one per
                                         set of input shapes it met, most
                                         recently used first */
    int reference;                    /* 0: the fast path.  1: the reference
                                         path, to check the fast one against:
                                         portable kernels (isa is
                                         KEEL_ISA_GENERIC), no rewrites
                                         (optimize 0), and Conv, ConvTranspose,
                                         Gemm, MatMul and the reductions
                                         accumulate in double.  Slow */
} keel_options;

/* The passes a session's creation runs over its graph, in order: name of
 * pass k, NULL past the last.  Those that keel_options.passes_off may turn
 * off: fuse_batchnorm, fuse_norm, fuse_softmax, fuse_pad, fuse_bias,
 * fuse_residual, fuse_gelu, fuse_gated, fuse_activation, drop_unread and
 * blocked_layout (the rewrites, all off with optimize = 0), views, slices
 * and in_place
 * (the planner's sharing of storage).  The others (fold, schedule, lifetimes, arena,
 * prepare) always run. */
KEEL_API const char *keel_pass_name(int k);

/* OpenBLAS: keel calls OpenBLAS for some matrix products, splitting the
 * work over its own `threads` itself, and never changes OpenBLAS's
 * process-wide thread count.  OpenBLAS would otherwise start threads of
 * its own inside each of keel's: an embedder that leaves OpenBLAS to keel
 * sets it to one thread once (openblas_set_num_threads(1), or
 * OPENBLAS_NUM_THREADS=1 in the environment), as the keel command does. */

/* Fill `opt` with the defaults.  Always call it before setting fields. */
KEEL_API void keel_options_init(keel_options *opt);

/* ---- models ----------------------------------------------------------- */
typedef struct keel_model keel_model;
typedef struct keel_session keel_session;

/* Load a model from a file.  On success *out owns the model; free it with
 * keel_model_free().  On failure *out is NULL, and if `err` is not NULL a
 * message naming the file and what is wrong is written to it (at most
 * err_size bytes, always terminated).  `opt` may be NULL.
 * Convolution filters (of 16 KiB or more, read by Conv nodes alone) are
 * released once sessions have packed them, and read back from the file
 * when a plan needs them again (a shape or instruction set asking for
 * another packing): the model keeps the file open, and such a plan fails
 * with KEEL_ERR_IO if the file has changed since the load. */
KEEL_API keel_status keel_model_load(keel_model **out, const char *path,
                                     const keel_options *opt,
                                     char *err, size_t err_size);

/* Load a model from a caller's buffer.  The bytes are decoded; keel keeps
 * no pointer into `data` after returning.  `base_dir` is the folder that
 * external-data locations are relative to; NULL refuses external data.
 * (From either function, a location may not hold '..' nor pass through a
 * symbolic link, and must name a regular file.)
 * `name` is used in messages (NULL: "<memory>"). */
KEEL_API keel_status keel_model_load_buffer(keel_model **out, const void *data,
                                            size_t size, const char *base_dir,
                                            const char *name,
                                            const keel_options *opt,
                                            char *err, size_t err_size);

KEEL_API void keel_model_free(keel_model *model);

/* What the file says about the model ("" where it says nothing): the
 * producer and its version, the model's domain, version and doc string,
 * and the IR version.  The strings live as long as the model. */
typedef struct keel_model_about {
    const char *producer_name, *producer_version;
    const char *domain;
    const char *doc_string;
    int64_t model_version;
    int64_t ir_version;
} keel_model_about;
KEEL_API void keel_model_describe(const keel_model *model, keel_model_about *about);

/* The file's metadata_props: returns how many key/value pairs it holds;
 * for 0 <= i < that count, *key and *value (each may be NULL) get pair i
 * (strings that live as long as the model), else NULL. */
KEEL_API int keel_model_metadata(const keel_model *model, int i, const char **key, const char **value);

/* ---- tensors ---------------------------------------------------------- */
/* A dense tensor: element type, shape and a pointer to row-major data.
 * keel_tensor is a plain struct, owned by whoever declared it; `data` is
 * owned as each function documents. */
typedef struct keel_tensor {
    int dtype;                    /* keel_dtype */
    int rank;
    int64_t dims[KEEL_MAX_RANK];
    void *data;
} keel_tensor;

/* Strings, sequences and optional values travel in a keel_tensor too:
 *   KEEL_STRING    a tensor of strings: `data` is an array of numel
 *                  `char *`, each a NUL-terminated byte string (UTF-8 in
 *                  ONNX's text ops; a NUL ends a string).
 *   KEEL_SEQUENCE  rank 1, dims[0] items; `data` is an array of dims[0]
 *                  keel_tensor, each a tensor (strings included; items of
 *                  one sequence share one dtype).  Sequences do not nest.
 *   KEEL_NONE      an optional value holding nothing: rank 0, data NULL.
 *                  An optional value that holds something is passed and
 *                  received as that tensor or sequence.
 * Inputs of these kinds are read during keel_session_run and not kept:
 * the caller owns every string, item and array.  Outputs of these kinds
 * must be received with data = NULL: keel points them at the session's
 * own value (strings and items included), valid until the next run or
 * keel_session_free.  keel_tensor_decode and keel_value_decode give a
 * value that is one allocation (its arrays, items and strings inside it),
 * freed whole by keel_tensor_release. */

/* Number of elements (1 for rank 0) and of bytes (of the array `data`
 * points at, for strings and sequences). */
KEEL_API int64_t keel_tensor_numel(const keel_tensor *t);
KEEL_API size_t keel_tensor_bytes(const keel_tensor *t);

/* Serialized ONNX TensorProto, the form of ONNX's test data
 * (test_data_set_0/input_0.pb).  keel_tensor_decode fills *out, its data
 * allocated with `allocator` (NULL: keel's own); free it with
 * keel_tensor_release and the same allocator.  `name`, if not NULL, gets
 * the tensor's name (cut to name_size bytes); `file` names the bytes in
 * messages.  keel_tensor_encode sets *size to the bytes t (raw data)
 * named `name` takes and writes them into buf; with buf NULL it only sets
 * *size, and when cap is smaller it returns KEEL_ERR_LIMIT. */
KEEL_API keel_status keel_tensor_decode(keel_tensor *out, const void *data, size_t size,
                                        const char *file, const keel_allocator *allocator,
                                        char *name, size_t name_size,
                                        char *err, size_t err_size);
KEEL_API keel_status keel_tensor_encode(const keel_tensor *t, const char *name, void *buf,
                                        size_t cap, size_t *size);
KEEL_API void keel_tensor_release(keel_tensor *t, const keel_allocator *allocator);
/* keel_tensor_decode for a value of any kind: `kind` KEEL_SEQUENCE reads
 * a serialized SequenceProto, KEEL_OPTIONAL an OptionalProto (giving its
 * element, or KEEL_NONE), anything else a TensorProto.  keel_value_encode
 * writes the proto of t's kind (KEEL_NONE: an empty OptionalProto). */
KEEL_API keel_status keel_value_decode(keel_tensor *out, int kind, const void *data, size_t size,
                                       const char *file, const keel_allocator *allocator,
                                       char *err, size_t err_size);
KEEL_API keel_status keel_value_encode(const keel_tensor *t, const char *name, void *buf,
                                       size_t cap, size_t *size);

/* ---- sessions --------------------------------------------------------- */
/* A value for a symbolic dimension name, e.g. {"N", 4}. */
typedef struct keel_dim_binding {
    const char *name;
    int64_t value;
} keel_dim_binding;

/* The model's runtime inputs and outputs as declared in the file: name,
 * element type, and dims (-1 where symbolic or unknown).  `symbolic`, if
 * not NULL, receives the dims' symbolic names (NULL where none); the
 * strings live as long as the model. */
KEEL_API int keel_model_input_count(const keel_model *m);
KEEL_API int keel_model_output_count(const keel_model *m);
KEEL_API const char *keel_model_input_name(const keel_model *m, int i);
KEEL_API const char *keel_model_output_name(const keel_model *m, int i);
KEEL_API keel_status keel_model_input_info(const keel_model *m, int i, keel_tensor *info,
                                           const char **symbolic);
KEEL_API keel_status keel_model_output_info(const keel_model *m, int i, keel_tensor *info,
                                            const char **symbolic);

/* Creates a session, which runs the model on inputs of any shape the
 * model's declared dims allow (see keel_session_run).  What is given here
 * is planned ahead (shapes inferred, constants folded, one arena planned,
 * kernels prepared), so the first run at those shapes plans nothing:
 *   dims, n_dims      values for symbolic dimension names (may be NULL, 0);
 *   input_shapes      NULL, or keel_model_input_count() entries giving the
 *                     exact shape of each input (an entry whose dtype is 0
 *                     is not given).  When an entry's data is not NULL and
 *                     it is a small (at most 64 elements) int64, int32 or
 *                     bool tensor, its value is bound too: what depends on
 *                     it is computed ahead, for runs passing that value.
 *                     Other entries' data is ignored.
 * When these leave a dim of some input unknown, nothing is planned ahead
 * (the operators are still checked).  The model must outlive the session.
 * On failure *out is NULL and the message, naming the node, op or tensor
 * at fault, is written to `err` (may be NULL). */
KEEL_API keel_status keel_session_create(keel_session **out, const keel_model *model,
                                         const keel_options *opt,
                                         const keel_dim_binding *dims, int n_dims,
                                         const keel_tensor *input_shapes,
                                         char *err, size_t err_size);

KEEL_API void keel_session_free(keel_session *s);

/* The message of the last failed call on this session ("" if none). */
KEEL_API const char *keel_session_errmsg(const keel_session *s);

/* Inputs and outputs of the session, with the shapes of the last run (or
 * of the plan made at creation; before either, the declared ones, -1 for
 * dims not known).  The returned tensors' `data` is NULL.  Names stay
 * valid for the session's life. */
KEEL_API int keel_session_input_count(const keel_session *s);
KEEL_API int keel_session_output_count(const keel_session *s);
KEEL_API const char *keel_session_input_name(const keel_session *s, int i);
KEEL_API const char *keel_session_output_name(const keel_session *s, int i);
KEEL_API keel_status keel_session_input_info(const keel_session *s, int i, keel_tensor *info);
/* The index of the input or output called `name` (for keel_session_run's
 * arrays), or -1. */
KEEL_API int keel_session_input_index(const keel_session *s, const char *name);
KEEL_API int keel_session_output_index(const keel_session *s, const char *name);
KEEL_API keel_status keel_session_output_info(const keel_session *s, int i, keel_tensor *info);

/* Runs the model once.  inputs[i] is the i-th graph input, of the model's
 * dtype and of any shape its declared dims allow: fixed dims must match,
 * symbolic and unknown ones are free, and dims sharing a symbolic name
 * take one value.  keel reads the inputs and does not keep them.
 * outputs[i] receives the i-th output; keel fills dtype, rank and dims.
 * Either its `data` points to a caller buffer of keel_tensor_bytes(that
 * output) bytes (keel_session_output_info tells them once the shapes are
 * planned), which keel fills; or it is NULL, and keel points it at the
 * session's own copy, valid until the next run or keel_session_free.
 *
 * Shapes: the first run at input shapes the session has no plan for
 * plans them (infers, folds, plans memory; weights are packed once per
 * model, not per plan).  The session keeps keel_options.max_plans plans,
 * most recently used first, so runs alternating between shapes plan each
 * once.  Every plan uses one arena, as large as the largest kept.
 *
 * Data-dependent shapes: when a value's shape depends on data (NonZero, or
 * a Reshape whose shape is a graph input given without data at creation),
 * that node and everything downstream are inferred and given buffers at
 * each run (buffers are kept and reused, so runs with stable shapes stop
 * allocating after the first).  Such outputs report rank -1 in
 * keel_session_output_info until a run, and must be received with data =
 * NULL. */
KEEL_API keel_status keel_session_run(keel_session *s, const keel_tensor *inputs,
                                      keel_tensor *outputs);

/* Watching every value of a run.  keel_session_run_watched runs like
 * keel_session_run and calls `watch` once for each value as it comes to
 * exist: first the graph inputs, then the values computed ahead at
 * planning (outputs of nodes whose inputs are all constant), then each
 * node's outputs right after that node ran, in the order nodes run.
 * Nodes merged by a rewrite report only the value they leave (a Conv
 * with its Relu fused reports the Relu's output); a session made with
 * optimize = 0 reports every node's outputs.  `value` is valid during the
 * call only.  A watch returning anything but KEEL_OK stops the run with
 * that status. */
typedef struct keel_value_event {
    const char *value;       /* the value's name */
    const char *node;        /* the node that produced it ("" for a graph input) */
    const char *op_type;     /* that node's op type ("" for a graph input) */
    int node_index;          /* that node's position in the model's graph, -1 for an input */
    int output_index;        /* which output of that node it is (0 for an input) */
    int order;               /* 0, 1, 2 ... over the calls of this run */
    const char *step_node;   /* the node whose kernel computed it: `node`, unless a
                                rewrite merged nodes (a Relu fused into its Conv:
                                the Conv); "" for a graph input */
    const char *step_op_type;
} keel_value_event;
typedef keel_status (*keel_watch_fn)(void *user, const keel_value_event *event,
                                     const keel_tensor *value);
KEEL_API keel_status keel_session_run_watched(keel_session *s, const keel_tensor *inputs,
                                              keel_tensor *outputs, keel_watch_fn watch,
                                              void *user);

/* What a session has done: runs, plans made (the creation's included)
 * and kept, the time the newest plan took to make, and its arena. */
typedef struct keel_session_stats {
    int64_t runs;
    int64_t plans_made;
    int plans_kept;
    double last_plan_ms;
    size_t arena_bytes;
} keel_session_stats;
KEEL_API void keel_session_get_stats(const keel_session *s, keel_session_stats *stats);

/* Stops the run of `s` in progress, or else its next run: that run
 * returns KEEL_ERR_CANCELLED soon after (between nodes, between the
 * iterations of Loop and Scan, and inside long kernels).  Safe to call
 * from any thread, also while another thread is inside keel_session_run;
 * the session stays usable, and the run after the cancelled one runs
 * normally.  keel_options.time_limit_ms stops runs the same way. */
KEEL_API void keel_session_cancel(keel_session *s);

/* ---- custom operators -------------------------------------------------- */
/* An embedder's operator, used by sessions exactly like a built-in one (and
 * in preference to a built-in of the same domain, type and opset).
 *
 * infer() runs at session creation: read the inputs' dtype and dims (an
 * input's data is not NULL only when it is a constant) and the node's
 * attributes, and set every output's dtype, rank and dims.  run() computes
 * the outputs' data from the inputs' data; output buffers are keel's, sized
 * from what infer() said.  Both return KEEL_OK or fail through
 * keel_op_fail().  Neither may keep pointers after returning.  run() may be
 * called from any thread, but never concurrently for one session. */
typedef struct keel_op_context keel_op_context;
typedef keel_status (*keel_op_fn)(keel_op_context *ctx, void *user);

typedef struct keel_custom_op {
    const char *domain;          /* "" or "ai.onnx" for the default domain */
    const char *type;            /* the node's op_type */
    int since_version;           /* opset range of `domain` it implements */
    int until_version;           /* inclusive; 0 = no upper bound */
    keel_op_fn infer, run;
    void *user;                  /* passed back to infer and run */
} keel_custom_op;

/* Adds op to the model (the strings are copied).  Call it before the first
 * session is created from the model. */
KEEL_API keel_status keel_model_add_op(keel_model *model, const keel_custom_op *op);

KEEL_API int keel_op_input_count(const keel_op_context *c);
KEEL_API int keel_op_output_count(const keel_op_context *c);
/* Input i (NULL when the node omits it) and output i; valid during the call. */
KEEL_API const keel_tensor *keel_op_input(const keel_op_context *c, int i);
KEEL_API keel_tensor *keel_op_output(keel_op_context *c, int i);
/* The node's attributes, with defaults when absent. */
KEEL_API int64_t keel_op_attr_int(const keel_op_context *c, const char *name, int64_t dflt);
KEEL_API float keel_op_attr_float(const keel_op_context *c, const char *name, float dflt);
KEEL_API const char *keel_op_attr_string(const keel_op_context *c, const char *name, const char *dflt);
/* Records an error naming the node and returns `status`. */
KEEL_API keel_status keel_op_fail(keel_op_context *c, keel_status status, const char *message);

#ifdef __cplusplus
}
#endif
#endif /* KEEL_H */
