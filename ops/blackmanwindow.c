/* blackmanwindow.c -- BlackmanWindow: 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N). */
#include "drivers/window.h"

KL_WINDOW_OPFILE(blackmanwindow, "BlackmanWindow", 0.42, -0.5, 0.08)
