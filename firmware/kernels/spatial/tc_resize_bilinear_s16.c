/*
 * RESIZE_BILINEAR, int16: TFLite's reference_ops::ResizeBilinearInteger<int16_t>, the
 * arithmetic of tc_resize_bilinear_s8 in int64 (an int16 code times two 11-bit weights
 * needs 38 bits).
 */
#include "tc_spatial_internal.h"

tc_status tc_resize_bilinear_s16(const tc_resize_bilinear_params *params,
                                 const tc_dims *input_dims, const int16_t *input,
                                 const tc_dims *output_dims, int16_t *output)
{
    if (!tc_bilinear_args_ok(params, input_dims, output_dims)) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t depth = input_dims->c;
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_h * in_w * depth;
        for (int32_t y = 0; y < output_dims->h; ++y) {
            int32_t sy, y0, y1;
            tc_bilinear_point(y, params->scale_h, params->half_pixel_centers, in_h, &sy, &y0,
                              &y1);
            const int32_t dy = sy - (1 << 10) * y0;
            const int16_t *row0 = in_batch + (size_t)y0 * in_w * depth;
            const int16_t *row1 = in_batch + (size_t)y1 * in_w * depth;
            for (int32_t x = 0; x < output_dims->w; ++x) {
                int32_t sx, x0, x1;
                tc_bilinear_point(x, params->scale_w, params->half_pixel_centers, in_w, &sx,
                                  &x0, &x1);
                const int32_t dx = sx - (1 << 10) * x0;
                const int32_t w00 = ((1 << 10) - dy) * ((1 << 10) - dx);
                const int32_t w10 = dy * ((1 << 10) - dx);
                const int32_t w01 = ((1 << 10) - dy) * dx;
                const int32_t w11 = dy * dx;
                const int16_t *p00 = row0 + x0 * depth;
                const int16_t *p01 = row0 + x1 * depth;
                const int16_t *p10 = row1 + x0 * depth;
                const int16_t *p11 = row1 + x1 * depth;
                for (int32_t c = 0; c < depth; ++c) {
                    const int64_t o = (int64_t)p00[c] * w00 + (int64_t)p10[c] * w10 +
                                      (int64_t)p01[c] * w01 + (int64_t)p11[c] * w11;
                    const int64_t round = o > 0 ? (1 << 19) : -(1 << 19);
                    *output++ = (int16_t)((o + round) / (1 << 20));
                }
            }
        }
    }
    return TC_OK;
}
