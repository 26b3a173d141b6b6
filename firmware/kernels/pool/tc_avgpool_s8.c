/*
 * AVERAGE_POOL_2D, int8: TFLite's reference_integer_ops::AveragePool.
 *
 * For each output element: the sum of the window clipped to the image, divided by the
 * clipped element count with rounding half away from zero
 *   avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count
 * (C division truncates toward zero), then clamped to the activation range. Input and
 * output share scale and zero point, so there is no rescaling.
 *
 * The window sums run 4 channels per word on DSP targets (16-bit lane sums, exact while
 * the window has at most 256 elements) and 16 channels per vector on Helium.
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_pool_window.h"

static inline int8_t average(int32_t sum, int32_t count, tc_activation act)
{
    const int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)TC_CLAMP(avg, act.min, act.max);
}

/* Window sum of channel c; `in` is the window's first element, channel 0. */
static int32_t sum_reference(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                             int32_t channels, int32_t c)
{
    int32_t sum = 0;
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride + c;
        for (int32_t x = 0; x < cols; ++x) {
            sum += p[x * channels];
        }
    }
    return sum;
}

#if TC_ISA_DSP
/* 4 channels: __sxtab16 adds lanes 0,2 (and, shifted, 1,3) into 16-bit halves. */
static void sum4_dsp(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                     int32_t channels, int32_t *sums)
{
    int32_t even = 0; /* halves: channel 0 (bottom), channel 2 (top) */
    int32_t odd = 0;  /* halves: channel 1, channel 3 */
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride;
        for (int32_t x = 0; x < cols; ++x) {
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
#endif

#if TC_ISA_MVE
static inline mve_pred16_t lanes_from(int32_t n, int32_t first)
{
    const int32_t left = n - first;
    return vctp32q((uint32_t)(left > 0 ? left : 0));
}

/* Up to 16 channels in four int32x4 sums; lanes past n are predicated off. */
static void sum16_mve(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                      int32_t channels, int32_t n, int32_t *sums)
{
    const mve_pred16_t p0 = lanes_from(n, 0), p1 = lanes_from(n, 4);
    const mve_pred16_t p2 = lanes_from(n, 8), p3 = lanes_from(n, 12);
    int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
    int32x4_t s2 = vdupq_n_s32(0), s3 = vdupq_n_s32(0);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride;
        for (int32_t x = 0; x < cols; ++x) {
            s0 = vaddq_s32(s0, vldrbq_z_s32(p, p0));
            s1 = vaddq_s32(s1, vldrbq_z_s32(p + 4, p1));
            s2 = vaddq_s32(s2, vldrbq_z_s32(p + 8, p2));
            s3 = vaddq_s32(s3, vldrbq_z_s32(p + 12, p3));
            p += channels;
        }
    }
    vst1q_s32(sums, s0);
    vst1q_s32(sums + 4, s1);
    vst1q_s32(sums + 8, s2);
    vst1q_s32(sums + 12, s3);
}
#endif

tc_status tc_avgpool_s8(const tc_context *ctx, const tc_pool_params *params,
                        const tc_dims *input_dims, const int8_t *input,
                        const tc_dims *filter_dims, const tc_dims *output_dims,
                        int8_t *output)
{
    (void)ctx;
    if (tc_pool_check(params, input_dims, filter_dims, output_dims) != TC_OK) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t channels = input_dims->c;
    const int32_t row_stride = input_dims->w * channels;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *image = input + b * input_dims->h * row_stride;
        for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
            for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                const tc_pool_window win =
                    tc_pool_clip(params, input_dims, filter_dims, out_y, out_x);
                const int32_t count = win.rows * win.cols;
                if (count == 0) {
                    TC_RETURN_ARG_ERROR(); /* TFLite fails here too: nothing to average */
                }
                const int8_t *in = image + win.y * row_stride + win.x * channels;
                int32_t c = 0;
#if TC_ISA_MVE
                for (; c < channels; c += 16) {
                    int32_t sums[16];
                    const int32_t n = TC_MIN(16, channels - c);
                    sum16_mve(in + c, win.rows, win.cols, row_stride, channels, n, sums);
                    for (int32_t j = 0; j < n; ++j) {
                        output[c + j] = average(sums[j], count, params->activation);
                    }
                }
#elif TC_ISA_DSP
                if (count <= 256) {
                    for (; c + 4 <= channels; c += 4) {
                        int32_t sums[4];
                        sum4_dsp(in + c, win.rows, win.cols, row_stride, channels, sums);
                        for (int32_t j = 0; j < 4; ++j) {
                            output[c + j] = average(sums[j], count, params->activation);
                        }
                    }
                }
#endif
                for (; c < channels; ++c) {
                    const int32_t sum =
                        sum_reference(in, win.rows, win.cols, row_stride, channels, c);
                    output[c] = average(sum, count, params->activation);
                }
                output += channels;
            }
        }
    }
    return TC_OK;
}
