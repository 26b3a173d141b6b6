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
#elif TC_ISA_DSP
    /* im2col: two word-aligned columns of K rounded up to 4 int16, K >= 4 (the last group
     * of four starts at K - 4). */
    const int32_t k_len = filter_dims->h * filter_dims->w * filter_dims->c;
    return k_len < 4 ? 0 : 4 * ((k_len + 3) & ~3) + 4;
#else
    /* im2col: four columns of int8. */
    return 4 * filter_dims->h * filter_dims->w * filter_dims->c;
#endif
}

int32_t tc_convolve_s8_get_stack_buffer_size(const tc_dims *input_dims,
                                             const tc_dims *filter_dims)
{
#if !TC_ISA_PORTABLE
    /* Small im2col columns (RGB and audio stems: DSP K <= 124, MVE K <= 128) go on the
     * stack when the scratch is not given. */
    const int32_t fast = tc_convolve_s8_get_fast_buffer_size(input_dims, filter_dims);
    return fast <= TC_CONV_STACK_COLUMN_BYTES ? fast : 0;
#else
    (void)input_dims;
    (void)filter_dims;
    return 0;
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
