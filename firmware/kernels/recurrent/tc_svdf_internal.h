/*
 * tinyconv SVDF: the body shared by the int8-state and int16-state kernels, written once
 * as a macro over the state type (TFLite Micro's EvalIntegerSvdfReference<T>).
 *
 * The new state column is clamped to the state type's range and THEN offset by the state's
 * zero point, the sum converted to the state type with two's-complement wrap-around: what
 * the tflite-micro runtime tinyconv is checked against computes (a non-zero zero point
 * only occurs with an int8 state; upstream TFLite Micro has since moved the offset before
 * the clamp).
 */
#ifndef TC_SVDF_INTERNAL_H
#define TC_SVDF_INTERNAL_H

#include <string.h>

#include "tc_nn_recurrent.h"
#include "tc_nn_support.h"

#define TC_SVDF_BODY(STATE_T, STATE_MIN, STATE_MAX)                                          \
    const tc_svdf_params *p = params;                                                        \
    const int32_t memory = p->memory, filters = p->filters;                                  \
    int32_t *acc = (int32_t *)ctx->buf;           /* [batch][filters] */                     \
    int32_t *sums = acc + p->batch * filters;     /* [batch][units] */                       \
    /* Shift the whole state left by one element; the last column is rewritten below. */     \
    memmove(state, state + 1,                                                                \
            (size_t)(p->batch * filters * memory - 1) * sizeof(STATE_T));                    \
    for (int32_t b = 0; b < p->batch; b++) {                                                 \
        const int8_t *x = input + b * p->input_size;                                         \
        STATE_T *column = state + b * filters * memory + (memory - 1);                       \
        for (int32_t f = 0; f < filters; f++) {                                              \
            const int8_t *w = weights_feature + f * p->input_size;                           \
            int32_t dot = 0;                                                                 \
            for (int32_t i = 0; i < p->input_size; i++) {                                    \
                dot += (int32_t)w[i] * ((int32_t)x[i] + p->input_offset);                    \
            }                                                                                \
            dot = tc_requantize(dot, p->feature_quant.multiplier, p->feature_quant.shift);   \
            dot = TC_CLAMP(dot, STATE_MIN, STATE_MAX);                                       \
            column[f * memory] = (STATE_T)(dot + p->state_zero_point);                       \
        }                                                                                    \
    }                                                                                        \
    for (int32_t b = 0; b < p->batch; b++) {                                                 \
        const STATE_T *s = state + b * filters * memory;                                     \
        const STATE_T *w = weights_time;                                                     \
        for (int32_t f = 0; f < filters; f++) {                                              \
            int32_t dot = 0;                                                                 \
            for (int32_t m = 0; m < memory; m++) {                                           \
                dot += (int32_t)(*w++) * ((int32_t)(*s++) - p->state_zero_point);            \
            }                                                                                \
            acc[b * filters + f] = dot;                                                      \
        }                                                                                    \
    }                                                                                        \
    for (int32_t b = 0; b < p->batch; b++) {                                                 \
        for (int32_t u = 0; u < p->units; u++) {                                             \
            int32_t sum = bias != NULL ? bias[u] : 0;                                        \
            for (int32_t r = 0; r < p->rank; r++) {                                          \
                sum = tc_add_wrap(sum, acc[b * filters + u * p->rank + r]);                  \
            }                                                                                \
            sums[b * p->units + u] = sum;                                                    \
        }                                                                                    \
    }                                                                                        \
    for (int32_t i = 0; i < p->batch * p->units; i++) {                                      \
        int32_t v = tc_requantize(sums[i], p->time_quant.multiplier, p->time_quant.shift);   \
        v += p->output_offset;                                                               \
        output[i] = (int8_t)TC_CLAMP(v, -128, 127);                                          \
    }                                                                                        \
    return TC_OK;

#if TC_ARG_CHECKS
#define TC_SVDF_CHECK(params, ctx)                                                           \
    if ((ctx) == NULL || (ctx)->buf == NULL ||                                               \
        (ctx)->size < (params)->batch * ((params)->filters + (params)->units) * 4 ||         \
        (params)->filters != (params)->units * (params)->rank || (params)->memory < 1) {     \
        TC_RETURN_ARG_ERROR();                                                               \
    }
#else
#define TC_SVDF_CHECK(params, ctx)
#endif

#endif /* TC_SVDF_INTERNAL_H */
