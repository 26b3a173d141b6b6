/*
 * tinyconv: SVDF with int8 input, feature weights and output, int16 time weights and
 * state (tc_nn_recurrent.h states the math; TFLite Micro's EvalIntegerSvdfReference).
 */
#include "tc_svdf_internal.h"

tc_status tc_svdf_s8_s16(const tc_context *ctx, const tc_svdf_params *params,
                         const int8_t *input, const int8_t *weights_feature,
                         const int16_t *weights_time, const int32_t *bias, int16_t *state,
                         int8_t *output)
{
    TC_SVDF_CHECK(params, ctx)
    TC_SVDF_BODY(int16_t, INT16_MIN, INT16_MAX)
}
