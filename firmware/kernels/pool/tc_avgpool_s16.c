/*
 * AVERAGE_POOL_2D, int16: TFLite's reference_integer_ops::AveragePool for int16, with
 * its DSP and Helium paths (tc_pool_internal.h: the arithmetic and the paths).
 */
#include "tc_pool_internal.h"

static tc_status pixel(const tc_pool_params *params, const uint8_t *in, tc_pool_window win,
                       int32_t row_stride, int32_t channels, uint8_t *out)
{
    return tc_avgpool_pixel(params, in, win, row_stride, channels, out, sizeof(int16_t));
}

tc_status tc_avgpool_s16(const tc_context *ctx, const tc_pool_params *params,
                         const tc_dims *input_dims, const int16_t *input,
                         const tc_dims *filter_dims, const tc_dims *output_dims,
                         int16_t *output)
{
    (void)ctx;
    return tc_pool_walk(params, input_dims, input, filter_dims, output_dims, output,
                        sizeof(int16_t), pixel);
}
