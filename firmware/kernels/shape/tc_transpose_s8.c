/*
 * TRANSPOSE, int8, any permutation of up to 5 dimensions: TFLite's
 * reference_ops::Transpose. Output element (i0..i4) is input element
 * (j[perm[0]] = i0, ..., j[perm[4]] = i4). The output is written in order; the input is
 * read through the permuted strides, with the innermost run copied whole when the last
 * dimension stays in place.
 */
#include <string.h>

#include "tc_nn_dwconv_pool.h"

#define D TC_TRANSPOSE_MAX_DIMS

tc_status tc_transpose_s8(const tc_transpose_params *params, const int8_t *input,
                          int8_t *output)
{
    int32_t in_stride[D];
    int32_t out_shape[D];
    int32_t stride[D]; /* input stride of each output dimension */
    int32_t seen = 0;

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

    const int contiguous = stride[D - 1] == 1;
    for (int32_t i0 = 0; i0 < out_shape[0]; ++i0) {
        for (int32_t i1 = 0; i1 < out_shape[1]; ++i1) {
            for (int32_t i2 = 0; i2 < out_shape[2]; ++i2) {
                for (int32_t i3 = 0; i3 < out_shape[3]; ++i3) {
                    const int8_t *in = input + i0 * stride[0] + i1 * stride[1] +
                                       i2 * stride[2] + i3 * stride[3];
                    if (contiguous) {
                        memcpy(output, in, (size_t)out_shape[4]);
                    } else {
                        for (int32_t i4 = 0; i4 < out_shape[4]; ++i4) {
                            output[i4] = in[i4 * stride[4]];
                        }
                    }
                    output += out_shape[4];
                }
            }
        }
    }
    return TC_OK;
}
