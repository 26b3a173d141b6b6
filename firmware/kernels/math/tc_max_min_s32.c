/*
 * tc_max_min_s32: MAXIMUM / MINIMUM on int32_t with NumPy broadcasting (TFLite
 * maximum_minimum.cc, reference_ops::MaximumMinimumBroadcastSlow): the stored integers
 * are compared as they are, whatever their quantization, as LiteRT does.
 */
#include "tc_math_broadcast.h"

static void tc_max_row_s32(const void *params, const void *const *in, const int32_t *step,
                        void *out, int32_t len)
{
    (void)params;
    const int32_t *a = (const int32_t *)in[0];
    const int32_t *b = (const int32_t *)in[1];
    int32_t *o = (int32_t *)out;
    const int32_t sa = step[0], sb = step[1];
    for (int32_t j = 0; j < len; ++j) {
        const int32_t x = a[j * sa], y = b[j * sb];
        o[j] = x > y ? x : y;
    }
}

static void tc_min_row_s32(const void *params, const void *const *in, const int32_t *step,
                        void *out, int32_t len)
{
    (void)params;
    const int32_t *a = (const int32_t *)in[0];
    const int32_t *b = (const int32_t *)in[1];
    int32_t *o = (int32_t *)out;
    const int32_t sa = step[0], sb = step[1];
    for (int32_t j = 0; j < len; ++j) {
        const int32_t x = a[j * sa], y = b[j * sb];
        o[j] = x < y ? x : y;
    }
}

tc_status tc_max_min_s32(const tc_max_min_params *params, const tc_nd_dims *input1_dims,
                        const int32_t *input1, const tc_nd_dims *input2_dims,
                        const int32_t *input2, const tc_nd_dims *output_dims, int32_t *output)
{
    if (params == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    if (params->is_max) {
        return tc_bc_walk2(params, tc_max_row_s32, input1_dims, input1, input2_dims, input2, 4,
                           output_dims, output, 4);
    }
    return tc_bc_walk2(params, tc_min_row_s32, input1_dims, input1, input2_dims, input2, 4,
                       output_dims, output, 4);
}
