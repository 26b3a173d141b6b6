/*
 * tinyconv app: feeds a generated model (model.h) from a file and writes its outputs.
 *
 *   tinyconv <input.bin> <output.bin> [count]
 *
 * For each of `count` samples (default: input file length / total input bytes), reads
 * each input tensor's bytes, in order, straight into tc_model_input(i), invokes the model
 * between the tc_bench_begin()/tc_bench_end() markers, and appends each output tensor's
 * bytes to the output file. With no arguments, runs one invoke on zero input and prints a
 * summary of the outputs. Either way the last line is machine-readable:
 *
 *   TINYCONV arena=<bytes> stack=<high-water bytes> invokes=<n> status=<0 or error>
 *
 * and the exit code is 0, the model's error status, or a TC_EXIT_* code (tc_platform.h),
 * e.g. TC_EXIT_STACK when the whole reserved stack was used.
 *
 * Where the model directory holds samples.h (tinyconv export --samples: real test examples
 * in flash, with their labels and the class names), running with no arguments classifies
 * them instead: one line per sample, the accuracy, then the TINYCONV line,
 *
 *   sample 3: predicted 7 (sneaker) true 7 (sneaker) ok
 *   accuracy 9/10
 *
 * the prediction being the first index of the largest int8 score (numpy.argmax).
 *
 * Built with TC_DUMP_LAYERS (`make EXTRA_CFLAGS=-DTC_DUMP_LAYERS`, or a model.h written
 * by `tinyconv verify --layers`), every op's output tensor is dumped right after the op:
 * into the output file, before that sample's outputs, as a record of three little-endian
 * uint32 (op index, tensor index, byte count) and the tensor's bytes; with no arguments,
 * as a console line with its CRC-32.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "tc_platform.h"
#include "tc_print.h"

#if defined(__has_include)
#if __has_include("samples.h")
#include "samples.h"
#define TC_HAVE_SAMPLES 1
#endif
#endif

static size_t tc_total_input_bytes(void)
{
    size_t total = 0;
    for (int i = 0; i < TC_MODEL_NUM_INPUTS; i++) {
        total += tc_model_input_bytes(i);
    }
    return total;
}

/* The exit code for a model status: the status itself where a shell can carry it. */
static int tc_exit_code(int status)
{
    return (status > 0 && status < 256) ? status : (status == 0 ? 0 : 1);
}

static int tc_report(int invokes, int status)
{
    const long stack = tc_stack_high_water();
    const long reserved = tc_stack_reserved();
    tc_printf("TINYCONV arena=%lu stack=%ld invokes=%d status=%d\n",
              (unsigned long)TC_MODEL_ARENA_BYTES, stack, invokes, status);
    if (reserved > 0 && stack >= reserved) {
        /* Every painted word was overwritten: the stack reached (most likely passed) its
         * limit, so whatever lies below it may be corrupt. */
        tc_printf("tinyconv: stack overflow: all %ld reserved stack bytes were used; "
                  "raise STACK_SIZE\n", reserved);
        return TC_EXIT_STACK;
    }
    return tc_exit_code(status);
}

static int tc_parse_count(const char *text, long *count)
{
    long value = 0;
    if (*text == '\0') {
        return -1;
    }
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9' || value > 100000000L) {
            return -1;
        }
        value = value * 10 + (*text - '0');
    }
    *count = value;
    return 0;
}

#if !defined(TC_HAVE_SAMPLES) || defined(TC_DUMP_LAYERS)
/* CRC-32 (IEEE, as zlib.crc32), bitwise: no table in flash for a summary line. */
static uint32_t tc_crc32(const uint8_t *data, size_t bytes)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < bytes; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
#endif

#ifdef TC_DUMP_LAYERS
/* Where layer dumps go: the open output file, or the console when it is -1. */
static int tc_dump_file = -1;
static int tc_dump_failed = 0;

void tc_model_dump_layer(int op_index, int tensor_index, const void *data, size_t bytes)
{
    if (tc_dump_file < 0) {
        tc_printf("layer op %d tensor %d: %zu bytes, crc32 0x%08x\n", op_index, tensor_index,
                  bytes, (unsigned)tc_crc32((const uint8_t *)data, bytes));
        return;
    }
    const uint32_t header[3] = {(uint32_t)op_index, (uint32_t)tensor_index, (uint32_t)bytes};
    if (tc_file_write(tc_dump_file, header, sizeof header) != 0 ||
        tc_file_write(tc_dump_file, data, bytes) != 0) {
        tc_dump_failed = 1;
    }
}
#endif

#ifndef TC_HAVE_SAMPLES
static int tc_run_on_zero_input(void)
{
    for (int i = 0; i < TC_MODEL_NUM_INPUTS; i++) {
        memset(tc_model_input(i), 0, tc_model_input_bytes(i));
    }
    const int status = tc_bench_invoke();
    tc_printf("tinyconv: one invoke on zero input, status %d\n", status);
    for (int o = 0; status == 0 && o < TC_MODEL_NUM_OUTPUTS; o++) {
        const int8_t *values = (const int8_t *)tc_model_output(o);
        const size_t bytes = tc_model_output_bytes(o);
        tc_printf("output %d: %zu bytes, crc32 0x%08x, first bytes as int8:", o, bytes,
                  (unsigned)tc_crc32((const uint8_t *)values, bytes));
        for (size_t i = 0; i < bytes && i < 16; i++) {
            tc_printf(" %d", values[i]);
        }
        tc_printf("\n");
    }
    return tc_report(1, status);
}
#endif

#ifdef TC_HAVE_SAMPLES
/* The first index of the largest score, as numpy.argmax. */
static int tc_argmax(const int8_t *scores, size_t count)
{
    size_t best = 0;
    for (size_t i = 1; i < count; i++) {
        if (scores[i] > scores[best]) {
            best = i;
        }
    }
    return (int)best;
}

static const char *tc_class_name(int index)
{
    return (index >= 0 && index < TC_SAMPLES_NUM_CLASSES) ? tc_samples_class_name[index] : "?";
}

/* Classifies the samples of samples.h: one invoke each, from the model's initial state. */
static int tc_run_on_samples(void)
{
    int status = 0;
    int invokes = 0;
    int correct = 0;
    tc_printf("tinyconv: classifying %d samples of %s\n", TC_SAMPLES_COUNT, tc_samples_dataset);
    for (int s = 0; s < TC_SAMPLES_COUNT && status == 0; s++) {
        tc_model_reset();
        memcpy(tc_model_input(0), tc_samples_input[s], TC_SAMPLES_BYTES);
        status = tc_bench_invoke();
        invokes++;
        if (status != 0) {
            tc_printf("sample %d: status %d\n", s, status);
            break;
        }
        const int predicted = tc_argmax((const int8_t *)tc_model_output(0),
                                        tc_model_output_bytes(0));
        const int label = (int)tc_samples_label[s];
        correct += predicted == label;
        tc_printf("sample %d: predicted %d (%s) true %d (%s) %s\n", s, predicted,
                  tc_class_name(predicted), label, tc_class_name(label),
                  predicted == label ? "ok" : "wrong");
    }
    if (status == 0) {
        tc_printf("accuracy %d/%d\n", correct, TC_SAMPLES_COUNT);
    }
    return tc_report(invokes, status);
}
#endif

static int tc_run_on_files(const char *input_path, const char *output_path,
                           const char *count_text)
{
    const size_t sample_bytes = tc_total_input_bytes();
    const int input = tc_file_open(input_path, TC_FILE_READ);
    if (input < 0) {
        tc_printf("tinyconv: cannot open input file %s\n", input_path);
        return TC_EXIT_USAGE;
    }
    const long length = tc_file_length(input);
    if (length < 0 || sample_bytes == 0) {
        tc_printf("tinyconv: cannot read the length of %s\n", input_path);
        return TC_EXIT_USAGE;
    }
    long count = 0;
    if (count_text != NULL) {
        if (tc_parse_count(count_text, &count) != 0) {
            tc_printf("tinyconv: count '%s' is not a number\n", count_text);
            return TC_EXIT_USAGE;
        }
        if ((unsigned long)count * sample_bytes > (unsigned long)length) {
            tc_printf("tinyconv: %s holds %ld bytes, fewer than %ld samples of %zu bytes\n",
                      input_path, length, count, sample_bytes);
            return TC_EXIT_USAGE;
        }
    } else {
        if ((unsigned long)length % sample_bytes != 0) {
            tc_printf("tinyconv: %s holds %ld bytes, not a whole number of %zu-byte samples\n",
                      input_path, length, sample_bytes);
            return TC_EXIT_USAGE;
        }
        count = (long)((unsigned long)length / sample_bytes);
    }
    const int output = tc_file_open(output_path, TC_FILE_WRITE);
    if (output < 0) {
        tc_printf("tinyconv: cannot create output file %s\n", output_path);
        return TC_EXIT_IO;
    }
#ifdef TC_DUMP_LAYERS
    tc_dump_file = output;
#endif

    int status = 0;
    long invokes = 0;
    for (long sample = 0; sample < count && status == 0; sample++) {
        for (int i = 0; i < TC_MODEL_NUM_INPUTS; i++) {
            if (tc_file_read(input, tc_model_input(i), tc_model_input_bytes(i)) != 0) {
                tc_printf("tinyconv: short read from %s\n", input_path);
                return TC_EXIT_USAGE;
            }
        }
        status = tc_bench_invoke();
        invokes++;
#ifdef TC_DUMP_LAYERS
        if (tc_dump_failed) {
            tc_printf("tinyconv: cannot write layer dumps to %s\n", output_path);
            return TC_EXIT_IO;
        }
#endif
        for (int o = 0; status == 0 && o < TC_MODEL_NUM_OUTPUTS; o++) {
            if (tc_file_write(output, tc_model_output(o), tc_model_output_bytes(o)) != 0) {
                tc_printf("tinyconv: cannot write %s\n", output_path);
                return TC_EXIT_IO;
            }
        }
    }
    tc_file_close(output);
    tc_file_close(input);
    return tc_report((int)invokes, status);
}

int main(int argc, char **argv)
{
    if (argc == 1) {
#ifdef TC_HAVE_SAMPLES
        return tc_run_on_samples();
#else
        return tc_run_on_zero_input();
#endif
    }
    if (argc < 3 || argc > 4) {
        tc_printf("usage: %s <input.bin> <output.bin> [count]\n", argv[0]);
        return TC_EXIT_USAGE;
    }
    return tc_run_on_files(argv[1], argv[2], argc == 4 ? argv[3] : NULL);
}
