/*
 * tinyconv: UNIDIRECTIONAL_SEQUENCE_LSTM 16x8 (int16 activations and cell state, int8
 * weights, int64 biases): TFLite Micro's LstmStep<int16_t, int8_t, int16_t, int64_t>
 * (lstm_eval.h / lstm_eval.cc) step for step, with TFLite's int16 reference kernels for
 * its pieces (FullyConnected 16x8, Logistic and Tanh int16, MulElementwise). See
 * tc_nn_recurrent.h for the math. TFLM runs a time-major sequence one time step at a time
 * for all batches and a batch-major one batch row at a time; rows never mix, so each
 * batch runs its own time loop here.
 */
#include <string.h>

#include "tc_nn_recurrent.h"
#include "tc_nn_s16_support.h"
#include "tc_nn_support.h"
#include "tc_recurrent_internal.h"

/* out[r] = clamp16(tc_requantize_s64(W[r] . x (+ bias[r]))): reference_integer_ops::
 * FullyConnected for int16 input, output zero point 0, no activation. */
static void tc_lstm16_fc(const int16_t *x, int32_t depth, const int8_t *weights,
                         const int64_t *bias, tc_per_tensor_quant_params quant, int32_t rows,
                         int16_t *out)
{
    for (int32_t r = 0; r < rows; r++) {
        int64_t acc = tc_dot_s16_s8(x, weights + r * depth, depth);
        if (bias != NULL) {
            acc += bias[r];
        }
        out[r] = tc_s16_sat(tc_requantize_s64(acc, quant.multiplier, quant.shift));
    }
}

/* reference_integer_ops::MulElementwise, int16 inputs (offsets 0) and int16 output. */
static inline int16_t tc_lstm16_mul(int16_t a, int16_t b, tc_per_tensor_quant_params quant,
                                    int32_t offset)
{
    const int32_t value = offset + tc_requantize((int32_t)a * (int32_t)b, quant.multiplier,
                                                 quant.shift);
    return tc_s16_sat(value);
}

/* CalculateLstmGate: act(sat16(FC(x) + FC(h))). */
static void tc_lstm16_gate(const tc_lstm_s16_gate *g, const tc_lstm_s16_params *p,
                           const int16_t *x, const int16_t *h, int sigmoid, int16_t *gate,
                           int16_t *scratch)
{
    tc_lstm16_fc(x, p->input_size, g->input_weights, g->bias, g->input_quant, p->cells, gate);
    tc_lstm16_fc(h, p->cells, g->recurrent_weights, NULL, g->recurrent_quant, p->cells,
                 scratch);
    for (int32_t i = 0; i < p->cells; i++) {
        gate[i] = tc_s16_sat((int32_t)gate[i] + scratch[i]);
    }
    if (sigmoid) {
        (void)tc_logistic_s16(&p->gate_activation, p->cells, gate, gate);
    } else {
        (void)tc_tanh_s16(&p->gate_activation, p->cells, gate, gate);
    }
}

tc_status tc_lstm_unidirectional_s16(const tc_context *ctx, const tc_lstm_s16_params *params,
                                     const int16_t *input, int16_t *output_state,
                                     int16_t *cell_state, int16_t *output)
{
    const tc_lstm_s16_params *p = params;
    const int32_t cells = p->cells;
#if TC_ARG_CHECKS
    if (ctx == NULL || ctx->buf == NULL || ctx->size < cells * 10) {
        TC_RETURN_ARG_ERROR();
    }
#endif
    int16_t *forget_gate = (int16_t *)ctx->buf;
    int16_t *input_gate = forget_gate + cells;
    int16_t *cell_gate = input_gate + cells;
    int16_t *output_gate = cell_gate + cells;
    int16_t *scratch = output_gate + cells;

    for (int32_t b = 0; b < p->batch; b++) {
        int16_t *h = output_state + b * cells;
        int16_t *c = cell_state + b * cells;
        for (int32_t t = 0; t < p->time; t++) {
            const int32_t row = p->time_major ? t * p->batch + b : b * p->time + t;
            const int16_t *x = input + row * p->input_size;

            tc_lstm16_gate(&p->forget_gate, p, x, h, 1, forget_gate, scratch);
            tc_lstm16_gate(&p->input_gate, p, x, h, 1, input_gate, scratch);
            tc_lstm16_gate(&p->cell_gate, p, x, h, p->cell_gate_sigmoid, cell_gate, scratch);

            /* UpdateLstmCell: c = sat16(f * c + i * g), then the clip */
            for (int32_t i = 0; i < cells; i++) {
                const int16_t kept = tc_lstm16_mul(forget_gate[i], c[i], p->forget_quant, 0);
                const int16_t added = tc_lstm16_mul(input_gate[i], cell_gate[i],
                                                    p->input_quant, 0);
                int16_t value = tc_s16_sat((int32_t)kept + added);
                if (p->cell_clip > 0) {
                    value = (int16_t)TC_CLAMP(value, -p->cell_clip, p->cell_clip);
                }
                c[i] = value;
            }

            tc_lstm16_gate(&p->output_gate, p, x, h, 1, output_gate, scratch);
            /* UpdateLstmHidden: h = tanh(c) * o, requantized to the hidden state */
            (void)tc_tanh_s16(&p->cell_tanh, cells, c, scratch);
            for (int32_t i = 0; i < cells; i++) {
                h[i] = tc_lstm16_mul(scratch[i], output_gate[i], p->hidden_quant,
                                     p->hidden_zero_point);
            }
            memcpy(output + row * cells, h, (size_t)cells * sizeof(int16_t));
        }
    }
    return TC_OK;
}
