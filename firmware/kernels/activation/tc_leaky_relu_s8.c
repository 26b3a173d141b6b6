/*
 * tc_leaky_relu_s8: TFLite's reference_ops::QuantizeLeakyRelu for int8
 * (tc_leaky_relu_internal.h).
 */
#include "tc_leaky_relu_internal.h"

tc_status tc_leaky_relu_s8(const tc_leaky_relu_params *params, int32_t size,
                           const int8_t *input, int8_t *output)
{
    return tc_leaky_relu_elements(params, size, input, output, sizeof(int8_t));
}
