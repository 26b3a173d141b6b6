/*
 * Private to tc_transpose_conv_s8 / _s16: TFLite's reference_integer_ops::TransposeConv,
 * the walk both kernels share.
 *
 * Scatter: for every input pixel (b, y, x) and filter tap (fy, fx) whose output pixel
 * (y * stride_h - pad_h + fy, x * stride_w - pad_w + fx) lies inside the output, `tap`
 * adds sum_c in[b, y, x, c] * w[o, fy, fx, c] (the int8 kernel with its input offset) for
 * every output channel o into that pixel's accumulators in ctx->buf (one per output
 * element, `acc_size` bytes each: LiteRT's int32 or int64 scratch tensor; zeroed first).
 * Then `finish` turns each accumulator, with its channel's bias, into an output element.
 * `tap` and `finish` are static inline functions of the caller, which the compiler inlines.
 */
#ifndef TC_TRANSPOSE_CONV_INTERNAL_H
#define TC_TRANSPOSE_CONV_INTERNAL_H

#include "tc_spatial_internal.h"

/* One input pixel `in` against the taps at `w` (output channel o's at w + o * tap_stride)
 * into one output pixel's accumulators `acc`. */
typedef void (*tc_tconv_tap_fn)(const tc_conv_params *params, const void *in,
                                const int8_t *w, int32_t in_c, int32_t out_c,
                                int32_t tap_stride, uint8_t *acc);

/* Output element `index` (channel o) from its accumulator `acc`. */
typedef void (*tc_tconv_finish_fn)(const tc_conv_params *params,
                                   const tc_per_channel_quant_params *quant,
                                   const uint8_t *acc, const void *bias, int32_t o,
                                   void *output, int32_t index);

static inline tc_status tc_transpose_conv_walk(
    const tc_context *ctx, const tc_conv_params *params,
    const tc_per_channel_quant_params *quant, const tc_dims *input_dims, const void *input,
    size_t in_size, const tc_dims *filter_dims, const int8_t *filter, const void *bias,
    const tc_dims *output_dims, void *output, size_t acc_size, int32_t buffer_size,
    tc_tconv_tap_fn tap, tc_tconv_finish_fn finish)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t in_c = input_dims->c;
    const int32_t out_c = filter_dims->n;
    const int32_t k_h = filter_dims->h;
    const int32_t k_w = filter_dims->w;
    const int32_t out_h = output_dims->h;
    const int32_t out_w = output_dims->w;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < buffer_size ||
        filter_dims->c != in_c || output_dims->c != out_c || output_dims->n != batches ||
        params->stride.h < 1 || params->stride.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t tap_stride = k_h * k_w * in_c; /* from one output channel's filter to the next */
    const int32_t count = batches * out_h * out_w * out_c;
    uint8_t *acc = (uint8_t *)ctx->buf; /* 4-byte aligned */
    memset(acc, 0, (size_t)count * acc_size);

    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t y = 0; y < in_h; ++y) {
            const int32_t oy0 = y * params->stride.h - params->padding.h;
            for (int32_t x = 0; x < in_w; ++x) {
                const int32_t ox0 = x * params->stride.w - params->padding.w;
                const uint8_t *in = (const uint8_t *)input +
                                    (((size_t)b * in_h + y) * in_w + x) * in_c * in_size;
                for (int32_t fy = 0; fy < k_h; ++fy) {
                    const int32_t oy = oy0 + fy;
                    if (oy < 0 || oy >= out_h) {
                        continue;
                    }
                    for (int32_t fx = 0; fx < k_w; ++fx) {
                        const int32_t ox = ox0 + fx;
                        if (ox < 0 || ox >= out_w) {
                            continue;
                        }
                        uint8_t *a = acc + (((size_t)b * out_h + oy) * out_w + ox) * out_c *
                                               acc_size;
                        tap(params, in, filter + (fy * k_w + fx) * in_c, in_c, out_c,
                            tap_stride, a);
                    }
                }
            }
        }
    }

    for (int32_t i = 0; i < count; i += out_c) {
        for (int32_t o = 0; o < out_c; ++o) {
            finish(params, quant, acc + ((size_t)i + o) * acc_size, bias, o, output, i + o);
        }
    }
    return TC_OK;
}

#endif /* TC_TRANSPOSE_CONV_INTERNAL_H */
