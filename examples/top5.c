/* top5.c -- load a model, fill its input, run it, print the top-5 outputs.
 *
 *   cc top5.c $(pkg-config --cflags --libs keel) -o top5
 *   ./top5 model.onnx [input.raw]
 *
 * input.raw, if given, holds the input's float32 values (native order);
 * otherwise the input is a smooth synthetic pattern. */
#include <keel.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [INPUT.raw]\n", argv[0]);
        return 2;
    }
    char err[512];
    keel_model *model;
    keel_session *session;
    if (keel_model_load(&model, argv[1], NULL, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (keel_session_create(&session, model, NULL, NULL, 0, NULL, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "%s\n", err);
        keel_model_free(model);
        return 1;
    }
    keel_tensor in, out;
    keel_session_input_info(session, 0, &in);
    keel_session_output_info(session, 0, &out);
    int64_t n_in = keel_tensor_numel(&in), n_out = keel_tensor_numel(&out);
    in.data = malloc(keel_tensor_bytes(&in));
    out.data = malloc(keel_tensor_bytes(&out));
    float *x = in.data, *y = out.data;
    FILE *f = argc > 2 ? fopen(argv[2], "rb") : NULL;
    if (argc > 2 && (!f || fread(x, sizeof *x, (size_t)n_in, f) != (size_t)n_in)) {
        fprintf(stderr, "%s: cannot read %lld floats\n", argv[2], (long long)n_in);
        return 1;
    }
    if (f)
        fclose(f);
    else
        for (int64_t i = 0; i < n_in; i++)
            x[i] = (float)((i % 97) - 48) / 48.0f;
    int rc = 0;
    if (keel_session_run(session, &in, &out) != KEEL_OK) {
        fprintf(stderr, "%s\n", keel_session_errmsg(session));
        rc = 1;
    }
    for (int k = 0; k < 5 && !rc && k < n_out; k++) { /* five passes of a selection */
        int64_t best = -1;
        for (int64_t i = 0; i < n_out; i++)
            if (y[i] == y[i] && (best < 0 || y[i] > y[best]))
                best = i;
        printf("%d. class %lld: %.6f\n", k + 1, (long long)best, y[best]);
        y[best] = 0.0f / 0.0f; /* NaN: skipped from now on */
    }
    free(in.data);
    free(out.data);
    keel_session_free(session);
    keel_model_free(model);
    return rc;
}
