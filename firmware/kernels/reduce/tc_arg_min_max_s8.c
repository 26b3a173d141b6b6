/*
 * ARG_MAX and ARG_MIN, int8 input, int32 or int64 output: LiteRT's reference ArgMinMax.
 * The input is [outer, axis_size, inner]; for each (outer, inner) the index of the first
 * largest (smallest) value along the axis: a later value replaces the current one only
 * when strictly greater (less). Outputs are written with memcpy, so an int64 output needs
 * no 8-byte alignment (ARMv6-M/ARMv7-M fault on unaligned doubleword stores).
 */
#include <string.h>

#include "tc_nn_reduce.h"
#include "tc_nn_support.h"

tc_status tc_arg_min_max_s8(const tc_arg_min_max_params *params, const int8_t *input,
                            void *output)
{
    if (params == NULL || input == NULL || output == NULL || params->outer < 0 ||
        params->axis_size < 1 || params->inner < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t axis_size = params->axis_size, inner = params->inner;
    /* ARG_MIN is ARG_MAX of the values flipped: ~v = -1 - v keeps ties and order reversed. */
    const int8_t flip = params->is_min ? (int8_t)-1 : 0;
    uint8_t *out = (uint8_t *)output;
    for (int32_t o = 0; o < params->outer; ++o) {
        const int8_t *block = input + o * axis_size * inner;
        for (int32_t i = 0; i < inner; ++i) {
            int8_t best = (int8_t)(block[i] ^ flip);
            int32_t best_index = 0;
            for (int32_t a = 1; a < axis_size; ++a) {
                const int8_t v = (int8_t)(block[a * inner + i] ^ flip);
                if (v > best) {
                    best = v;
                    best_index = a;
                }
            }
            if (params->output_int64) {
                const int64_t index = best_index;
                memcpy(out, &index, sizeof(index));
                out += sizeof(index);
            } else {
                memcpy(out, &best_index, sizeof(best_index));
                out += sizeof(best_index);
            }
        }
    }
    return TC_OK;
}
