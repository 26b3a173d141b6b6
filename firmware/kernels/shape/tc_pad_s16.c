/*
 * PAD / PADV2, int16, in 4D: TFLite's reference_ops::Pad. Each output element is the
 * input element it maps to, or pad_value (the output zero point for PAD, PADV2's
 * constant) where it lies in the padding.
 */
#include <string.h>

#include "tc_nn_dwconv_pool.h"

static inline int32_t inside(int32_t coordinate, int32_t before, int32_t size)
{
    return coordinate >= before && coordinate < before + size;
}

static inline void fill(int16_t *out, int16_t value, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = value;
    }
}

tc_status tc_pad_s16(const tc_pad_params *params, const tc_dims *input_dims,
                     const int16_t *input, const tc_dims *output_dims, int16_t *output)
{
    const tc_dims *before = &params->before;
    if (before->n < 0 || before->h < 0 || before->w < 0 || before->c < 0 ||
        output_dims->n < before->n + input_dims->n || output_dims->h < before->h + input_dims->h ||
        output_dims->w < before->w + input_dims->w || output_dims->c < before->c + input_dims->c) {
        TC_RETURN_ARG_ERROR();
    }
    const int16_t value = (int16_t)params->pad_value;
    const int32_t out_c = output_dims->c, in_c = input_dims->c;
    const int32_t after_c = out_c - in_c - before->c;
    for (int32_t n = 0; n < output_dims->n; ++n) {
        const int32_t in_n = n - before->n;
        for (int32_t h = 0; h < output_dims->h; ++h) {
            const int32_t in_h = h - before->h;
            for (int32_t w = 0; w < output_dims->w; ++w) {
                const int32_t in_w = w - before->w;
                if (!inside(n, before->n, input_dims->n) || !inside(h, before->h, input_dims->h) ||
                    !inside(w, before->w, input_dims->w)) {
                    fill(output, value, out_c);
                } else {
                    const int16_t *row =
                        input + (((size_t)in_n * input_dims->h + (size_t)in_h) * input_dims->w +
                                 (size_t)in_w) * in_c;
                    fill(output, value, before->c);
                    memcpy(output + before->c, row, (size_t)in_c * sizeof(int16_t));
                    fill(output + before->c + in_c, value, after_c);
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}
