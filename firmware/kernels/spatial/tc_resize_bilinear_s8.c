/*
 * RESIZE_BILINEAR, int8: TFLite's reference_ops::ResizeBilinearInteger, bit for bit
 * (tc_resize_bilinear_internal.h: the arithmetic, in int32).
 */
#include "tc_resize_bilinear_internal.h"

tc_status tc_resize_bilinear_s8(const tc_resize_bilinear_params *params,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *output_dims, int8_t *output)
{
    return tc_resize_bilinear_elements(params, input_dims, input, output_dims, output,
                                       sizeof(int8_t));
}
