/*
 * Private to tc_transpose_s8 / _s16: TFLite's reference_ops::Transpose for elements of
 * `size` bytes (a constant in each caller, so the element moves compile to single loads
 * and stores), any permutation of up to 5 dimensions. Output element (i0..i4) is input
 * element (j[perm[0]] = i0, ..., j[perm[4]] = i4). The output is written in order; the
 * input is read through the permuted strides, with the innermost run copied whole when
 * the last dimension stays in place. The values are moved, never looked at.
 */
#ifndef TC_TRANSPOSE_INTERNAL_H
#define TC_TRANSPOSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tc_nn_dwconv_pool.h"

static inline tc_status tc_transpose_elements(const tc_transpose_params *params,
                                              const void *input, void *output, size_t size)
{
    enum { D = TC_TRANSPOSE_MAX_DIMS };
    int32_t in_stride[D];
    int32_t out_shape[D];
    int32_t stride[D]; /* input stride of each output dimension, in elements */
    int32_t seen = 0;

    if (params == NULL || input == NULL || output == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    in_stride[D - 1] = 1;
    for (int32_t d = D - 2; d >= 0; --d) {
        in_stride[d] = in_stride[d + 1] * params->input_shape[d + 1];
    }
    for (int32_t d = 0; d < D; ++d) {
        const int32_t from = params->perm[d];
        if (from < 0 || from >= D || (seen & (1 << from)) != 0) {
            TC_RETURN_ARG_ERROR();
        }
        seen |= 1 << from;
        out_shape[d] = params->input_shape[from];
        stride[d] = in_stride[from];
    }

    const uint8_t *const in_base = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t run_bytes = (size_t)out_shape[4] * size;
    const size_t step = (size_t)stride[4] * size;
    const int contiguous = stride[D - 1] == 1;
    for (int32_t i0 = 0; i0 < out_shape[0]; ++i0) {
        for (int32_t i1 = 0; i1 < out_shape[1]; ++i1) {
            for (int32_t i2 = 0; i2 < out_shape[2]; ++i2) {
                for (int32_t i3 = 0; i3 < out_shape[3]; ++i3) {
                    const uint8_t *in = in_base + (size_t)(i0 * stride[0] + i1 * stride[1] +
                                                           i2 * stride[2] + i3 * stride[3]) *
                                                      size;
                    if (contiguous) {
                        memcpy(out, in, run_bytes);
                    } else {
                        for (int32_t i4 = 0; i4 < out_shape[4]; ++i4) {
                            __builtin_memcpy(out + (size_t)i4 * size, in, size);
                            in += step;
                        }
                    }
                    out += run_bytes;
                }
            }
        }
    }
    return TC_OK;
}

#endif /* TC_TRANSPOSE_INTERNAL_H */
