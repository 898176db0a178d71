/* custom_op.c -- register an operator of your own and run a model using it.
 *
 *   cc custom_op.c $(pkg-config --cflags --libs keel) -o custom_op
 *   ./custom_op model.onnx
 *
 * Adds "com.example.Swish" (y = x * sigmoid(beta * x)), a float op with
 * one input and a `beta` attribute, then runs the model on a ramp input
 * and prints the first outputs. */
#include <keel.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static keel_status swish_infer(keel_op_context *c, void *user)
{
    (void)user;
    const keel_tensor *x = keel_op_input(c, 0);
    if (keel_op_input_count(c) != 1 || !x || x->dtype != KEEL_FLOAT)
        return keel_op_fail(c, KEEL_ERR_SHAPE, "Swish takes one float input");
    keel_tensor *y = keel_op_output(c, 0);
    *y = *x;          /* same type and shape */
    y->data = NULL;
    return KEEL_OK;
}

static keel_status swish_run(keel_op_context *c, void *user)
{
    (void)user;
    const keel_tensor *x = keel_op_input(c, 0);
    keel_tensor *y = keel_op_output(c, 0);
    float beta = keel_op_attr_float(c, "beta", 1.0f);
    const float *xv = x->data;
    float *yv = y->data;
    for (int64_t i = 0; i < keel_tensor_numel(x); i++)
        yv[i] = xv[i] / (1.0f + expf(-beta * xv[i]));
    return KEEL_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    char err[512];
    keel_model *model;
    keel_session *session;
    if (keel_model_load(&model, argv[1], NULL, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    keel_custom_op swish = {"com.example", "Swish", 1, 0, swish_infer, swish_run, NULL};
    if (keel_model_add_op(model, &swish) != KEEL_OK ||
        keel_session_create(&session, model, NULL, NULL, 0, NULL, err, sizeof err) != KEEL_OK) {
        fprintf(stderr, "%s\n", err);
        keel_model_free(model);
        return 1;
    }
    keel_tensor in, out;
    keel_session_input_info(session, 0, &in);
    keel_session_output_info(session, 0, &out);
    in.data = malloc(keel_tensor_bytes(&in));
    out.data = malloc(keel_tensor_bytes(&out));
    for (int64_t i = 0; i < keel_tensor_numel(&in); i++)
        ((float *)in.data)[i] = (float)i / 4.0f - 2.0f;
    int rc = keel_session_run(session, &in, &out) == KEEL_OK ? 0 : 1;
    if (rc)
        fprintf(stderr, "%s\n", keel_session_errmsg(session));
    for (int64_t i = 0; !rc && i < keel_tensor_numel(&out) && i < 8; i++)
        printf("y[%lld] = %.6f\n", (long long)i, ((float *)out.data)[i]);
    free(in.data);
    free(out.data);
    keel_session_free(session);
    keel_model_free(model);
    return rc;
}
