/*
 * tc_neg_s16: NEG on int16 (TFLite neg.cc, reference_ops::Negate): the stored integers
 * negated as LiteRT does, whatever the quantization; -(-32768) wraps to -32768.
 */
#include "tc_nn_math.h"

tc_status tc_neg_s16(int32_t size, const int16_t *input, int16_t *output)
{
    if (input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (int16_t)(uint16_t)(0u - (uint32_t)(int32_t)input[i]);
    }
    return TC_OK;
}
