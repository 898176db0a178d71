/* kl.h -- transitional: base.h, graph.h and model.h together. */
#ifndef KL_H
#define KL_H
#include "base.h"
#include "graph.h"
#include "model.h"
#include "../onnx/loader.h"
#endif
