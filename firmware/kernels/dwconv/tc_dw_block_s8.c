/*
 * tc_dw_block_s8: one output pixel, channels [c, c + count), depth multiplier 1; the
 * building block of both depthwise kernels (private to firmware/kernels/dwconv, see
 * tc_dwconv_block.h). Inner loops per ISA:
 *
 * Portable C: the reference arithmetic, channel by channel.
 *
 * Armv7E-M (Cortex-M4/M7/M33...): four channels per 32-bit word.
 *
 * One load brings the int8 values of 4 adjacent channels of a tap; __sxtb16 widens lanes
 * 0 and 2 to two int16 halves, __sxtb16 of the word rotated by 8 widens lanes 1 and 3.
 * The input offset is added to both halves at once (__sadd16; |x + offset| <= 255, no
 * saturation), and __smlabb / __smlatt multiply-accumulate the bottom / top halves into
 * one int32 accumulator per channel. Integer arithmetic is exact, so the result equals
 * the reference sum in any order.
 *
 * Helium (Cortex-M55/M85): up to 16 channels of one pixel.
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
#include "tc_nn_simd.h"

#if TC_ISA_DSP

#include <string.h>

/* Kept on libc memcpy: under -ffreestanding this is an out-of-line call per word, where
 * tc_read_s32 (tc_nn_simd.h) is one LDR. Switching is a speed-up of its own, left out of
 * the one-scheme refactor so that it changed no instruction count. */
static inline int32_t read_s8x4(const int8_t *p)
{
    int32_t word;
    memcpy(&word, p, sizeof(word)); /* unaligned word load */
    return word;
}

typedef struct {
    int32_t acc0, acc1, acc2, acc3;
} acc4;

static inline void mac4(acc4 *a, const int8_t *in, const int8_t *f, int32_t offset2)
{
    const int32_t x = read_s8x4(in);
    const int32_t w = read_s8x4(f);
    const int32_t x02 = __sadd16(__sxtb16(x), offset2);
    const int32_t x13 = __sadd16(tc_sxtb16_odd(x), offset2);
    const int32_t w02 = __sxtb16(w);
    const int32_t w13 = tc_sxtb16_odd(w);
    a->acc0 = __smlabb(x02, w02, a->acc0);
    a->acc2 = __smlatt(x02, w02, a->acc2);
    a->acc1 = __smlabb(x13, w13, a->acc1);
    a->acc3 = __smlatt(x13, w13, a->acc3);
}

static inline int8_t finish(const tc_dw_geometry *g, int32_t ch, int32_t acc)
{
    if (g->bias != NULL) {
        acc += g->bias[ch];
    }
    acc = tc_add_wrap(tc_requantize(acc, g->multiplier[ch], g->shift[ch]), g->output_offset);
    return (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
}

#elif TC_ISA_MVE

static inline mve_pred16_t lanes_from(int32_t count, int32_t first)
{
    const int32_t n = count - first;
    return vctp32q((uint32_t)(n > 0 ? n : 0));
}

#endif

void tc_dw_block_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_x, int32_t c,
                    int32_t count, int8_t *dst)
{
#if TC_ISA_DSP
    const int32_t channels = g->channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);

    if (count < 4) {
        /* Channel tail: scalar, as the reference. */
        for (int32_t j = 0; j < count; ++j) {
            const int32_t ch = c + j;
            int32_t acc = 0;
            for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                const int8_t *in_row =
                    g->input + (base_y + ky * g->dil_h) * g->in_w * channels + ch;
                const int8_t *f_row = g->filter + ky * g->k_w * channels + ch;
                for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                    acc += (in_row[(base_x + kx * g->dil_w) * channels] + g->input_offset) *
                           f_row[kx * channels];
                }
            }
            dst[j] = finish(g, ch, acc);
        }
        return;
    }

    const int32_t offset2 = (int32_t)(((uint32_t)(uint16_t)g->input_offset << 16) |
                                      (uint16_t)g->input_offset);
    acc4 a = {0, 0, 0, 0};
    const int32_t row_stride = g->in_w * channels;
    const int8_t *in_c = g->input + c;
    const int8_t *f_c = g->filter + c;

    if (g->k_h == 3 && g->k_w == 3 && g->dil_h == 1 && g->dil_w == 1 && ky_begin == 0 &&
        ky_end == 3 && kx_begin == 0 && kx_end == 3) {
        /* 3x3 window fully inside the image: the common MobileNet case, unrolled. */
        const int8_t *in0 = in_c + base_y * row_stride + base_x * channels;
        const int8_t *in1 = in0 + row_stride;
        const int8_t *in2 = in1 + row_stride;
        const int8_t *f0 = f_c;
        const int8_t *f1 = f0 + 3 * channels;
        const int8_t *f2 = f1 + 3 * channels;
        mac4(&a, in0, f0, offset2);
        mac4(&a, in0 + channels, f0 + channels, offset2);
        mac4(&a, in0 + 2 * channels, f0 + 2 * channels, offset2);
        mac4(&a, in1, f1, offset2);
        mac4(&a, in1 + channels, f1 + channels, offset2);
        mac4(&a, in1 + 2 * channels, f1 + 2 * channels, offset2);
        mac4(&a, in2, f2, offset2);
        mac4(&a, in2 + channels, f2 + channels, offset2);
        mac4(&a, in2 + 2 * channels, f2 + 2 * channels, offset2);
    } else {
        const int32_t in_x_step = g->dil_w * channels;
        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
            const int8_t *in = in_c + (base_y + ky * g->dil_h) * row_stride +
                               (base_x + kx_begin * g->dil_w) * channels;
            const int8_t *f = f_c + (ky * g->k_w + kx_begin) * channels;
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                mac4(&a, in, f, offset2);
                in += in_x_step;
                f += channels;
            }
        }
    }
    dst[0] = finish(g, c, a.acc0);
    dst[1] = finish(g, c + 1, a.acc1);
    dst[2] = finish(g, c + 2, a.acc2);
    dst[3] = finish(g, c + 3, a.acc3);
#elif TC_ISA_MVE
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
        acc = tc_add_wrap(tc_requantize(acc, g->multiplier[ch], g->shift[ch]), g->output_offset);
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
#else
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);

    for (int32_t j = 0; j < count; ++j) {
        const int32_t ch = c + j;
        int32_t acc = 0;
        for (int32_t ky = tc_dw_first_tap(base_y, g->dil_h); ky < ky_end; ++ky) {
            const int32_t in_y = base_y + ky * g->dil_h;
            const int8_t *in_row = g->input + in_y * g->in_w * g->channels + ch;
            const int8_t *f_row = g->filter + ky * g->k_w * g->channels + ch;
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                const int32_t in_x = base_x + kx * g->dil_w;
                acc += (in_row[in_x * g->channels] + g->input_offset) * f_row[kx * g->channels];
            }
        }
        if (g->bias != NULL) {
            acc += g->bias[ch];
        }
        acc = tc_add_wrap(tc_requantize(acc, g->multiplier[ch], g->shift[ch]), g->output_offset);
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
#endif
}
