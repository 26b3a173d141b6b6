/*
 * tinyconv: SVDF with int8 input, weights, state and output (tc_nn_recurrent.h states the
 * math; TFLite Micro's EvalIntegerSvdfReference<int8_t>).
 */
#include "tc_svdf_internal.h"

tc_status tc_svdf_s8(const tc_context *ctx, const tc_svdf_params *params, const int8_t *input,
                     const int8_t *weights_feature, const int8_t *weights_time,
                     const int32_t *bias, int8_t *state, int8_t *output)
{
    TC_SVDF_CHECK(params, ctx)
    TC_SVDF_BODY(int8_t, INT8_MIN, INT8_MAX)
}
