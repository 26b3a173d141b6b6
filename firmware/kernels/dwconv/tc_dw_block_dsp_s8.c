/*
 * tc_dw_block_s8 for Armv7E-M (Cortex-M4/M7/M33...): four channels per 32-bit word.
 *
 * One load brings the int8 values of 4 adjacent channels of a tap; __sxtb16 widens lanes
 * 0 and 2 to two int16 halves, __sxtb16 of the word rotated by 8 widens lanes 1 and 3.
 * The input offset is added to both halves at once (__sadd16; |x + offset| <= 255, no
 * saturation), and __smlabb / __smlatt multiply-accumulate the bottom / top halves into
 * one int32 accumulator per channel. Integer arithmetic is exact, so the result equals
 * the reference sum in any order.
 */
#include "tc_dwconv_block.h"

#if defined(TC_DW_DSP)

#include <arm_acle.h>
#include <string.h>

#include "tc_nn_support.h"

static inline int32_t read_s8x4(const int8_t *p)
{
    int32_t word;
    memcpy(&word, p, sizeof(word)); /* unaligned word load */
    return word;
}

/* Lanes 1 and 3 sign-extended to int16: SXTB16 with its rotate (no ACLE intrinsic). */
static inline int32_t sxtb16_ror8(int32_t x)
{
    int32_t result;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(x));
    return result;
}

typedef struct {
    int32_t acc0, acc1, acc2, acc3;
} acc4;

static inline void mac4(acc4 *a, const int8_t *in, const int8_t *f, int32_t offset2)
{
    const int32_t x = read_s8x4(in);
    const int32_t w = read_s8x4(f);
    const int32_t x02 = __sadd16(__sxtb16(x), offset2);
    const int32_t x13 = __sadd16(sxtb16_ror8(x), offset2);
    const int32_t w02 = __sxtb16(w);
    const int32_t w13 = sxtb16_ror8(w);
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
    acc = tc_requantize(acc, g->multiplier[ch], g->shift[ch]) + g->output_offset;
    return (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
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
}

#else
typedef int tc_dw_block_dsp_unused;
#endif
