/*
 * The scratch sizes of the convolution family (as CMSIS-NN keeps its
 * arm_convolve_get_buffer_sizes_s8.c): the one definition, for the firmware and, compiled
 * on the host once per ISA, for tinyconv's planner (tinyconv/kernel_lib.py). Plain C under
 * the ISA macros, no intrinsics.
 */
#include "tc_nn_conv.h"
#include "tc_nn_math_types.h"

int32_t tc_convolve_s8_get_fast_buffer_size(const tc_dims *input_dims,
                                            const tc_dims *filter_dims)
{
    (void)input_dims;
#if TC_ISA_PORTABLE
    (void)filter_dims;
    return 0;
#else
    /* im2col: DSP two columns of int16, MVE four columns of int8. */
    return 4 * filter_dims->h * filter_dims->w * filter_dims->c;
#endif
}

int32_t tc_convolve_s8_get_buffer_size(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0; /* every variant runs without scratch; the fast size is optional */
}

int32_t tc_convolve_1x1_s8_get_buffer_size(const tc_dims *input_dims,
                                           const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

int32_t tc_fully_connected_s8_get_buffer_size(const tc_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}
