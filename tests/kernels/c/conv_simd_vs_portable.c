/*
 * Bare-metal test program of tests/kernels/test_kernels_conv.py: each optimized kernel
 * (this ISA) against the portable kernel compiled into the same image under ref_* names,
 * on random shapes and parameters. Built with -DITERATIONS and -DDIRECT_CHANNELS.
 */
#include <stdint.h>
#include <string.h>
#include "tc_nn_conv.h"
#include "tc_nn_math_types.h"

#define REF_ARGS(P, Q) const tc_context *, const P *, const Q *, const tc_dims *, \
    const int8_t *, const tc_dims *, const int8_t *, const tc_dims *, const int32_t *, \
    const tc_dims *, int8_t *
tc_status ref_convolve_s8(REF_ARGS(tc_conv_params, tc_per_channel_quant_params));
tc_status ref_convolve_1x1_s8(REF_ARGS(tc_conv_params, tc_per_channel_quant_params));
tc_status ref_fully_connected_s8(REF_ARGS(tc_fc_params, tc_per_channel_quant_params));
tc_status ref_fully_connected_f64_s8(REF_ARGS(tc_fc_params, tc_f64_scale_params));

void put(const char *s);
static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }
static int32_t rr(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}
static int ilog2(int32_t v) { int r = 0; while (v > 1) { v >>= 1; ++r; } return r; }
static void put_int(int32_t v)
{
    char b[16]; int i = 15; uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    b[i] = 0; do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) b[--i] = '-';
    put(b + i);
}

#define GUARD 16
static int8_t input[40000], filter[40000], out_ref[40000], out_opt[40000];
static int32_t bias[512], mult[512], shift[512], expo[512];
static int64_t mant[512];
static uint8_t scratch[8192 + 2 * GUARD + 4];

static void fill(int8_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) p[i] = (int8_t)rr(-128, 127);
}
static void fill_quant(int32_t channels, int32_t depth)
{
    for (int32_t c = 0; c < channels; ++c) {
        mult[c] = (int32_t)(0x40000000u + rnd() % 0x3FFFFFFFu);
        shift[c] = -6 - ilog2(depth) / 2 - rr(0, 3);
        mant[c] = (int64_t)((1ull << 52) | ((uint64_t)rnd() << 28) | rnd());
        expo[c] = 53 + 6 + ilog2(depth) / 2 + rr(0, 3);
        bias[c] = rr(-30000, 30000);
    }
}
static int32_t narrow_cases;
/* tinyconv.quant.narrow_requantization on the current weights (channel c: `depth` bytes at
 * filter + c * depth), bias and quantization: whether the code generator would set
 * tc_per_channel_quant_params.narrow. Where it holds, one case in three still leaves it 0,
 * so both requantization paths of the optimized kernels run. */
static int32_t narrow_flag(int32_t channels, int32_t depth, const int32_t *b,
                           int32_t input_offset, int32_t output_offset, int32_t weight_offset)
{
    const int64_t lo = -128 + input_offset, hi = 127 + input_offset;
    const int64_t x_max = lo < 0 ? (-lo > hi ? -lo : hi) : hi;
    for (int32_t c = 0; c < channels; ++c) {
        int64_t bound = b != NULL ? (b[c] < 0 ? -(int64_t)b[c] : b[c]) : 0;
        for (int32_t k = 0; k < depth; ++k) {
            const int64_t w = (int64_t)filter[c * depth + k] + weight_offset;
            bound += (w < 0 ? -w : w) * x_max;
        }
        const int32_t right = -shift[c];
        if (bound >= (1LL << 30) || right < 1 || right > 31 || mult[c] < 0) {
            return 0;
        }
        const int64_t high = (bound * mult[c] + (1LL << 30)) >> 31;
        const int64_t add = (1LL << right >> 1) + (int64_t)output_offset * (1LL << right);
        if (high + (add < 0 ? -add : add) >= (1LL << 31)) {
            return 0;
        }
    }
    if (rr(0, 2) == 0) {
        return 0;
    }
    ++narrow_cases;
    return 1;
}
static tc_activation random_activation(void)
{
    tc_activation a = {-128, 127};
    if (rr(0, 2) == 0) { a.min = rr(-128, 0); a.max = rr(0, 127); }
    return a;
}
/* Runs one kernel on the current buffers; 1 when it reports an error. */
#define RUN(fn, ctx, params, quant, in_dims, f_dims, out_dims, out) \
    (fn(ctx, params, quant, &in_dims, input, &f_dims, filter, &bias_dims, b, &out_dims, out) \
     != TC_OK)

static int compare(const char *what, int iteration, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        if (out_ref[i] != out_opt[i]) {
            put("MISMATCH "); put(what); put(" iteration "); put_int(iteration);
            put(" byte "); put_int(i); put("\n");
            return 1;
        }
    }
    return 0;
}

int run_tests(void)
{
    int failures = 0;
    int32_t compared = 0;
    const tc_context none = {NULL, 0};
    for (int it = 0; it < ITERATIONS; ++it) {
        /* General convolution: groups, strides, dilations, SAME/VALID, batches. */
        const int32_t groups = rr(1, 3);
        tc_dims in = {rr(1, 2), rr(1, 11), rr(1, 11), 0}, out;
        tc_dims f = {0, rr(1, 5), rr(1, 5), rr(1, 19)};
        if (rr(0, 1)) {
            f.c = DIRECT_CHANNELS * rr(1, 3); /* whole SIMD words per tap */
        }
        in.c = f.c * groups;
        f.n = rr(1, 7) * groups;
        tc_conv_params p = {rr(-127, 128), rr(-128, 127), {rr(1, 3), rr(1, 3)}, {0, 0},
                            {rr(1, 3), rr(1, 3)}, random_activation()};
        const int32_t eh = (f.h - 1) * p.dilation.h + 1, ew = (f.w - 1) * p.dilation.w + 1;
        if (rr(0, 1) == 0 || eh > in.h || ew > in.w) { /* SAME */
            out.h = (in.h + p.stride.h - 1) / p.stride.h;
            out.w = (in.w + p.stride.w - 1) / p.stride.w;
        } else { /* VALID */
            out.h = (in.h - eh) / p.stride.h + 1;
            out.w = (in.w - ew) / p.stride.w + 1;
        }
        const int32_t pad_h = (out.h - 1) * p.stride.h + eh - in.h;
        const int32_t pad_w = (out.w - 1) * p.stride.w + ew - in.w;
        p.padding.h = pad_h > 0 ? pad_h / 2 : 0;
        p.padding.w = pad_w > 0 ? pad_w / 2 : 0;
        out.n = in.n;
        out.c = f.n;
        const int32_t depth = f.h * f.w * f.c;
        fill(input, in.n * in.h * in.w * in.c);
        fill(filter, f.n * depth);
        fill_quant(f.n, depth);
        tc_per_channel_quant_params q = {mult, shift, 0};
        const tc_f64_scale_params fq = {mant, expo};
        tc_dims bias_dims = {1, 1, 1, f.n};
        const int32_t *b = rr(0, 3) ? bias : NULL;
        q.narrow = narrow_flag(f.n, depth, b, p.input_offset, p.output_offset, 0);
        const int32_t fast = tc_convolve_s8_get_fast_buffer_size(&in, &f);
        const int32_t minimum = tc_convolve_s8_get_buffer_size(&in, &f);
#if TC_ISA_DSP /* two int16 columns of K rounded up to 4, a spare word; none when K < 4 */
        const int32_t want_fast = depth < 4 ? 0 : 4 * ((depth + 3) & ~3) + 4;
#else
        const int32_t want_fast = 4 * depth;
#endif
        if (fast != want_fast || minimum != 0) {
            put("SCRATCH SIZE "); put_int(minimum); put(" "); put_int(fast); put("\n");
            ++failures;
        }
        /* No scratch (the direct path, any channel count), or enough for im2col. */
        const int32_t need = rr(0, 1) ? minimum : fast;
        /* Misaligned scratch fenced by guard bytes: the kernel must stay inside. */
        uint8_t *buf = scratch + GUARD + rr(0, 3);
        memset(scratch, 0xA5, sizeof scratch);
        const tc_context ctx = {need > 0 ? buf : NULL, need};
        int32_t n = out.n * out.h * out.w * out.c;
        memset(out_ref, 0x55, (size_t)n);
        memset(out_opt, 0x66, (size_t)n);
        failures += RUN(ref_convolve_s8, &none, &p, &q, in, f, out, out_ref);
        failures += RUN(tc_convolve_s8, &ctx, &p, &q, in, f, out, out_opt);
        failures += compare("conv", it, n);
        for (int32_t i = 0; i < (int32_t)sizeof scratch; ++i) {
            if ((scratch + i < buf || scratch + i >= buf + need) && scratch[i] != 0xA5) {
                put("SCRATCH OVERRUN conv iteration "); put_int(it); put("\n");
                ++failures;
                break;
            }
        }
        compared += n;

        /* 1x1 convolution (GEMM). */
        tc_dims in1 = {rr(1, 2), rr(1, 9), rr(1, 9), rr(1, 40)}, f1 = {rr(1, 20), 1, 1, 0}, out1;
        f1.c = in1.c;
        out1 = in1;
        out1.c = f1.n;
        p.stride.h = p.stride.w = 1;
        p.padding.h = p.padding.w = 0;
        fill(input, in1.n * in1.h * in1.w * in1.c);
        fill(filter, f1.n * f1.c);
        fill_quant(f1.n, f1.c);
        bias_dims.c = f1.n;
        q.narrow = narrow_flag(f1.n, f1.c, b, p.input_offset, p.output_offset, 0);
        n = out1.n * out1.h * out1.w * out1.c;
        memset(out_ref, 0x55, (size_t)n);
        memset(out_opt, 0x66, (size_t)n);
        failures += RUN(ref_convolve_1x1_s8, &none, &p, &q, in1, f1, out1, out_ref);
        failures += RUN(tc_convolve_1x1_s8, &none, &p, &q, in1, f1, out1, out_opt);
        failures += compare("conv_1x1", it, n);
        compared += n;

        /* Fully connected, both requantizations, with a weight zero point at times. */
        tc_dims fin = {rr(1, 3), 1, 1, rr(1, 300)}, ff = {rr(1, 40), 1, 1, 0}, fout;
        ff.c = fin.c;
        fout = fin;
        fout.c = ff.n;
        const tc_fc_params fp = {rr(-127, 128), rr(0, 2) ? 0 : rr(-127, 128), rr(-128, 127),
                                 random_activation()};
        fill(input, fin.n * fin.c);
        fill(filter, ff.n * ff.c);
        fill_quant(ff.n, ff.c);
        bias_dims.c = ff.n;
        q.narrow = narrow_flag(ff.n, ff.c, b, fp.input_offset, fp.output_offset,
                               fp.filter_offset);
        n = fout.n * fout.c;
        memset(out_ref, 0x55, (size_t)n);
        memset(out_opt, 0x66, (size_t)n);
        failures += RUN(ref_fully_connected_s8, &none, &fp, &q, fin, ff, fout, out_ref);
        failures += RUN(tc_fully_connected_s8, &none, &fp, &q, fin, ff, fout, out_opt);
        failures += compare("fully_connected", it, n);
        memset(out_ref, 0x55, (size_t)n);
        memset(out_opt, 0x66, (size_t)n);
        failures += RUN(ref_fully_connected_f64_s8, &none, &fp, &fq, fin, ff, fout, out_ref);
        failures += RUN(tc_fully_connected_f64_s8, &none, &fp, &fq, fin, ff, fout, out_opt);
        failures += compare("fully_connected_f64", it, n);
        compared += 2 * n;
    }
    put("compared "); put_int(compared); put(" failures "); put_int(failures);
    put(" narrow "); put_int(narrow_cases); put("\n");
    return failures;
}
