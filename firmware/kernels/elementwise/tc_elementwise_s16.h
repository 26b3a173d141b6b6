/*
 * Private to the int16 binary elementwise kernels (add, sub, mul and the power-of-two
 * add/sub): numpy broadcasting over NHWC, one element at a time. Each input dimension
 * equals the output's or is 1 (its stride is then 0). `op` computes one output from the
 * two inputs; the kernels pass a static inline function, which the compiler inlines.
 * Each element is read before the output element of the same index is written, so the
 * output may be an input of the output's shape (in place).
 */
#ifndef TC_ELEMENTWISE_S16_H
#define TC_ELEMENTWISE_S16_H

#include <stdint.h>

#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

typedef int16_t (*tc_ew_s16_op)(const void *params, int32_t a, int32_t b);

static inline int32_t tc_ew_s16_stride(int32_t dim, int32_t stride)
{
    return dim == 1 ? 0 : stride;
}

static inline tc_status tc_ew_s16_broadcast(const void *params, tc_ew_s16_op op,
                                            const tc_dims *d1, const int16_t *in1,
                                            const tc_dims *d2, const int16_t *in2,
                                            const tc_dims *dy, int16_t *out)
{
    const tc_dims *d[2] = {d1, d2};
    int32_t s[2][4];
    for (int32_t i = 0; i < 2; ++i) {
        const tc_dims *t = d[i];
        if ((t->n != 1 && t->n != dy->n) || (t->h != 1 && t->h != dy->h) ||
            (t->w != 1 && t->w != dy->w) || (t->c != 1 && t->c != dy->c)) {
            TC_RETURN_ARG_ERROR();
        }
        s[i][3] = tc_ew_s16_stride(t->c, 1);
        s[i][2] = tc_ew_s16_stride(t->w, t->c);
        s[i][1] = tc_ew_s16_stride(t->h, t->w * t->c);
        s[i][0] = tc_ew_s16_stride(t->n, t->h * t->w * t->c);
    }
    for (int32_t n = 0; n < dy->n; ++n) {
        for (int32_t h = 0; h < dy->h; ++h) {
            for (int32_t w = 0; w < dy->w; ++w) {
                const int16_t *a = in1 + n * s[0][0] + h * s[0][1] + w * s[0][2];
                const int16_t *b = in2 + n * s[1][0] + h * s[1][1] + w * s[1][2];
                for (int32_t c = 0; c < dy->c; ++c) {
                    *out++ = op(params, a[c * s[0][3]], b[c * s[1][3]]);
                }
            }
        }
    }
    return TC_OK;
}

static inline int16_t tc_clamp16(int32_t x, tc_activation act)
{
    x = x > act.max ? act.max : x;
    x = x < act.min ? act.min : x;
    return (int16_t)x;
}

/* The general ADD/SUB of one element pair (sign +1 or -1), int8's arithmetic (add.cc /
 * sub.cc general path) with int16 values and left_shift 15. */
static inline int16_t tc_add_sub_s16_element(const tc_add_params *p, int32_t a, int32_t b,
                                             int32_t sign)
{
    const int32_t x1 = tc_requantize((a + p->input1_offset) * (1 << p->left_shift),
                                     p->input1_multiplier, p->input1_shift);
    const int32_t x2 = tc_requantize((b + p->input2_offset) * (1 << p->left_shift),
                                     p->input2_multiplier, p->input2_shift);
    const int32_t raw = sign > 0 ? x1 + x2 : x1 - x2;
    const int32_t y = tc_requantize(raw, p->output_multiplier, p->output_shift);
    return tc_clamp16(tc_add_wrap(y, p->output_offset), p->activation);
}

/* gemmlowp's RoundingDivideByPOT (exponent 0..15: int16 and int32 agree there). */
static inline int32_t tc_rdbpot_s16(int32_t x, int32_t exponent)
{
    return tc_divide_by_power_of_two(x, exponent);
}

#endif /* TC_ELEMENTWISE_S16_H */
