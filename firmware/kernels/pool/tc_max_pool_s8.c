/*
 * MAX_POOL_2D, int8: TFLite's reference_integer_ops::MaxPool.
 *
 * For each output element: the maximum over the window clipped to the image (starting
 * from -128; padding never takes part), then clamped to the activation range.
 * DSP targets compare 4 channels per word (SSUB8 sets per-byte flags, SEL picks the
 * larger byte); Helium compares 16 channels per vector (VMAX.S8).
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_pool_window.h"

static int8_t max_reference(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                            int32_t channels, int32_t c, tc_activation act)
{
    int32_t best = INT8_MIN;
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride + c;
        for (int32_t x = 0; x < cols; ++x) {
            best = TC_MAX(best, p[x * channels]);
        }
    }
    return (int8_t)TC_CLAMP(best, act.min, act.max);
}

#if TC_ISA_DSP
/* Per-byte signed maximum. One asm block: SEL reads the GE flags SSUB8 just set. */
static inline uint32_t max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t result;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(result) : "r"(a), "r"(b) : "cc");
    return result;
}

static void max4_dsp(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                     int32_t channels, tc_activation act, int8_t *out)
{
    uint32_t best = 0x80808080u; /* four times -128 */
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride;
        for (int32_t x = 0; x < cols; ++x) {
            best = max_s8x4(best, (uint32_t)tc_read_s32(p));
            p += channels;
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        out[j] = (int8_t)TC_CLAMP((int8_t)(best >> (8 * j)), act.min, act.max);
    }
}
#endif

#if TC_ISA_MVE
/* Up to 16 channels; lanes past n are neither loaded nor stored. */
static void max16_mve(const int8_t *in, int32_t rows, int32_t cols, int32_t row_stride,
                      int32_t channels, int32_t n, tc_activation act, int8_t *out)
{
    const mve_pred16_t lanes = vctp8q((uint32_t)n);
    int8x16_t best = vdupq_n_s8(INT8_MIN);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *p = in + y * row_stride;
        for (int32_t x = 0; x < cols; ++x) {
            best = vmaxq_s8(best, vldrbq_z_s8(p, lanes));
            p += channels;
        }
    }
    best = vmaxq_s8(best, vdupq_n_s8((int8_t)act.min));
    best = vminq_s8(best, vdupq_n_s8((int8_t)act.max));
    vstrbq_p_s8(out, best, lanes);
}
#endif

tc_status tc_max_pool_s8(const tc_context *ctx, const tc_pool_params *params,
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
                const int8_t *in = image + win.y * row_stride + win.x * channels;
                int32_t c = 0;
#if TC_ISA_MVE
                for (; c < channels; c += 16) {
                    max16_mve(in + c, win.rows, win.cols, row_stride, channels,
                              TC_MIN(16, channels - c), params->activation, output + c);
                }
#elif TC_ISA_DSP
                for (; c + 4 <= channels; c += 4) {
                    max4_dsp(in + c, win.rows, win.cols, row_stride, channels,
                             params->activation, output + c);
                }
#endif
                for (; c < channels; ++c) {
                    output[c] = max_reference(in, win.rows, win.cols, row_stride, channels, c,
                                              params->activation);
                }
                output += channels;
            }
        }
    }
    return TC_OK;
}
