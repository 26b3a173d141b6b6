/*
 * RESIZE_NEAREST_NEIGHBOR, int8: TFLite's reference_ops::ResizeNearestNeighbor. Output
 * pixel (b, y, x) is input pixel (b, rows[y], cols[x]); the index tables hold TFLite's
 * GetNearestNeighbor of every output row and column (align_corners, half_pixel_centers),
 * computed by the code generator in float32 exactly as TFLite does.
 */
#include "tc_spatial_internal.h"

tc_status tc_resize_nearest_s8(const tc_resize_nearest_params *params,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *output_dims, int8_t *output)
{
    return tc_resize_nearest_bytes(params, input_dims, input, output_dims, output,
                                   sizeof(int8_t));
}
