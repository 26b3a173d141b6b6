/*
 * The app's platform API (app/tc_platform.h) on the build machine, with stdio: the same
 * app and model run natively under AddressSanitizer and UBSan.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tc_platform.h"

#define TC_HOST_MAX_FILES 8

static FILE *tc_files[TC_HOST_MAX_FILES];

int tc_file_open(const char *path, int mode)
{
    for (int handle = 0; handle < TC_HOST_MAX_FILES; handle++) {
        if (tc_files[handle] == NULL) {
            tc_files[handle] = fopen(path, mode == TC_FILE_WRITE ? "wb" : "rb");
            return tc_files[handle] != NULL ? handle : -1;
        }
    }
    return -1;
}

long tc_file_length(int handle)
{
    FILE *file = tc_files[handle];
    const long position = ftell(file);
    if (position < 0 || fseek(file, 0, SEEK_END) != 0) {
        return -1;
    }
    const long length = ftell(file);
    return fseek(file, position, SEEK_SET) == 0 ? length : -1;
}

int tc_file_read(int handle, void *buffer, size_t bytes)
{
    return fread(buffer, 1, bytes, tc_files[handle]) == bytes ? 0 : -1;
}

int tc_file_write(int handle, const void *buffer, size_t bytes)
{
    return fwrite(buffer, 1, bytes, tc_files[handle]) == bytes ? 0 : -1;
}

void tc_file_close(int handle)
{
    fclose(tc_files[handle]);
    tc_files[handle] = NULL;
}

void tc_console_write(const char *text)
{
    fputs(text, stdout);
}

long tc_stack_high_water(void)
{
    /* Not measured natively: sanitizer frames say nothing about the target's stack. */
    return -1;
}

long tc_stack_reserved(void)
{
    return -1;
}

void tc_exit(int code)
{
    fflush(stdout);
    exit(code);
}
