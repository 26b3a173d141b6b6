/*
 * tc_max_min_s8: MAXIMUM / MINIMUM on int8 with NumPy broadcasting (TFLite
 * maximum_minimum.cc, reference_ops::MaximumMinimumBroadcastSlow): the stored integers
 * are compared as they are, whatever their quantization, as LiteRT does.
 * Helium: sixteen lanes per VMAX/VMIN (a repeated operand is a VDUP).
 * Armv7E-M DSP: four lanes per SSUB8 + SEL (SSUB8 sets GE per byte where a >= b).
 * In place: each pass loads its inputs before it stores the same output positions.
 */
#include "tc_math_broadcast.h"
#include "tc_nn_simd.h"

#if TC_ISA_DSP
/* Per byte: max (is_max) or min of two words of four int8. */
static inline uint32_t tc_max_min_s8x4(uint32_t a, uint32_t b, int is_max)
{
    (void)__ssub8(a, b); /* GE where a >= b */
    return is_max ? __sel(a, b) : __sel(b, a);
}
#endif

/* One run: sa/sb are 1 (the input advances) or 0 (its value repeats). */
static inline void tc_max_min_run_s8(const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                                     int8_t *o, int32_t len, int is_max)
{
    int32_t j = 0;
#if TC_ISA_MVE
    const int8x16_t ra = vdupq_n_s8(a[0]), rb = vdupq_n_s8(b[0]);
    for (; j < len; j += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(len - j));
        const int8x16_t x = sa ? vldrbq_z_s8(a + j, p) : ra;
        const int8x16_t y = sb ? vldrbq_z_s8(b + j, p) : rb;
        vstrbq_p_s8(o + j, is_max ? vmaxq_s8(x, y) : vminq_s8(x, y), p);
    }
    return;
#elif TC_ISA_DSP
    const uint32_t ra = (uint32_t)(uint8_t)a[0] * 0x01010101u;
    const uint32_t rb = (uint32_t)(uint8_t)b[0] * 0x01010101u;
    for (; j + 4 <= len; j += 4) {
        const uint32_t x = sa ? (uint32_t)tc_read_s32(a + j) : ra;
        const uint32_t y = sb ? (uint32_t)tc_read_s32(b + j) : rb;
        tc_write_s32(o + j, (int32_t)tc_max_min_s8x4(x, y, is_max));
    }
#endif
    for (; j < len; ++j) {
        const int8_t x = a[j * sa], y = b[j * sb];
        o[j] = is_max ? (x > y ? x : y) : (x < y ? x : y);
    }
}

static void tc_max_row_s8(const void *params, const void *const *in, const int32_t *step,
                          void *out, int32_t len)
{
    (void)params;
    tc_max_min_run_s8((const int8_t *)in[0], step[0], (const int8_t *)in[1], step[1],
                      (int8_t *)out, len, 1);
}

static void tc_min_row_s8(const void *params, const void *const *in, const int32_t *step,
                          void *out, int32_t len)
{
    (void)params;
    tc_max_min_run_s8((const int8_t *)in[0], step[0], (const int8_t *)in[1], step[1],
                      (int8_t *)out, len, 0);
}

tc_status tc_max_min_s8(const tc_max_min_params *params, const tc_nd_dims *input1_dims,
                        const int8_t *input1, const tc_nd_dims *input2_dims,
                        const int8_t *input2, const tc_nd_dims *output_dims, int8_t *output)
{
    if (params == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    if (params->is_max) {
        return tc_bc_walk2(params, tc_max_row_s8, input1_dims, input1, input2_dims, input2, 1,
                           output_dims, output, 1);
    }
    return tc_bc_walk2(params, tc_min_row_s8, input1_dims, input1, input2_dims, input2, 1,
                       output_dims, output, 1);
}
