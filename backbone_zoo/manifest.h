/* manifest.h -- the backbone zoo's manifest (backbone_zoo/zoo.yaml), read
 * with libyaml.  Used by `keel zoo`. */
#ifndef KEEL_ZOO_MANIFEST_H
#define KEEL_ZOO_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zoo_entry {
    char name[64];
    char family[96];
    char source[160];        /* "torchvision:resnet50" or "file:darknet19.py:Darknet19" */
    char reference[32];      /* what outputs are validated against */
    char options[160];       /* the exporter's options as "key=value key=value" */
    int rank;
    int64_t input[8];        /* the input shape PyTorch is fed */
    int opset;
    bool constant_folding;
    int64_t params;          /* published parameter count */
    double params_tolerance; /* relative */
    double rtol, atol;
    int line;                /* where the entry starts in the file */
} zoo_entry;

typedef struct zoo_manifest {
    zoo_entry *entries;
    int n;
} zoo_manifest;

/* Reads `path`.  On failure returns -1 with "FILE:LINE:COLUMN: what" in err. */
int zoo_manifest_load(const char *path, zoo_manifest *m, char *err, size_t err_size);
/* Same, from a string (for tests); `name` is used in messages. */
int zoo_manifest_parse(const char *text, size_t len, const char *name, zoo_manifest *m,
                       char *err, size_t err_size);
void zoo_manifest_free(zoo_manifest *m);
/* The entry called `name`, or NULL. */
const zoo_entry *zoo_manifest_find(const zoo_manifest *m, const char *name);

#endif
