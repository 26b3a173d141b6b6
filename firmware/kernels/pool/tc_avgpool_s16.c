/*
 * AVERAGE_POOL_2D, int16: TFLite's reference_integer_ops::AveragePool for int16, the
 * int8 kernel's arithmetic on 16-bit values: the int32 sum of the window clipped to the
 * image, divided by the clipped count rounding half away from zero, then clamped
 *   avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count
 * (the lowering checks that count * 2^15 fits in int32). Portable C on every core.
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_pool_window.h"

tc_status tc_avgpool_s16(const tc_context *ctx, const tc_pool_params *params,
                         const tc_dims *input_dims, const int16_t *input,
                         const tc_dims *filter_dims, const tc_dims *output_dims,
                         int16_t *output)
{
    (void)ctx;
    if (tc_pool_check(params, input_dims, filter_dims, output_dims) != TC_OK) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t channels = input_dims->c;
    const int32_t row_stride = input_dims->w * channels;
    const tc_activation act = params->activation;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int16_t *image = input + b * input_dims->h * row_stride;
        for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
            for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                const tc_pool_window win =
                    tc_pool_clip(params, input_dims, filter_dims, out_y, out_x);
                const int16_t *in = image + win.y * row_stride + win.x * channels;
                const int32_t count = win.rows * win.cols;
                for (int32_t c = 0; c < channels; ++c) {
                    int32_t sum = 0;
                    for (int32_t y = 0; y < win.rows; ++y) {
                        const int16_t *p = in + y * row_stride + c;
                        for (int32_t x = 0; x < win.cols; ++x) {
                            sum += p[x * channels];
                        }
                    }
                    const int32_t avg =
                        sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    output[c] = (int16_t)TC_CLAMP(avg, act.min, act.max);
                }
                output += channels;
            }
        }
    }
    return TC_OK;
}
