/* winograd_transform.c -- the transforms of ops/kernels/winograd.c:
 * Bt d B of the input tiles, At M A of the products and G g Gt of the
 * filters, for F(4x4, 3x3) and F(2x2, 3x3).  Portable loops that the
 * compiler vectorizes; ops/kernels/x86/winograd_transform_avx2.c builds
 * them again for AVX2. */
#include "kernels.h"

#define MAX_A 6

/* ---- F(4x4, 3x3) ------------------------------------------------------------ */

/* The interpolation points are 0, 1, -1, 2, -1/2 and infinity: in float32
 * they lose about half as much as the textbook 0, +-1, +-2 (measured on
 * random 64-channel tiles: 6.5e-5 against 1.3e-4 max abs error; direct
 * summation 2.7e-5).  G here; Bt and At in BT_6 and AT_6. */
static const double g4[6][3] = {
    {1, 0, 0},
    {-1.0 / 3, -1.0 / 3, -1.0 / 3},
    {1.0 / 3, -1.0 / 3, 1.0 / 3},
    {1.0 / 15, 2.0 / 15, 4.0 / 15},
    {-16.0 / 15, 8.0 / 15, -4.0 / 15},
    {0, 0, 1},
};

/* Bt applied to six values (d0..d5) into t[0..5 * ts] */
#define BT_6(d0, d1, d2, d3, d4, d5, t, ts)                     \
    do {                                                        \
        (t)[0] = d0 + 1.5f * (d1 - d3) - 2.0f * d2 + d4;        \
        (t)[(ts)] = d4 - d1 - 2.5f * d2 - 0.5f * d3;            \
        (t)[2 * (ts)] = d1 + 0.5f * d2 - 2.5f * d3 + d4;        \
        (t)[3 * (ts)] = 0.5f * (d3 - d1) - d2 + d4;             \
        (t)[4 * (ts)] = 2.0f * (d1 - d3) - d2 + d4;             \
        (t)[5 * (ts)] = d1 + 1.5f * (d2 - d4) - 2.0f * d3 + d5; \
    } while (0)

/* At applied to six values (m0..m5) into o[0..3 * os] */
#define AT_6(m0, m1, m2, m3, m4, m5, o, os)                      \
    do {                                                         \
        float a_ = (m1) + (m2), b_ = (m1) - (m2);                \
        (o)[0] = (m0) + a_ + (m3) + (m4);                        \
        (o)[(os)] = b_ + 2.0f * (m3) - 0.5f * (m4);              \
        (o)[2 * (os)] = a_ + 4.0f * (m3) + 0.25f * (m4);         \
        (o)[3 * (os)] = b_ + 8.0f * (m3) - 0.125f * (m4) + (m5); \
    } while (0)

/* Bt down the columns of the six rows, then along each transformed row,
 * tile by tile. */
static void input_row4(const float *restrict rows, float *restrict cols, int64_t width, int64_t tw,
                              float *restrict v, int64_t estride)
{
    const float *r0 = rows, *r1 = r0 + width, *r2 = r1 + width, *r3 = r2 + width, *r4 = r3 + width,
                *r5 = r4 + width;
    for (int64_t x = 0; x < width; x++)
        BT_6(r0[x], r1[x], r2[x], r3[x], r4[x], r5[x], cols + x, width);
    for (int k = 0; k < 6; k++) {
        const float *restrict cr = cols + k * width;
        float *restrict vk = v + 6 * k * estride;
        for (int64_t t = 0; t < tw; t++) {
            const float *d = cr + 4 * t;
            BT_6(d[0], d[1], d[2], d[3], d[4], d[5], vk + t, estride);
        }
    }
}

/* At down each tile's six rows (over all tiles at once), then along them. */
static void output_row4(const float *restrict mm, int64_t estride, int64_t tw, float bias,
                               float *restrict part, float *restrict out)
{
    /* part[(r * 6 + j) * tw + t] = (At M)[r][j] of tile t */
    for (int col = 0; col < 6; col++) {
        const float *e0 = mm + col * estride, *e1 = e0 + 6 * estride, *e2 = e1 + 6 * estride,
                    *e3 = e2 + 6 * estride, *e4 = e3 + 6 * estride, *e5 = e4 + 6 * estride;
        for (int64_t t = 0; t < tw; t++)
            AT_6(e0[t], e1[t], e2[t], e3[t], e4[t], e5[t], part + col * tw + t, 6 * tw);
    }
    for (int r = 0; r < 4; r++) {
        const float *p = part + r * 6 * tw;
        float *restrict o = out + r * tw * 4;
        for (int64_t t = 0; t < tw; t++) {
            float q[4];
            AT_6(p[t], p[tw + t], p[2 * tw + t], p[3 * tw + t], p[4 * tw + t], p[5 * tw + t], q, 1);
            for (int i = 0; i < 4; i++)
                o[4 * t + i] = q[i] + bias;
        }
    }
}

/* ---- F(2x2, 3x3): points 0, 1, -1 and infinity --------------------------- */

static const double g2[4][3] = {
    {1, 0, 0},
    {0.5, 0.5, 0.5},
    {0.5, -0.5, 0.5},
    {0, 0, 1},
};

#define BT_4(d0, d1, d2, d3, t, ts) \
    do {                            \
        (t)[0] = (d0) - (d2);       \
        (t)[(ts)] = (d1) + (d2);    \
        (t)[2 * (ts)] = (d2) - (d1); \
        (t)[3 * (ts)] = (d1) - (d3); \
    } while (0)

#define AT_4(m0, m1, m2, m3, o, os)          \
    do {                                     \
        (o)[0] = (m0) + (m1) + (m2);         \
        (o)[(os)] = (m1) - (m2) - (m3);      \
    } while (0)

static void input_row2(const float *restrict rows, float *restrict cols, int64_t width, int64_t tw,
                              float *restrict v, int64_t estride)
{
    const float *r0 = rows, *r1 = r0 + width, *r2 = r1 + width, *r3 = r2 + width;
    for (int64_t x = 0; x < width; x++)
        BT_4(r0[x], r1[x], r2[x], r3[x], cols + x, width);
    for (int k = 0; k < 4; k++) {
        const float *restrict cr = cols + k * width;
        float *restrict vk = v + 4 * k * estride;
        for (int64_t t = 0; t < tw; t++) {
            const float *d = cr + 2 * t;
            BT_4(d[0], d[1], d[2], d[3], vk + t, estride);
        }
    }
}

static void output_row2(const float *restrict mm, int64_t estride, int64_t tw, float bias,
                               float *restrict part, float *restrict out)
{
    for (int col = 0; col < 4; col++) {
        const float *e0 = mm + col * estride, *e1 = e0 + 4 * estride, *e2 = e1 + 4 * estride,
                    *e3 = e2 + 4 * estride;
        for (int64_t t = 0; t < tw; t++)
            AT_4(e0[t], e1[t], e2[t], e3[t], part + col * tw + t, 4 * tw);
    }
    for (int r = 0; r < 2; r++) {
        const float *p = part + r * 4 * tw;
        float *restrict o = out + r * tw * 2;
        for (int64_t t = 0; t < tw; t++) {
            float q[2];
            AT_4(p[t], p[tw + t], p[2 * tw + t], p[3 * tw + t], q, 1);
            o[2 * t] = q[0] + bias;
            o[2 * t + 1] = q[1] + bias;
        }
    }
}

/* V of one tile row of one channel from t + 2 input rows of `width`. */
void KL_KFN(wino_input)(int t, const float *rows, float *cols, int64_t width, int64_t tw, float *v, int64_t estride)
{
    (t == 4 ? input_row4 : input_row2)(rows, cols, width, tw, v, estride);
}

/* t output rows of `tw * t` from M of one tile row of one channel. */
void KL_KFN(wino_output)(int t, const float *mm, int64_t estride, int64_t tw, float bias, float *part, float *out)
{
    (t == 4 ? output_row4 : output_row2)(mm, estride, tw, bias, part, out);
}

/* ---- filters ---------------------------------------------------------------- */

/* Filters transformed side by side, one per lane: a session's filter
 * transforms (a million 3x3 filters in ResNet-50) were a third of its
 * creation time one filter at a time. */
#define FILTER_LANES 8

/* U [a*a][rows][c] into u for filters [m0, m0 + rows) of w: U = G f Gt,
 * in double, over FILTER_LANES input channels at once */
void KL_KFN(wino_filters)(const kl_conv_geom *g, int tile, const float *w, int64_t m0, int64_t rows, float *u)
{
    const int a = tile + 2;
    const double(*gm)[3] = tile == 4 ? g4 : g2;
    for (int64_t m = 0; m < rows; m++) {
        const float *wm = w + (size_t)(m0 + m) * (size_t)g->c * 9;
        for (int64_t c0 = 0; c0 < g->c; c0 += FILTER_LANES) {
            const int n = g->c - c0 < FILTER_LANES ? (int)(g->c - c0) : FILTER_LANES;
            double f[9][FILTER_LANES] = {{0}}, t[MAX_A][3][FILTER_LANES], r[MAX_A * MAX_A][FILTER_LANES];
            for (int l = 0; l < n; l++)
                for (int i = 0; i < 9; i++)
                    f[i][l] = wm[(c0 + l) * 9 + i];
            for (int i = 0; i < a; i++) /* t = G f: a x 3 */
                for (int col = 0; col < 3; col++)
                    for (int l = 0; l < FILTER_LANES; l++)
                        t[i][col][l] = gm[i][0] * f[col][l] + gm[i][1] * f[3 + col][l] + gm[i][2] * f[6 + col][l];
            for (int row = 0; row < a; row++) /* r = t Gt: a x a */
                for (int i = 0; i < a; i++)
                    for (int l = 0; l < FILTER_LANES; l++)
                        r[row * a + i][l] = gm[i][0] * t[row][0][l] + gm[i][1] * t[row][1][l] + gm[i][2] * t[row][2][l];
            for (int e = 0; e < a * a; e++)
                for (int l = 0; l < n; l++)
                    u[(e * rows + m) * g->c + c0 + l] = (float)r[e][l];
        }
    }
}

