/*
 * Strided copies: STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, PACK, UNPACK, DEPTH_TO_SPACE,
 * SPACE_TO_DEPTH and BROADCAST_TO, for elements of 1, 2, 4 or 8 bytes.
 *
 * Copy k visits every index (i0..i5) of params[k].shape in order (outermost first) and
 * moves one element from inputs[k] + input_offset + sum(ik * input_stride[k]) to
 * outputs[k] + output_offset + sum(ik * output_stride[k]) (offsets and strides in
 * elements). The code generator merges dimensions that are contiguous on both sides, so
 * the last dimension is usually a long run moved by one memmove. Element moves go through
 * fixed-size memmove too: no access is wider than its alignment allows (ARMv6-M), and a
 * copy onto its own input (a slice run in place) stays defined.
 */
#include <string.h>

#include "tc_nn_shape.h"

#define D TC_COPY_MAX_DIMS

static void move_run(uint8_t *out, const uint8_t *in, int32_t n, int32_t size,
                     int32_t in_step, int32_t out_step)
{
    if (in_step == 1 && out_step == 1) {
        if (out != in) { /* a contiguous slice placed over its own range moves nothing */
            memmove(out, in, (size_t)n * (size_t)size);
        }
        return;
    }
    const int32_t in_bytes = in_step * size;
    const int32_t out_bytes = out_step * size;
    switch (size) {
    case 1:
        for (int32_t i = 0; i < n; ++i) {
            *out = *in;
            in += in_bytes;
            out += out_bytes;
        }
        break;
    case 2:
        for (int32_t i = 0; i < n; ++i) {
            memmove(out, in, 2);
            in += in_bytes;
            out += out_bytes;
        }
        break;
    case 4:
        for (int32_t i = 0; i < n; ++i) {
            memmove(out, in, 4);
            in += in_bytes;
            out += out_bytes;
        }
        break;
    default:
        for (int32_t i = 0; i < n; ++i) {
            memmove(out, in, 8);
            in += in_bytes;
            out += out_bytes;
        }
        break;
    }
}

static void copy_one(const tc_copy_params *p, const uint8_t *input, uint8_t *output)
{
    const int32_t size = p->element_size;
    const int32_t *s = p->shape;
    const int32_t *is = p->input_stride;
    const int32_t *os = p->output_stride;
    const uint8_t *in0 = input + (ptrdiff_t)p->input_offset * size;
    uint8_t *out0 = output + (ptrdiff_t)p->output_offset * size;
    for (int32_t i0 = 0; i0 < s[0]; ++i0) {
        for (int32_t i1 = 0; i1 < s[1]; ++i1) {
            for (int32_t i2 = 0; i2 < s[2]; ++i2) {
                for (int32_t i3 = 0; i3 < s[3]; ++i3) {
                    for (int32_t i4 = 0; i4 < s[4]; ++i4) {
                        const int32_t in_at = i0 * is[0] + i1 * is[1] + i2 * is[2] +
                                              i3 * is[3] + i4 * is[4];
                        const int32_t out_at = i0 * os[0] + i1 * os[1] + i2 * os[2] +
                                               i3 * os[3] + i4 * os[4];
                        move_run(out0 + (ptrdiff_t)out_at * size,
                                 in0 + (ptrdiff_t)in_at * size, s[5], size, is[5], os[5]);
                    }
                }
            }
        }
    }
}

tc_status tc_strided_copy(const tc_copy_params *params, int32_t count,
                          const void *const *inputs, void *const *outputs)
{
    for (int32_t k = 0; k < count; ++k) {
        const tc_copy_params *p = &params[k];
        const int32_t size = p->element_size;
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            TC_RETURN_ARG_ERROR();
        }
        for (int32_t d = 0; d < D; ++d) {
            if (p->shape[d] < 0) {
                TC_RETURN_ARG_ERROR();
            }
        }
        copy_one(p, (const uint8_t *)inputs[k], (uint8_t *)outputs[k]);
    }
    return TC_OK;
}
