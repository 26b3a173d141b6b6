/*
 * REDUCE_MAX, int16: LiteRT's ReduceGeneric with the max reducer (from the type's lowest
 * value), over any axes of a rank 1 to 6 tensor. Input and output share their quantization
 * (LiteRT requires it), so the values pass through unchanged.
 */
#include "tc_reduce_internal.h"

tc_status tc_reduce_max_s16(const tc_reduce_shape *shape, const int16_t *input, int16_t *output)
{
    if (shape == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_reduce_run(shape, NULL, NULL, input, NULL, output);
}
