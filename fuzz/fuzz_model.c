/* fuzz_model.c -- libFuzzer harness: bytes -> load -> session -> one run.
 *
 * Limits keep hostile sizes from turning into out-of-memory reports: the
 * library must refuse them with KEEL_ERR_LIMIT instead; a time limit stops
 * Loops that never end (KEEL_ERR_CANCELLED) before libFuzzer's timeout
 * calls them a hang.  Inputs are zeros of the planned shapes.  Built and
 * run by scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_once(keel_session *s)
{
    int n_in = keel_session_input_count(s), n_out = keel_session_output_count(s);
    keel_tensor *in = calloc((size_t)n_in + 1, sizeof *in), *out = calloc((size_t)n_out + 1, sizeof *out);
    for (int k = 0; k < n_in; k++) {
        keel_session_input_info(s, k, &in[k]);
        in[k].data = calloc(1, keel_tensor_bytes(&in[k]) + 1);
    }
    for (int k = 0; k < n_out; k++) {
        keel_session_output_info(s, k, &out[k]);
        out[k].data = calloc(1, keel_tensor_bytes(&out[k]) + 1);
    }
    keel_session_run(s, in, out);
    for (int k = 0; k < n_in; k++)
        free(in[k].data);
    for (int k = 0; k < n_out; k++)
        free(out[k].data);
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
        run_once(s);
    keel_session_free(s);
    keel_model_free(m);
    return 0;
}
