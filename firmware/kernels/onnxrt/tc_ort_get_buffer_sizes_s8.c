/*
 * The scratch sizes of the onnxruntime-arithmetic kernels: the one definition, for the
 * firmware and, compiled on the host once per ISA, for tinyconv's planner
 * (tinyconv/kernel_lib.py; tinyconv.ir.onnx_ops.OrtConv2D.scratch_bytes).
 */
#include "tc_nn_conv.h"
#include "tc_nn_onnxrt.h"

int32_t tc_convolve_s8_ort_get_buffer_size(const tc_dims *input_dims,
                                           const tc_dims *filter_dims)
{
    /* tc_convolve_s8_ort's im2col columns are tc_convolve_s8's (DSP: two int16 columns,
     * none when K < 4; Helium: four int8 columns; portable: none). */
    return tc_convolve_s8_get_fast_buffer_size(input_dims, filter_dims);
}
