/*
 * PAD / PADV2, int8, constant mode in 4D: TFLite's reference_ops::Pad. Every output
 * element outside the copied input block is pad_value (the output zero point for PAD,
 * the quantized constant for PADV2; TFLite requires that constant to share the output's
 * quantization, so no rescaling happens).
 *
 * Output rows (runs along C) are written with memset / memcpy: a row is all padding when
 * its N, H or W coordinate is outside the input block; otherwise it is leading padding,
 * one input row, trailing padding.
 */
#include <string.h>

#include "tc_nn_dwconv_pool.h"

static inline int32_t inside(int32_t coordinate, int32_t before, int32_t size)
{
    return coordinate >= before && coordinate < before + size;
}

tc_status tc_pad_s8(const tc_pad_params *params, const tc_dims *input_dims,
                    const int8_t *input, const tc_dims *output_dims, int8_t *output)
{
    const tc_dims *before = &params->before;
    if (before->n < 0 || before->h < 0 || before->w < 0 || before->c < 0 ||
        output_dims->n < before->n + input_dims->n || output_dims->h < before->h + input_dims->h ||
        output_dims->w < before->w + input_dims->w || output_dims->c < before->c + input_dims->c) {
        TC_RETURN_ARG_ERROR();
    }
    const int value = (int8_t)params->pad_value;
    const size_t out_c = (size_t)output_dims->c;
    const size_t in_c = (size_t)input_dims->c;
    const size_t after_c = out_c - in_c - (size_t)before->c;

    for (int32_t n = 0; n < output_dims->n; ++n) {
        const int32_t in_n = n - before->n;
        for (int32_t h = 0; h < output_dims->h; ++h) {
            const int32_t in_h = h - before->h;
            for (int32_t w = 0; w < output_dims->w; ++w) {
                const int32_t in_w = w - before->w;
                if (!inside(n, before->n, input_dims->n) || !inside(h, before->h, input_dims->h) ||
                    !inside(w, before->w, input_dims->w)) {
                    memset(output, value, out_c);
                } else {
                    const int8_t *row =
                        input + (((size_t)in_n * input_dims->h + (size_t)in_h) * input_dims->w +
                                 (size_t)in_w) * in_c;
                    memset(output, value, (size_t)before->c);
                    memcpy(output + before->c, row, in_c);
                    memset(output + before->c + in_c, value, after_c);
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}
