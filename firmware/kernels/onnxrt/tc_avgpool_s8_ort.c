/*
 * tc_avgpool_s8_ort: QLinearAveragePool (window smaller than the image) as onnxruntime
 * computes it (tc_nn_onnxrt.h): per output pixel and channel, the window clipped to the
 * image [hs, he) x [ws, we); in float32
 *     sum = 0; for h, for w: sum = sum + s_x * (float)(x - zp_x)
 *     y = sum / (float)count      count = kh * kw (count_include_pad) or (he-hs)*(we-ws)
 *     q = round_half_even(y / s_y + (float)zp_y), saturated, minus value_offset.
 * NHWC input and output.
 */
#include "tc_ort_internal.h"

tc_status tc_avgpool_s8_ort(const tc_ort_avgpool_params *params,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t off = params->value_offset;
    const int32_t lo = off ? 0 : -128, hi = off ? 255 : 127;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in_b = input + (size_t)b * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            int32_t hs = oy * params->stride.h - params->padding.h;
            int32_t he = hs + params->filter.h < in_h ? hs + params->filter.h : in_h;
            hs = hs > 0 ? hs : 0;
            for (int32_t ox = 0; ox < out_w; ox++) {
                int32_t ws = ox * params->stride.w - params->padding.w;
                int32_t we = ws + params->filter.w < in_w ? ws + params->filter.w : in_w;
                ws = ws > 0 ? ws : 0;
                const int32_t count = params->count_include_pad
                                          ? params->filter.h * params->filter.w
                                          : (he - hs) * (we - ws);
                for (int32_t c = 0; c < ch; c++) {
                    float sum = 0.0f;
                    for (int32_t y = hs; y < he; y++) {
                        for (int32_t x = ws; x < we; x++) {
                            const int32_t q = (int32_t)in_b[((size_t)y * in_w + x) * ch + c] +
                                              params->input_offset;
                            sum = sum + params->input_scale * (float)q;
                        }
                    }
                    const float mean = sum / (float)count;
                    const float t = mean / params->output_scale + params->output_zero_point;
                    int32_t r = tc_ort_cvt(t);
                    r = r < lo ? lo : (r > hi ? hi : r);
                    r -= off;
                    r = r < params->activation.min ? params->activation.min : r;
                    r = r > params->activation.max ? params->activation.max : r;
                    output[(((size_t)b * out_h + oy) * out_w + ox) * ch + c] = (int8_t)r;
                }
            }
        }
    }
    return TC_OK;
}
