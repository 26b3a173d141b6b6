/*
 * tc_leaky_relu_s16: TFLite's reference_ops::QuantizeLeakyRelu for int16, the int8
 * arithmetic with an int16 clamp (tc_leaky_relu_internal.h).
 */
#include "tc_leaky_relu_internal.h"

tc_status tc_leaky_relu_s16(const tc_leaky_relu_params *params, int32_t size,
                            const int16_t *input, int16_t *output)
{
    return tc_leaky_relu_elements(params, size, input, output, sizeof(int16_t));
}
