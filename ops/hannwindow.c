/* hannwindow.c -- HannWindow: 0.5 - 0.5 cos(2 pi n / N). */
#include "drivers/window.h"

KL_WINDOW_OPFILE(hannwindow, "HannWindow", 0.5, -0.5, 0.0)
