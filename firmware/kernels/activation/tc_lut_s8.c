/*
 * tc_lut_s8: a 256-entry table lookup (TFLite's LookupTable with the int8 LUTLookup
 * layout: the table is indexed by the input byte read as unsigned). LiteRT's int8
 * LOGISTIC and TANH are such tables, built from float math in Prepare(); tinyconv builds
 * the same table on the host (tinyconv/codegen/lowering/elementwise.py).
 * Helium: sixteen lookups per gather load (VLDRB with byte offsets).
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_simd.h"

tc_status tc_lut_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output)
{
    if (table == NULL || input == NULL || output == NULL || size < 0) {
        return TC_ARG_ERROR;
    }
#if TC_ISA_MVE
    for (int32_t i = 0; i < size; i += 16) {
        const mve_pred16_t pred = vctp8q((uint32_t)(size - i));
        const uint8x16_t index = vreinterpretq_u8_s8(vldrbq_z_s8(input + i, pred));
        vstrbq_p_s8(output + i, vldrbq_gather_offset_z_s8(table, index, pred), pred);
    }
#else
    for (int32_t i = 0; i < size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
#endif
    return TC_OK;
}
