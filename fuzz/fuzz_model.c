/* fuzz_model.c -- libFuzzer harness: bytes -> load -> session -> one run.
 *
 * Limits keep hostile sizes from turning into out-of-memory reports: the
 * library must refuse them with KEEL_ERR_LIMIT instead; a time limit stops
 * Loops that never end (KEEL_ERR_CANCELLED) before libFuzzer's timeout
 * calls them a hang.  Inputs are zeros of the planned shapes; a sequence
 * input gets two float vectors, a string one two strings, an optional one
 * nothing.  The bytes also go to the decoders of sequence and optional
 * test data.  Built and run by scripts/fuzz.sh. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static float zeros[4];
static keel_tensor items[2] = {{KEEL_FLOAT, 1, {2}, zeros}, {KEEL_FLOAT, 1, {2}, zeros + 2}};
static const char *words[2] = {"a", ""};

/* Input k of s: zeros of its planned shape, or a value of its kind. */
static void make_input(keel_session *s, const keel_model *m, int k, keel_tensor *t)
{
    keel_tensor decl;
    keel_session_input_info(s, k, t);
    if (keel_model_input_info(m, k, &decl, NULL) != KEEL_OK)
        decl.dtype = 0;
    if (decl.dtype == KEEL_SEQUENCE)
        *t = (keel_tensor){KEEL_SEQUENCE, 1, {2}, items};
    else if (decl.dtype == KEEL_OPTIONAL)
        *t = (keel_tensor){KEEL_NONE, 0, {0}, NULL};
    else if (decl.dtype == KEEL_STRING)
        *t = (keel_tensor){KEEL_STRING, 1, {2}, (void *)words};
    else
        t->data = calloc(1, keel_tensor_bytes(t) + 1);
}

static bool owned(const keel_tensor *t)
{
    return t->dtype != KEEL_SEQUENCE && t->dtype != KEEL_NONE && t->dtype != KEEL_STRING;
}

static void run_once(keel_session *s, const keel_model *m)
{
    int n_in = keel_session_input_count(s), n_out = keel_session_output_count(s);
    keel_tensor *in = calloc((size_t)n_in + 1, sizeof *in), *out = calloc((size_t)n_out + 1, sizeof *out);
    for (int k = 0; k < n_in; k++)
        make_input(s, m, k, &in[k]);
    void **mine = calloc((size_t)n_out + 1, sizeof *mine);
    for (int k = 0; k < n_out; k++) { /* caller buffers, or NULL: lent */
        keel_session_output_info(s, k, &out[k]);
        out[k].data = mine[k] = out[k].rank >= 0 && owned(&out[k]) ? calloc(1, keel_tensor_bytes(&out[k]) + 1) : NULL;
    }
    keel_session_run(s, in, out);
    for (int k = 0; k < n_in; k++)
        if (owned(&in[k]))
            free(in[k].data);
    for (int k = 0; k < n_out; k++)
        free(mine[k]);
    free(mine);
    free(in);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keel_options opt;
    keel_options_init(&opt);
    opt.max_model_bytes = 8u << 20;
    opt.max_tensor_bytes = 16u << 20;
    opt.max_arena_bytes = 64u << 20;
    opt.time_limit_ms = 2000;
    keel_model *m = NULL;
    keel_session *s = NULL;
    char err[256];
    if (keel_model_load_buffer(&m, data, size, NULL, "fuzz.onnx", &opt, err, sizeof err) == KEEL_OK &&
        keel_session_create(&s, m, &opt, NULL, 0, NULL, err, sizeof err) == KEEL_OK)
        run_once(s, m);
    keel_session_free(s);
    keel_model_free(m);
    const int kinds[3] = {KEEL_SEQUENCE, KEEL_OPTIONAL, KEEL_STRING};
    for (int k = 0; k < 3; k++) {
        keel_tensor v;
        if (keel_value_decode(&v, kinds[k], data, size, "fuzz.pb", NULL, err, sizeof err) == KEEL_OK) {
            size_t len = 0;
            keel_value_encode(&v, "v", NULL, 0, &len);
            keel_tensor_release(&v, NULL);
        }
    }
    return 0;
}
