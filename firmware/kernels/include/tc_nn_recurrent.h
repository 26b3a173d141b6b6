/* tinyconv kernels: LSTM and SVDF.
 *
 * Both ops keep a state between invokes (TFLite's variable tensors): the caller owns it
 * (tinyconv puts it in the arena, alive for the whole model, zeroed by tc_model_reset()),
 * the kernel reads and updates it in place on every call. */
#ifndef TC_NN_RECURRENT_H
#define TC_NN_RECURRENT_H

#include "tc_nn_types.h"
#include "tc_nn_elementwise.h"

/* -- SVDF ------------------------------------------------------------------------------
 * TFLite's integer SVDF (TFLite Micro svdf_common.cc EvalIntegerSvdfReference):
 *   state:   [batch][filters][memory], shifted left by one column per call;
 *   column memory-1 <- clamp(zp_state + requant1(sum_i (x_i - zp_x) * Wf[f][i]));
 *   acc[f]  = sum_m Wt[f][m] * (state[f][m] - zp_state);
 *   out[u]  = clamp_s8(zp_out + requant2(bias[u] + sum_{r<rank} acc[u * rank + r])).
 * The fused activation is not applied by TFLite's integer kernels (nor here).
 * Scratch (ctx): batch * (filters + units) int32 (tc_svdf_scratch_bytes in the IR). */
typedef struct {
    int32_t batch;
    int32_t input_size;
    int32_t filters;   /* units * rank */
    int32_t units;
    int32_t rank;
    int32_t memory;
    int32_t input_offset;   /* -input zero point */
    int32_t state_zero_point;
    int32_t output_offset;  /* +output zero point */
    tc_per_tensor_quant_params feature_quant; /* s_in * s_wf / s_state */
    tc_per_tensor_quant_params time_quant;    /* s_state * s_wt / s_out */
} tc_svdf_params;

/* int16 time weights and state (the usual layout of TFLite Micro keyword models). */
tc_status tc_svdf_s8_s16(const tc_context *ctx, const tc_svdf_params *params,
                         const int8_t *input, const int8_t *weights_feature,
                         const int16_t *weights_time, const int32_t *bias, int16_t *state,
                         int8_t *output);

/* int8 time weights and state. */
tc_status tc_svdf_s8(const tc_context *ctx, const tc_svdf_params *params, const int8_t *input,
                     const int8_t *weights_feature, const int8_t *weights_time,
                     const int32_t *bias, int8_t *state, int8_t *output);

/* -- UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations, int16 cell state ------------------
 * LiteRT's LstmStepInteger8x8_16 (lstm_eval.cc) per time step, per batch:
 *   gate_g  = sat16(requant(Wx_g . x + bx_g) + requant(Wh_g . h + bh_g)
 *                   [+ requant(peephole_g * c)])          Q3.12, or the scale of
 *             intermediate g with layer normalization, then (ApplyLayerNorm, per row):
 *             z = (1024 g - mean) / stddev in integers (GetInvSqrtQuantizedMultiplierExp),
 *             gate_g = sat16(requant(rdiv(z * ln_g + b_g, 1024), s_ln * 2^12))  Q3.12
 *   i, f, o = sigmoid(gate)  c~ = tanh(gate)              Q0.15 (gemmlowp int16)
 *   c       = sat16(rdiv(f * c, 15) + rdiv(i * c~, 30 + cell_scale))   [clip]
 *             (CIFG: i = 32767 - f)
 *   m       = clamp_s8(requant(o * tanh(c)) + hidden_zp)
 *   h       = m, or clamp_s8(requant(Wp . m' + bp) + zp_h) [clip] with a projection,
 *             where m' is m with MINUS the hidden zero point added (LiteRT 2.3,
 *             b/246629213) and bp folds +zp_hidden times the row sums
 *   output[t] = h
 * The *_bias arrays are TFLite's "effective biases": the gate bias (none with layer
 * normalization, where it is added inside the norm) plus the input zero point times each
 * weight row's sum (precomputed on the host as LiteRT's Prepare does).
 * Scratch (ctx): n_cell * (4 * int16 + 1 * int8) bytes. */
typedef struct {
    const int8_t *input_weights;      /* [cell][input]; NULL: no input gate (CIFG) */
    const int32_t *input_bias;        /* [cell] */
    tc_per_tensor_quant_params input_quant;
    const int8_t *recurrent_weights;  /* [cell][output] */
    const int32_t *recurrent_bias;    /* [cell] */
    tc_per_tensor_quant_params recurrent_quant;
    const int16_t *cell_weights;      /* [cell] peephole; NULL: none */
    tc_per_tensor_quant_params cell_quant;
    const int16_t *layer_norm_weights; /* [cell]; NULL: no layer normalization */
    const int32_t *layer_norm_bias;    /* [cell] the gate bias, added inside the norm */
    tc_per_tensor_quant_params layer_norm_quant; /* coefficients' scale (shift + 12 used) */
    int32_t variance_guard;           /* the variance used where it comes out below 1 */
} tc_lstm_gate;

typedef struct {
    int32_t batch;
    int32_t time;
    int32_t time_major;   /* input [time][batch][input] instead of [batch][time][input] */
    int32_t input_size;
    int32_t cells;
    int32_t output_size;
    tc_lstm_gate input_gate;
    tc_lstm_gate forget_gate;
    tc_lstm_gate cell_gate;
    tc_lstm_gate output_gate;
    int32_t cell_scale;          /* log2 of the cell state's scale (-15 .. -9) */
    int32_t cell_clip;           /* 0: none */
    tc_per_tensor_quant_params hidden_quant;
    int32_t hidden_zero_point;
    const int8_t *projection_weights;  /* [output][cell]; NULL: none (output = cells) */
    const int32_t *projection_bias;    /* [output] effective bias */
    tc_per_tensor_quant_params projection_quant;
    int32_t output_state_zero_point;
    int32_t projection_clip;     /* 0: none */
} tc_lstm_params;

tc_status tc_lstm_unidirectional_s8_s16(const tc_context *ctx, const tc_lstm_params *params,
                                        const int8_t *input, int8_t *output_state,
                                        int16_t *cell_state, int8_t *output);

/* -- UNIDIRECTIONAL_SEQUENCE_LSTM 16x8: int16 activations, int8 weights, int64 biases ---
 * TFLite Micro's LSTM (lstm_eval.h LstmStep<int16_t, int8_t, int16_t, int64_t>), the
 * oracle of 16x8 LSTMs (LiteRT 2.3 refuses them): the plain LSTM only (no CIFG, peephole,
 * projection or layer norm). Per time step and batch row, every value int16:
 *   gate_g = act(sat16(FC(x; Wx_g, b_g) + FC(h; Wh_g)))     FC: int64 dot product (+ bias),
 *            tc_requantize_s64 to Q3.12, clamped; act: logistic, or tanh for the cell gate
 *            (TFLite's int16 LUT kernels, tc_logistic_s16 / tc_tanh_s16)
 *   c      = sat16(mul(f, c) + mul(i, g)) [clip]     mul(a, b) = clamp16(requant(a * b))
 *   h      = clamp16(zp_h + requant(tanh(c) * o))    output[t] = h
 * Scratch (ctx): 5 * n_cell int16. */
typedef struct {
    const int8_t *input_weights;      /* [cell][input] */
    const int64_t *bias;              /* [cell] */
    tc_per_tensor_quant_params input_quant;      /* float(s_x * s_w) / 2^-12 */
    const int8_t *recurrent_weights;  /* [cell][cell] */
    tc_per_tensor_quant_params recurrent_quant;  /* float(s_h * s_w) / 2^-12 */
} tc_lstm_s16_gate;

typedef struct {
    int32_t batch;
    int32_t time;
    int32_t time_major;
    int32_t input_size;
    int32_t cells;
    tc_lstm_s16_gate input_gate;
    tc_lstm_s16_gate forget_gate;
    tc_lstm_s16_gate cell_gate;
    tc_lstm_s16_gate output_gate;
    int32_t cell_gate_sigmoid;   /* the cell gate's activation: 0 tanh, 1 logistic */
    tc_sigmoid_s16_params gate_activation;  /* Q3.12 input: (3, 0) */
    tc_sigmoid_s16_params cell_tanh;        /* tanh of the cell state */
    tc_per_tensor_quant_params forget_quant; /* 2^-15 */
    tc_per_tensor_quant_params input_quant;  /* 2^-30 / s_cell */
    tc_per_tensor_quant_params hidden_quant; /* 2^-30 / s_h */
    int32_t hidden_zero_point;
    int32_t cell_clip;           /* 0: none */
} tc_lstm_s16_params;

tc_status tc_lstm_unidirectional_s16(const tc_context *ctx, const tc_lstm_s16_params *params,
                                     const int16_t *input, int16_t *output_state,
                                     int16_t *cell_state, int16_t *output);

#endif /* TC_NN_RECURRENT_H */
