/*
 * The app's platform API (app/tc_platform.h) over Arm semihosting: files and console on
 * the host side of QEMU or of the debug probe, the command line from
 * `-semihosting-config arg=...`, and the exit code through SYS_EXIT_EXTENDED (the plain
 * SYS_EXIT of 32-bit Arm carries no exit code).
 */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"
#include "tc_platform.h"

int tc_platform_args(char **argv, int max_args, char *buffer, int buffer_size);

static size_t tc_strlen(const char *text)
{
    size_t n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}

int tc_file_open(const char *path, int mode)
{
    const uintptr_t args[3] = {
        (uintptr_t)path,
        (uintptr_t)(mode == TC_FILE_WRITE ? TC_SYS_OPEN_WB : TC_SYS_OPEN_RB),
        (uintptr_t)tc_strlen(path),
    };
    return tc_semihost_call(TC_SYS_OPEN, args);
}

long tc_file_length(int handle)
{
    const uintptr_t args[1] = {(uintptr_t)handle};
    return tc_semihost_call(TC_SYS_FLEN, args);
}

int tc_file_read(int handle, void *buffer, size_t bytes)
{
    const uintptr_t args[3] = {(uintptr_t)handle, (uintptr_t)buffer, (uintptr_t)bytes};
    /* SYS_READ returns how many bytes it could NOT read. */
    return tc_semihost_call(TC_SYS_READ, args) == 0 ? 0 : -1;
}

int tc_file_write(int handle, const void *buffer, size_t bytes)
{
    const uintptr_t args[3] = {(uintptr_t)handle, (uintptr_t)buffer, (uintptr_t)bytes};
    return tc_semihost_call(TC_SYS_WRITE, args) == 0 ? 0 : -1;
}

void tc_file_close(int handle)
{
    const uintptr_t args[1] = {(uintptr_t)handle};
    (void)tc_semihost_call(TC_SYS_CLOSE, args);
}

void tc_console_write(const char *text)
{
    (void)tc_semihost_call(TC_SYS_WRITE0, text);
}

void tc_exit(int code)
{
    const uintptr_t args[2] = {TC_ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)code};
    (void)tc_semihost_call(TC_SYS_EXIT_EXTENDED, args);
    for (;;) {
        /* A host that ignores the exit request (no debugger attached) ends up here. */
    }
}

/* Splits the host's command line on spaces into argv (argv[0] is the program name).
 * Returns argc; 1 when the host gave no arguments. */
int tc_platform_args(char **argv, int max_args, char *buffer, int buffer_size)
{
    uintptr_t args[2] = {(uintptr_t)buffer, (uintptr_t)(buffer_size - 1)};
    int argc = 0;
    if (tc_semihost_call(TC_SYS_GET_CMDLINE, args) == 0) {
        const int length = (int)args[1];
        buffer[length < buffer_size ? length : buffer_size - 1] = '\0';
        char *cursor = buffer;
        while (*cursor != '\0' && argc < max_args) {
            while (*cursor == ' ') {
                *cursor++ = '\0';
            }
            if (*cursor == '\0') {
                break;
            }
            argv[argc++] = cursor;
            while (*cursor != '\0' && *cursor != ' ') {
                cursor++;
            }
        }
    }
    if (argc == 0) {
        argv[argc++] = "tinyconv"; /* a string literal: no RAM for the name */
    }
    argv[argc] = NULL;
    return argc;
}
