/*
 * CONCATENATION, int8, along any axis: TFLite's reference_ops::Concatenation.
 *
 * Every tensor is seen as [outer, axis * inner]; for each outer index the inputs'
 * copy_size runs are appended in order. An input quantized like the output is copied
 * byte for byte (LiteRT's int8 kernel accepts only this case). An input with another
 * scale or zero point is requantized as TFLite's ConcatenationWithScaling does, in
 * float: round_half_away(x * scale + bias) + output_zero_point, clamped; the fused
 * activation (which LiteRT's int8 kernel rejects) is applied as a clamp when set.
 * Floats are exact IEEE single operations (build with -ffp-contract=off: no FMA).
 */
#include <string.h>

#include "tc_nn_dwconv_pool.h"
#include "tc_nn_support.h"

/* std::round for floats, without libm: ties go away from zero. */
static inline int32_t round_half_away(float x)
{
    /* |x| >= 2^23 is already an integer; beyond int32 the caller's clamp decides. */
    if (x >= 8388608.0f || x <= -8388608.0f) {
        return x > 0 ? INT32_MAX : INT32_MIN;
    }
    const int32_t truncated = (int32_t)x;
    const float fraction = x - (float)truncated; /* exact: same binade or smaller */
    if (fraction >= 0.5f) {
        return truncated + 1;
    }
    if (fraction <= -0.5f) {
        return truncated - 1;
    }
    return truncated;
}

static void requantize_run(const int8_t *in, int32_t size, const tc_concat_input *info,
                           int32_t output_offset, tc_activation act, int8_t *out)
{
    for (int32_t i = 0; i < size; ++i) {
        const float scaled = (float)in[i] * info->scale + info->bias;
        const int32_t rounded = round_half_away(scaled);
        /* Clamp before adding the offset so huge values cannot overflow. */
        const int32_t value = TC_CLAMP(rounded, -1024, 1024) + output_offset;
        out[i] = (int8_t)TC_CLAMP(value, act.min, act.max);
    }
}

static void clamp_run(const int8_t *in, int32_t size, tc_activation act, int8_t *out)
{
    for (int32_t i = 0; i < size; ++i) {
        out[i] = (int8_t)TC_CLAMP(in[i], act.min, act.max);
    }
}

tc_status tc_concatenation_s8(const tc_concat_params *params, const tc_concat_input *input_info,
                              const int8_t *const *inputs, int8_t *output)
{
    if (params->num_inputs < 1 || params->outer_size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const int full_range = params->activation.min <= INT8_MIN && params->activation.max >= INT8_MAX;
    for (int32_t k = 0; k < params->outer_size; ++k) {
        for (int32_t i = 0; i < params->num_inputs; ++i) {
            const tc_concat_input *info = &input_info[i];
            const int8_t *in = inputs[i] + k * info->copy_size;
            if (info->requantize) {
                requantize_run(in, info->copy_size, info, params->output_offset,
                               params->activation, output);
            } else if (full_range) {
                memcpy(output, in, (size_t)info->copy_size);
            } else {
                clamp_run(in, info->copy_size, params->activation, output);
            }
            output += info->copy_size;
        }
    }
    return TC_OK;
}
