/*
 * tc_lut_s8: a 256-entry table lookup (TFLite's LookupTable with the int8 LUTLookup
 * layout: the table is indexed by the input byte read as unsigned). LiteRT's int8
 * LOGISTIC and TANH are such tables, built from float math in Prepare(); int8 HARD_SWISH
 * is one too, of its integer arithmetic. tinyconv builds the same table on the host
 * (tinyconv/codegen/lowering/elementwise.py).
 * Armv7E-M DSP: four lookups per word read and word write.
 * Helium: sixteen lookups per gather load (VLDRB with byte offsets).
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_simd.h"

tc_status tc_lut_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output)
{
    if (table == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    int32_t i = 0;
#if TC_ISA_MVE
    for (; i < size; i += 16) {
        const mve_pred16_t pred = vctp8q((uint32_t)(size - i));
        const uint8x16_t index = vreinterpretq_u8_s8(vldrbq_z_s8(input + i, pred));
        vstrbq_p_s8(output + i, vldrbq_gather_offset_z_s8(table, index, pred), pred);
    }
#else
#if TC_ISA_DSP
    const uint8_t *const bytes = (const uint8_t *)table; /* zero-extending loads pack cheaper */
    for (; i + 4 <= size; i += 4) {
        const uint32_t w = (uint32_t)tc_read_s32(input + i);
        tc_write_s32(output + i, (int32_t)(bytes[w & 0xFF] | (uint32_t)bytes[(w >> 8) & 0xFF] << 8 |
                                           (uint32_t)bytes[(w >> 16) & 0xFF] << 16 |
                                           (uint32_t)bytes[w >> 24] << 24));
    }
#endif
    for (; i < size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
#endif
    return TC_OK;
}
