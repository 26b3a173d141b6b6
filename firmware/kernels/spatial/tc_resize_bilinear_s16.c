/*
 * RESIZE_BILINEAR, int16: TFLite's reference_ops::ResizeBilinearInteger<int16_t>, bit for
 * bit (tc_resize_bilinear_internal.h: the int8 kernel's arithmetic in int64).
 */
#include "tc_resize_bilinear_internal.h"

tc_status tc_resize_bilinear_s16(const tc_resize_bilinear_params *params,
                                 const tc_dims *input_dims, const int16_t *input,
                                 const tc_dims *output_dims, int16_t *output)
{
    return tc_resize_bilinear_elements(params, input_dims, input, output_dims, output,
                                       sizeof(int16_t));
}
