/*
 * tc_dw_block_s8 for Helium (Cortex-M55/M85): up to 16 channels of one pixel.
 *
 * The 16 channels live in four int32x4 accumulators. Each tap loads 4 x 4 int8 input and
 * filter values widened to int32 (VLDRB.S32), adds the input offset and accumulates the
 * lane-wise products (MVE has no non-reducing vector multiply-accumulate, so VMUL + VADD).
 * Lanes past `count` are predicated off: their loads touch no memory and read as 0.
 * Requantization stays scalar: TFLite's rounding (ties away from zero in the doubling
 * high multiply) is not what VQRDMULH computes, and it costs one step per output against
 * KH * KW multiply-accumulates.
 */
#include "tc_dwconv_block.h"

#if defined(TC_DW_MVE)

#include <arm_mve.h>

#include "tc_nn_support.h"

static inline mve_pred16_t lanes_from(int32_t count, int32_t first)
{
    const int32_t n = count - first;
    return vctp32q((uint32_t)(n > 0 ? n : 0));
}

void tc_dw_block_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_x, int32_t c,
                    int32_t count, int8_t *dst)
{
    const int32_t channels = g->channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);
    const mve_pred16_t p0 = lanes_from(count, 0);
    const mve_pred16_t p1 = lanes_from(count, 4);
    const mve_pred16_t p2 = lanes_from(count, 8);
    const mve_pred16_t p3 = lanes_from(count, 12);
    const int32_t offset = g->input_offset;

    int32x4_t acc0 = vdupq_n_s32(0);
    int32x4_t acc1 = vdupq_n_s32(0);
    int32x4_t acc2 = vdupq_n_s32(0);
    int32x4_t acc3 = vdupq_n_s32(0);

    const int32_t row_stride = g->in_w * channels;
    const int32_t in_x_step = g->dil_w * channels;
    for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
        const int8_t *in = g->input + c + (base_y + ky * g->dil_h) * row_stride +
                           (base_x + kx_begin * g->dil_w) * channels;
        const int8_t *f = g->filter + c + (ky * g->k_w + kx_begin) * channels;
        for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
            acc0 = vaddq_s32(acc0, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in, p0), offset),
                                             vldrbq_z_s32(f, p0)));
            acc1 = vaddq_s32(acc1, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 4, p1), offset),
                                             vldrbq_z_s32(f + 4, p1)));
            acc2 = vaddq_s32(acc2, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 8, p2), offset),
                                             vldrbq_z_s32(f + 8, p2)));
            acc3 = vaddq_s32(acc3, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 12, p3), offset),
                                             vldrbq_z_s32(f + 12, p3)));
            in += in_x_step;
            f += channels;
        }
    }

    int32_t sums[16];
    vst1q_s32(sums, acc0);
    vst1q_s32(sums + 4, acc1);
    vst1q_s32(sums + 8, acc2);
    vst1q_s32(sums + 12, acc3);
    for (int32_t j = 0; j < count; ++j) {
        const int32_t ch = c + j;
        int32_t acc = sums[j];
        if (g->bias != NULL) {
            acc += g->bias[ch];
        }
        acc = tc_requantize(acc, g->multiplier[ch], g->shift[ch]) + g->output_offset;
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
}

#else
typedef int tc_dw_block_mve_unused;
#endif
