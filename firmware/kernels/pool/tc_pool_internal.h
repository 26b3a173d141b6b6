/*
 * Private to firmware/kernels/pool: AVERAGE_POOL_2D and MAX_POOL_2D, one body each for
 * int8 and int16 (`size` 1 or 2, a constant in each caller, so every branch on it folds
 * away), TFLite's reference_integer_ops::AveragePool / MaxPool:
 *
 * - average: the int32 sum of the window clipped to the image, divided by the clipped
 *   element count with rounding half away from zero
 *     avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count
 *   (C division truncates toward zero), then clamped to the activation range. Input and
 *   output share scale and zero point, so there is no rescaling. (int16: the lowering
 *   checks that count * 2^15 fits in int32.)
 * - max: the maximum over the clipped window (starting from the type's minimum; padding
 *   never takes part), then clamped to the activation range.
 *
 * The window sums and maxima are exact in any order, so the SIMD paths give the same
 * bytes as the per-channel reference loops:
 * - DSP, 4 channels a pass: int8 sums add bytes into 16-bit halves (SXTAB16; exact while
 *   the window has at most 256 elements), int16 sums read two words and add each low
 *   halfword (SXTAH) and high halfword (ASR #16) into int32 sums; maxima by SSUB8 / SSUB16
 *   (per-lane flags) and SEL.
 * - Helium: sums of 16 channels a pass in four int32x4 vectors (widening VLDRB / VLDRH);
 *   maxima of 16 int8 or 8 int16 channels per vector (VMAX).
 * The SIMD helpers are not inlined: in a function of their own their loops keep their
 * values in registers (GCC still specializes them for the one `size` a file uses).
 */
#ifndef TC_POOL_INTERNAL_H
#define TC_POOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tc_nn_dwconv_pool.h"
#include "tc_pool_window.h"

/* The walk both pools share: every output pixel's clipped window, its first element `in`
 * (channel 0), handed to `pixel` with the output pixel `out`. */
typedef tc_status (*tc_pool_pixel_fn)(const tc_pool_params *params, const uint8_t *in,
                                      tc_pool_window win, int32_t row_stride,
                                      int32_t channels, uint8_t *out);

static inline tc_status tc_pool_walk(const tc_pool_params *params, const tc_dims *input_dims,
                                     const void *input, const tc_dims *filter_dims,
                                     const tc_dims *output_dims, void *output, size_t size,
                                     tc_pool_pixel_fn pixel)
{
    if (tc_pool_check(params, input_dims, filter_dims, output_dims) != TC_OK) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t channels = input_dims->c;
    const int32_t row_stride = input_dims->w * channels; /* elements */
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const uint8_t *image =
            (const uint8_t *)input + (size_t)b * input_dims->h * row_stride * size;
        for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
            for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                const tc_pool_window win =
                    tc_pool_clip(params, input_dims, filter_dims, out_y, out_x);
                const uint8_t *in =
                    image + ((size_t)win.y * row_stride + (size_t)win.x * channels) * size;
                if (pixel(params, in, win, row_stride, channels, out) != TC_OK) {
                    TC_RETURN_ARG_ERROR();
                }
                out += (size_t)channels * size;
            }
        }
    }
    return TC_OK;
}

/* -- AVERAGE_POOL_2D ---------------------------------------------------------------------- */

static inline int32_t tc_pool_average(int32_t sum, int32_t count, tc_activation act)
{
    const int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return TC_CLAMP(avg, act.min, act.max);
}

/* Window sum of channel c; `in` is the window's first element, channel 0. */
static inline int32_t tc_pool_sum_reference(const void *in, tc_pool_window win,
                                            int32_t row_stride, int32_t channels, int32_t c,
                                            size_t size)
{
    int32_t sum = 0;
    for (int32_t y = 0; y < win.rows; ++y) {
        for (int32_t x = 0; x < win.cols; ++x) {
            sum += tc_load_sized(in, y * row_stride + x * channels + c, size);
        }
    }
    return sum;
}

#if TC_ISA_DSP
/* 4 int8 channels: __sxtab16 adds bytes 0,2 (and, shifted, 1,3) into 16-bit halves. */
static __attribute__((noinline, unused)) void
tc_pool_sum4_s8_dsp(const int8_t *in, tc_pool_window win, int32_t row_stride, int32_t channels,
                    int32_t *sums)
{
    int32_t even = 0; /* halves: channel 0 (bottom), channel 2 (top) */
    int32_t odd = 0;  /* halves: channel 1, channel 3 */
    for (int32_t y = 0; y < win.rows; ++y) {
        const int8_t *p = in + y * row_stride;
        for (int32_t x = 0; x < win.cols; ++x) {
            const uint32_t word = (uint32_t)tc_read_s32(p);
            even = __sxtab16(even, (int32_t)word);
            odd = __sxtab16(odd, (int32_t)(word >> 8));
            p += channels;
        }
    }
    sums[0] = (int16_t)(even & 0xFFFF);
    sums[1] = (int16_t)(odd & 0xFFFF);
    sums[2] = (int16_t)((uint32_t)even >> 16);
    sums[3] = (int16_t)((uint32_t)odd >> 16);
}

/* 4 int16 channels: two words an element, each low halfword added sign-extended (SXTAH),
 * each high one by an ADD with ASR #16. */
static __attribute__((noinline, unused)) void
tc_pool_sum4_s16_dsp(const int16_t *in, tc_pool_window win, int32_t row_stride,
                     int32_t channels, int32_t *sums)
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int32_t y = 0; y < win.rows; ++y) {
        const int16_t *p = in + y * row_stride;
        for (int32_t x = 0; x < win.cols; ++x) {
            const int32_t w01 = tc_read_s32(p), w23 = tc_read_s32(p + 2);
            s0 += (int16_t)w01;
            s1 += w01 >> 16;
            s2 += (int16_t)w23;
            s3 += w23 >> 16;
            p += channels;
        }
    }
    sums[0] = s0;
    sums[1] = s1;
    sums[2] = s2;
    sums[3] = s3;
}
#endif

#if TC_ISA_MVE
static inline mve_pred16_t tc_pool_lanes_from(int32_t n, int32_t first)
{
    const int32_t left = n - first;
    return vctp32q((uint32_t)(left > 0 ? left : 0));
}

static inline int32x4_t tc_pool_load_x4(const uint8_t *p, mve_pred16_t pred, size_t size)
{
    return size == 1 ? vldrbq_z_s32((const int8_t *)p, pred)
                     : vldrhq_z_s32((const int16_t *)p, pred);
}

/* Up to 16 channels in four int32x4 sums; lanes past n are predicated off. */
static __attribute__((noinline, unused)) void
tc_pool_sum16_mve(const uint8_t *in, tc_pool_window win, int32_t row_stride, int32_t channels,
                  int32_t n, int32_t *sums, size_t size)
{
    const mve_pred16_t p0 = tc_pool_lanes_from(n, 0), p1 = tc_pool_lanes_from(n, 4);
    const mve_pred16_t p2 = tc_pool_lanes_from(n, 8), p3 = tc_pool_lanes_from(n, 12);
    int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
    int32x4_t s2 = vdupq_n_s32(0), s3 = vdupq_n_s32(0);
    for (int32_t y = 0; y < win.rows; ++y) {
        const uint8_t *p = in + (size_t)y * row_stride * size;
        for (int32_t x = 0; x < win.cols; ++x) {
            s0 = vaddq_s32(s0, tc_pool_load_x4(p, p0, size));
            s1 = vaddq_s32(s1, tc_pool_load_x4(p + 4 * size, p1, size));
            s2 = vaddq_s32(s2, tc_pool_load_x4(p + 8 * size, p2, size));
            s3 = vaddq_s32(s3, tc_pool_load_x4(p + 12 * size, p3, size));
            p += (size_t)channels * size;
        }
    }
    vst1q_s32(sums, s0);
    vst1q_s32(sums + 4, s1);
    vst1q_s32(sums + 8, s2);
    vst1q_s32(sums + 12, s3);
}
#endif

/* One output pixel of AVERAGE_POOL_2D. */
static inline tc_status tc_avgpool_pixel(const tc_pool_params *params, const uint8_t *in,
                                         tc_pool_window win, int32_t row_stride,
                                         int32_t channels, uint8_t *out, size_t size)
{
    const int32_t count = win.rows * win.cols;
    if (count == 0) {
        TC_RETURN_ARG_ERROR(); /* TFLite fails here too: nothing to average */
    }
    const tc_activation act = params->activation;
    int32_t c = 0;
#if TC_ISA_MVE
    for (; c < channels; c += 16) {
        int32_t sums[16];
        const int32_t n = TC_MIN(16, channels - c);
        tc_pool_sum16_mve(in + (size_t)c * size, win, row_stride, channels, n, sums, size);
        for (int32_t j = 0; j < n; ++j) {
            tc_store_sized(out, c + j, tc_pool_average(sums[j], count, act), size);
        }
    }
#elif TC_ISA_DSP
    if (size == 2 || count <= 256) {
        for (; c + 4 <= channels; c += 4) {
            int32_t sums[4];
            if (size == 1) {
                tc_pool_sum4_s8_dsp((const int8_t *)in + c, win, row_stride, channels, sums);
            } else {
                tc_pool_sum4_s16_dsp((const int16_t *)in + c, win, row_stride, channels, sums);
            }
            for (int32_t j = 0; j < 4; ++j) {
                tc_store_sized(out, c + j, tc_pool_average(sums[j], count, act), size);
            }
        }
    }
#endif
    for (; c < channels; ++c) {
        const int32_t sum = tc_pool_sum_reference(in, win, row_stride, channels, c, size);
        tc_store_sized(out, c, tc_pool_average(sum, count, act), size);
    }
    return TC_OK;
}

/* -- MAX_POOL_2D -------------------------------------------------------------------------- */

static inline int32_t tc_pool_max_reference(const void *in, tc_pool_window win,
                                            int32_t row_stride, int32_t channels, int32_t c,
                                            tc_activation act, size_t size)
{
    int32_t best = size == 1 ? INT8_MIN : INT16_MIN;
    for (int32_t y = 0; y < win.rows; ++y) {
        for (int32_t x = 0; x < win.cols; ++x) {
            best = TC_MAX(best, tc_load_sized(in, y * row_stride + x * channels + c, size));
        }
    }
    return TC_CLAMP(best, act.min, act.max);
}

#if TC_ISA_DSP
/* Per-lane signed maximum of four int8 (SSUB8) or two int16 (SSUB16) lanes. One asm block:
 * SEL reads the GE flags the subtraction just set. */
static inline uint32_t tc_pool_max_lanes(uint32_t a, uint32_t b, size_t size)
{
    uint32_t result;
    if (size == 1) {
        __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(result) : "r"(a), "r"(b) : "cc");
    } else {
        __asm__("ssub16 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(result) : "r"(a), "r"(b) : "cc");
    }
    return result;
}

/* 4 channels: one word of int8 or two words of int16 an element. */
static __attribute__((noinline, unused)) void
tc_pool_max4_dsp(const uint8_t *in, tc_pool_window win, int32_t row_stride, int32_t channels,
                 tc_activation act, uint8_t *out, size_t size)
{
    const uint32_t lowest = size == 1 ? 0x80808080u : 0x80008000u;
    uint32_t best0 = lowest, best1 = lowest;
    for (int32_t y = 0; y < win.rows; ++y) {
        const uint8_t *p = in + (size_t)y * row_stride * size;
        for (int32_t x = 0; x < win.cols; ++x) {
            best0 = tc_pool_max_lanes(best0, (uint32_t)tc_read_s32(p), size);
            if (size == 2) {
                best1 = tc_pool_max_lanes(best1, (uint32_t)tc_read_s32(p + 4), size);
            }
            p += (size_t)channels * size;
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t v = size == 1 ? (int8_t)(best0 >> (8 * j))
                                    : (int16_t)((j < 2 ? best0 : best1) >> (16 * (j & 1)));
        tc_store_sized(out, j, TC_CLAMP(v, act.min, act.max), size);
    }
}
#endif

#if TC_ISA_MVE
/* Up to 16 int8 or 8 int16 channels; lanes past n are neither loaded nor stored. */
static __attribute__((noinline, unused)) void
tc_pool_max_mve(const uint8_t *in, tc_pool_window win, int32_t row_stride, int32_t channels,
                int32_t n, tc_activation act, uint8_t *out, size_t size)
{
    const size_t pixel = (size_t)channels * size;
    if (size == 1) {
        const mve_pred16_t lanes = vctp8q((uint32_t)n);
        int8x16_t best = vdupq_n_s8(INT8_MIN);
        for (int32_t y = 0; y < win.rows; ++y) {
            const uint8_t *p = in + (size_t)y * row_stride * size;
            for (int32_t x = 0; x < win.cols; ++x, p += pixel) {
                best = vmaxq_s8(best, vldrbq_z_s8((const int8_t *)p, lanes));
            }
        }
        best = vminq_s8(vmaxq_s8(best, vdupq_n_s8((int8_t)act.min)), vdupq_n_s8((int8_t)act.max));
        vstrbq_p_s8((int8_t *)out, best, lanes);
    } else {
        const mve_pred16_t lanes = vctp16q((uint32_t)n);
        int16x8_t best = vdupq_n_s16(INT16_MIN);
        for (int32_t y = 0; y < win.rows; ++y) {
            const uint8_t *p = in + (size_t)y * row_stride * size;
            for (int32_t x = 0; x < win.cols; ++x, p += pixel) {
                best = vmaxq_s16(best, vldrhq_z_s16((const int16_t *)p, lanes));
            }
        }
        best = vminq_s16(vmaxq_s16(best, vdupq_n_s16((int16_t)act.min)),
                         vdupq_n_s16((int16_t)act.max));
        vstrhq_p_s16((int16_t *)out, best, lanes);
    }
}
#endif

/* One output pixel of MAX_POOL_2D. */
static inline tc_status tc_max_pool_pixel(const tc_pool_params *params, const uint8_t *in,
                                          tc_pool_window win, int32_t row_stride,
                                          int32_t channels, uint8_t *out, size_t size)
{
    const tc_activation act = params->activation;
    int32_t c = 0;
#if TC_ISA_MVE
    const int32_t lanes = size == 1 ? 16 : 8;
    for (; c < channels; c += lanes) {
        tc_pool_max_mve(in + (size_t)c * size, win, row_stride, channels,
                        TC_MIN(lanes, channels - c), act, out + (size_t)c * size, size);
    }
#elif TC_ISA_DSP
    for (; c + 4 <= channels; c += 4) {
        tc_pool_max4_dsp(in + (size_t)c * size, win, row_stride, channels, act,
                         out + (size_t)c * size, size);
    }
#endif
    for (; c < channels; ++c) {
        tc_store_sized(out, c,
                      tc_pool_max_reference(in, win, row_stride, channels, c, act, size), size);
    }
    return TC_OK;
}

#endif /* TC_POOL_INTERNAL_H */
