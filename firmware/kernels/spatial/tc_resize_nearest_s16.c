/*
 * RESIZE_NEAREST_NEIGHBOR, int16: as tc_resize_nearest_s8, two bytes per element.
 */
#include "tc_spatial_internal.h"

tc_status tc_resize_nearest_s16(const tc_resize_nearest_params *params,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *output_dims, int16_t *output)
{
    return tc_resize_nearest_bytes(params, input_dims, input, output_dims, output,
                                   sizeof(int16_t));
}
