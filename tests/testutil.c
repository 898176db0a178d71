/* testutil.c */
#include "testutil.h"
