/* testutil.h -- building small ONNX models in C for the tests. */
#ifndef KEEL_TESTUTIL_H
#define KEEL_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>
#endif
