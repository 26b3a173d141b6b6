/*
 * tinyconv: UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state
 * (TFLite's fully integer "8x8_16" LSTM). The arithmetic is LiteRT's lstm_eval.cc
 * LstmStepInteger8x8_16 with its portable tensor_utils, step for step (see
 * tc_nn_recurrent.h for the math); batches are independent, so each batch runs its own
 * time loop over its rows of the state.
 */
#include <string.h>

#include "tc_nn_recurrent.h"
#include "tc_nn_support.h"
#include "tc_recurrent_internal.h"
#include "../reduce/tc_inv_sqrt_internal.h"

/* gate[c] = sat16(gate[c] + requant(bias[c] + W[c] . x)) for c < rows (tensor_utils::
 * MatrixBatchVectorMultiplyAccumulate, int16 output, output zero point 0). */
static void tc_lstm_matvec_s16(const int8_t *x, int32_t depth, const int8_t *weights,
                               const int32_t *bias, tc_per_tensor_quant_params quant,
                               int32_t rows, int16_t *gate)
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *w = weights + r * depth;
        int32_t acc = bias[r];
        for (int32_t i = 0; i < depth; i++) {
            acc += (int32_t)x[i] * (int32_t)w[i];
        }
        acc = tc_requantize(acc, quant.multiplier, quant.shift) + gate[r];
        gate[r] = tc_s16_sat(acc);
    }
}

/* tensor_utils::ApplyLayerNorm (portable_tensor_utils.cc) on one row of n values, in
 * place: integer mean and variance (x 2^10 and 2^20), 1/stddev by
 * GetInvSqrtQuantizedMultiplierExp, then weight, bias and the output scale (Q3.12). */
static void tc_lstm_layer_norm(const tc_lstm_gate *g, int32_t n, int16_t *gate)
{
    int64_t sum = 0;
    int64_t sum_sq = 0;
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = gate[i];
        sum += v;
        sum_sq += v * v;
    }
    const int32_t mean = (int32_t)(sum * 1024 / n);
    const int32_t temp = (1 << 20) / n;
    const int64_t variance = sum_sq * temp - (int64_t)mean * (int64_t)mean;
    int32_t variance2 = (int32_t)(variance / (1 << 20));
    if (variance2 < 1) {
        variance2 = g->variance_guard;
    }
    int32_t inv_multiplier;
    int32_t inv_shift;
    tc_inv_sqrt_multiplier(variance2, &inv_multiplier, &inv_shift);
    for (int32_t i = 0; i < n; i++) {
        const int32_t shifted = 1024 * (int32_t)gate[i] - mean;
        const int32_t rescaled = tc_requantize(shifted, inv_multiplier, inv_shift);
        /* int32 arithmetic in TFLite (rescaled * weight + bias), widened afterwards */
        const int64_t val3 = (int32_t)((uint32_t)rescaled * (uint32_t)(int32_t)
                                       g->layer_norm_weights[i] +
                                       (uint32_t)g->layer_norm_bias[i]);
        const int32_t val4 = (int32_t)((val3 > 0 ? val3 + 512 : val3 - 512) / 1024);
        const int32_t val5 = tc_requantize(val4, g->layer_norm_quant.multiplier,
                                           g->layer_norm_quant.shift + 12);
        gate[i] = tc_s16_sat(val5);
    }
}

/* One gate before its activation, Q3.12 (CalculateLstmGateInteger8x8_16). */
static void tc_lstm_gate_sum(const tc_lstm_gate *g, const tc_lstm_params *p, const int8_t *x,
                             const int8_t *h, const int16_t *cell, int16_t *gate)
{
    memset(gate, 0, (size_t)p->cells * sizeof(int16_t));
    tc_lstm_matvec_s16(x, p->input_size, g->input_weights, g->input_bias, g->input_quant,
                       p->cells, gate);
    tc_lstm_matvec_s16(h, p->output_size, g->recurrent_weights, g->recurrent_bias,
                       g->recurrent_quant, p->cells, gate);
    if (g->cell_weights != NULL) {
        /* VectorBatchVectorCwiseProductAccumulate; LiteRT passes n_output as the length
         * (validate requires n_output == n_cell for a peephole LSTM). */
        for (int32_t c = 0; c < p->output_size; c++) {
            const int32_t prod = tc_requantize((int32_t)g->cell_weights[c] * cell[c],
                                               g->cell_quant.multiplier, g->cell_quant.shift);
            gate[c] = tc_s16_sat(prod + gate[c]);
        }
    }
    if (g->layer_norm_weights != NULL) {
        tc_lstm_layer_norm(g, p->cells, gate);
    }
}

tc_status tc_lstm_unidirectional_s8_s16(const tc_context *ctx, const tc_lstm_params *params,
                                        const int8_t *input, int8_t *output_state,
                                        int16_t *cell_state, int8_t *output)
{
    const tc_lstm_params *p = params;
    const int32_t cells = p->cells;
#if TC_ARG_CHECKS
    if (ctx == NULL || ctx->buf == NULL || ctx->size < cells * 9 || p->cell_scale < -15 ||
        p->cell_scale > -9 || (p->projection_weights == NULL && p->output_size != cells)) {
        TC_RETURN_ARG_ERROR();
    }
#endif
    int16_t *input_gate = (int16_t *)ctx->buf;
    int16_t *forget_gate = input_gate + cells;
    int16_t *cell_gate = forget_gate + cells;
    int16_t *output_gate = cell_gate + cells;
    int8_t *hidden = (int8_t *)(output_gate + cells);
    const int use_cifg = p->input_gate.input_weights == NULL;
    const int32_t tanh_bits = 15 + p->cell_scale;

    for (int32_t b = 0; b < p->batch; b++) {
        int8_t *h = output_state + b * p->output_size;
        int16_t *c = cell_state + b * cells;
        for (int32_t t = 0; t < p->time; t++) {
            const int32_t row = p->time_major ? t * p->batch + b : b * p->time + t;
            const int8_t *x = input + row * p->input_size;
            int8_t *y = output + row * p->output_size;

            if (!use_cifg) {
                tc_lstm_gate_sum(&p->input_gate, p, x, h, c, input_gate);
                for (int32_t i = 0; i < cells; i++) {
                    input_gate[i] = tc_s16_logistic(input_gate[i], 3);
                }
            }
            tc_lstm_gate_sum(&p->forget_gate, p, x, h, c, forget_gate);
            for (int32_t i = 0; i < cells; i++) {
                forget_gate[i] = tc_s16_logistic(forget_gate[i], 3);
            }
            tc_lstm_gate_sum(&p->cell_gate, p, x, h, c, cell_gate);
            for (int32_t i = 0; i < cells; i++) {
                cell_gate[i] = tc_s16_tanh(cell_gate[i], 3);
            }

            /* UpdateLstmCellInteger: c = f * c / 2^15 + i * g / 2^(30 + cell_scale). */
            for (int32_t i = 0; i < cells; i++) {
                const int16_t kept = (int16_t)tc_divide_by_power_of_two(
                    (int32_t)forget_gate[i] * c[i], 15);
                const int16_t in = use_cifg ? (int16_t)(INT16_MAX - forget_gate[i])
                                            : input_gate[i];
                const int16_t added = (int16_t)tc_divide_by_power_of_two(
                    (int32_t)in * cell_gate[i], 30 + p->cell_scale);
                int16_t value = tc_s16_sat((int32_t)kept + added);
                if (p->cell_clip > 0) {
                    value = (int16_t)TC_CLAMP(value, -p->cell_clip, p->cell_clip);
                }
                c[i] = value;
            }

            tc_lstm_gate_sum(&p->output_gate, p, x, h, c, output_gate);
            for (int32_t i = 0; i < cells; i++) {
                output_gate[i] = tc_s16_logistic(output_gate[i], 3);
            }

            /* CalculateLstmOutputInteger8x8_16: m = o * tanh(c), requantized to the hidden
             * intermediate's scale, plus its zero point; with a projection LiteRT 2.3 adds
             * MINUS the zero point (b/246629213) and folds +zp * row sums into the
             * projection's bias. */
            const int32_t hidden_offset = p->projection_weights != NULL
                                              ? -p->hidden_zero_point
                                              : p->hidden_zero_point;
            for (int32_t i = 0; i < cells; i++) {
                const int16_t tanh_c = tc_s16_tanh(c[i], tanh_bits);
                int32_t value = tc_requantize((int32_t)output_gate[i] * tanh_c,
                                              p->hidden_quant.multiplier,
                                              p->hidden_quant.shift);
                value += hidden_offset;
                hidden[i] = (int8_t)TC_CLAMP(value, -128, 127);
            }
            if (p->projection_weights != NULL) {
                for (int32_t r = 0; r < p->output_size; r++) {
                    const int8_t *w = p->projection_weights + r * cells;
                    int32_t acc = p->projection_bias[r];
                    for (int32_t i = 0; i < cells; i++) {
                        acc += (int32_t)hidden[i] * (int32_t)w[i];
                    }
                    acc = tc_requantize(acc, p->projection_quant.multiplier,
                                        p->projection_quant.shift) +
                          p->output_state_zero_point;
                    int32_t value = TC_CLAMP(acc, -128, 127);
                    if (p->projection_clip > 0) {
                        value = TC_CLAMP(value, -p->projection_clip, p->projection_clip);
                    }
                    h[r] = (int8_t)value;
                }
            } else {
                memcpy(h, hidden, (size_t)cells);
            }
            memcpy(y, h, (size_t)p->output_size);
        }
    }
    return TC_OK;
}
