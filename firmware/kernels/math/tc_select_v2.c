/*
 * tc_select_v2: SELECT_V2 (and SELECT) with NumPy broadcasting of the condition and both
 * values (TFLite select.cc, reference_ops::Select / BroadcastSelect5DSlow / RankOneSelect):
 *   out = condition ? x : y
 * The values are copied as stored, element_size bytes each (LiteRT does not requantize).
 */
#include <string.h>

#include "tc_math_broadcast.h"

#define TC_SELECT_ROW(name, type)                                                            \
    static void name(const void *params, const void *const *in, const int32_t *step,        \
                     void *out, int32_t len)                                                 \
    {                                                                                        \
        (void)params;                                                                        \
        const bool *c = (const bool *)in[0];                                                 \
        const type *x = (const type *)in[1];                                                 \
        const type *y = (const type *)in[2];                                                 \
        type *o = (type *)out;                                                               \
        const int32_t sc = step[0], sx = step[1], sy = step[2];                              \
        for (int32_t j = 0; j < len; ++j) {                                                  \
            const type a = x[j * sx], b = y[j * sy];                                         \
            o[j] = c[j * sc] ? a : b;                                                        \
        }                                                                                    \
    }

TC_SELECT_ROW(tc_select_row_8, int8_t)
TC_SELECT_ROW(tc_select_row_16, int16_t)
TC_SELECT_ROW(tc_select_row_32, int32_t)

tc_status tc_select_v2(int32_t element_size, const tc_nd_dims *condition_dims,
                       const bool *condition, const tc_nd_dims *x_dims, const void *x,
                       const tc_nd_dims *y_dims, const void *y, const tc_nd_dims *output_dims,
                       void *output)
{
    const tc_nd_dims *const dims[3] = {condition_dims, x_dims, y_dims};
    const void *const ptrs[3] = {condition, x, y};
    const int32_t bytes[3] = {1, element_size, element_size};
    /* One walk per element size, each with its own row function (a direct call). */
    switch (element_size) {
    case 1:
        return tc_bc_walk(NULL, tc_select_row_8, 3, dims, ptrs, bytes, output_dims, output, 1);
    case 2:
        return tc_bc_walk(NULL, tc_select_row_16, 3, dims, ptrs, bytes, output_dims, output, 2);
    case 4:
        return tc_bc_walk(NULL, tc_select_row_32, 3, dims, ptrs, bytes, output_dims, output, 4);
    default:
        TC_RETURN_ARG_ERROR();
    }
}
