/* loader.h -- ONNX protobuf files into keel's graph (see kl.h for the
 * entry points kl_load_file and kl_load_buffer). */
#ifndef KL_LOADER_H
#define KL_LOADER_H
#include "kl.h"
#endif
