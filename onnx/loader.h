/* loader.h -- ONNX protobuf bytes into a keel_model and its graph. */
#ifndef KL_LOADER_H
#define KL_LOADER_H

#include "../runtime/model.h"

/* Fill m (its env and name set) from a file or from bytes: checks the
 * wire format's nesting before decoding, then builds the graph. */
keel_status kl_load_file(keel_model *m, const char *path);
keel_status kl_load_buffer(keel_model *m, const void *data, size_t size);
/* Decodes a serialized TensorProto; *out (and *name, if asked) are owned by
 * the caller. */
keel_status kl_tensor_from_pb(kl_env *env, const void *data, size_t size, const char *file,
                              kl_tensor **out, char **name);
/* A serialized value of any kind (keel_value_decode): a SequenceProto for
 * kind KEEL_SEQUENCE, an OptionalProto for KEEL_OPTIONAL, else a
 * TensorProto (kl_tensor_from_pb, *name its name when asked; NULL for the
 * others); *out is owned by the caller. */
keel_status kl_value_from_pb(kl_env *env, const void *data, size_t size, const char *file, int kind,
                             kl_tensor **out, char **name);
/* t as its proto named `name`: a TensorProto (raw data; strings in
 * string_data), a SequenceProto, or for KEEL_NONE an empty OptionalProto.
 * Into buf when its cap bytes suffice; the bytes it takes into *size
 * (KEEL_ERR_LIMIT if cap is short). */
keel_status kl_value_to_pb(kl_env *env, const kl_tensor *t, const char *name, void *buf, size_t cap, size_t *size);

#endif
