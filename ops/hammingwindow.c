/* hammingwindow.c -- HammingWindow: 25/46 - 21/46 cos(2 pi n / N). */
#include "drivers/window.h"

KL_WINDOW_OPFILE(hammingwindow, "HammingWindow", 25.0 / 46.0, -21.0 / 46.0, 0.0)
