/*
 * The scratch sizes of the spatial family: the one definition, for the firmware and,
 * compiled on the host once per ISA, for tinyconv's planner (tinyconv/kernel_lib.py).
 * Plain C, no intrinsics.
 */
#include "tc_nn_spatial.h"

/* TRANSPOSE_CONV int8: one int32 accumulator per output element (LiteRT's scratch). */
int32_t tc_transpose_conv_s8_get_buffer_size(const tc_dims *output_dims)
{
    return output_dims->n * output_dims->h * output_dims->w * output_dims->c *
           (int32_t)sizeof(int32_t);
}

/* TRANSPOSE_CONV 16x8: one int64 accumulator per output element. */
int32_t tc_transpose_conv_s16_get_buffer_size(const tc_dims *output_dims)
{
    return output_dims->n * output_dims->h * output_dims->w * output_dims->c *
           (int32_t)sizeof(int64_t);
}
