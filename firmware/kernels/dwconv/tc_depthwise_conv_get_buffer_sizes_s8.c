/*
 * The scratch sizes of the depthwise kernels (see tc_convolve_get_buffer_sizes_s8.c): the
 * one definition, for the firmware and for tinyconv's planner (tinyconv/kernel_lib.py).
 */
#include "tc_dwconv_block.h"

int32_t tc_depthwise_conv_s8_get_buffer_size(const tc_dims *output_dims)
{
    (void)output_dims;
    return 0;
}

int32_t tc_depthwise_conv_inplace_s8_get_buffer_size(const tc_dims *output_dims)
{
    return tc_dw_inplace_buffer_bytes(output_dims);
}
