/* model.h -- a loaded model (struct keel_model): its metadata, opset
 * imports, graph and the embedder's operators. */
#ifndef KL_MODEL_H
#define KL_MODEL_H

#include <pthread.h>

#include "graph.h"

typedef struct kl_shared_entry kl_shared_entry;

/* A weight of the main graph that only Conv nodes read (as their filters)
 * in a model loaded from a file: its bytes are released while no plan
 * holds them (plans hold them while packing them, or to run on them) and
 * read back from the file when a plan needs them again. */
typedef struct kl_weight {
    int value;            /* the initializer's value id */
    uint64_t offset;      /* where its bytes are in the file */
    size_t bytes;
    void *data;           /* NULL while released */
    int holds;            /* plans holding the bytes */
} kl_weight;

typedef struct kl_opset {
    char *domain;         /* "" for ai.onnx */
    int64_t version;
} kl_opset;

struct keel_model {
    kl_env env;
    char *name;           /* the path or "<memory>", for messages */
    char *dir;            /* folder for external data, NULL if none */
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc;
    int64_t model_version;
    int n_opsets;
    kl_opset *opsets;
    kl_graph *graph;
    int n_custom;
    struct kl_op **custom;   /* keel_model_add_op's operators (runtime/custom.c) */
    int n_metadata;          /* the file's metadata_props */
    char **meta_keys, **meta_values;
    /* what its sessions share (runtime/shared.c), guarded by shared_lock */
    pthread_mutex_t shared_lock;
    int n_shared, cap_shared;
    kl_shared_entry *shared;
    int n_weights;
    kl_weight *weights;      /* the initializers (init->data NULL) whose bytes are here */
    int weights_fd;          /* the file, to read weights back (-1: none) */
    int64_t file_size;       /* and what it was at load, to see it changed */
    int64_t file_mtime_ns;
};

keel_status kl_shared_init(keel_model *m);
void kl_shared_free(keel_model *m);

/* The model's own operator for (domain, type, opset), or NULL. */
const struct kl_op *kl_custom_find(const keel_model *m, const char *domain, const char *type, int opset);
void kl_custom_free(keel_model *m);

/* Returns the opset version the model imports for `domain` (0 if none). */
int64_t kl_model_opset(const keel_model *m, const char *domain);

#endif /* KL_MODEL_H */
