/* tray_header_split: one response header line from the server. */
#include "fuzz.h"
#include "tray.h"

#include <string.h>

static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data, *name = NULL, *value = NULL;
    size_t name_len = 0, value_len = 0, i;

    if (!tray_header_split(line, size, &name, &name_len, &value, &value_len))
        return 0;
    /* the name: the line's first bytes, token characters only, then ':' */
    FUZZ_CHECK(name == line);
    FUZZ_CHECK(name_len > 0 && name_len < size);
    FUZZ_CHECK(line[name_len] == ':');
    for (i = 0; i < name_len; i++)
        FUZZ_CHECK(tchar((unsigned char)name[i]));
    /* the value: inside the line, after the colon, trimmed */
    FUZZ_CHECK(value >= line + name_len + 1);
    FUZZ_CHECK(value + value_len <= line + size);
    if (value_len > 0) {
        FUZZ_CHECK(value[0] != ' ' && value[0] != '\t');
        FUZZ_CHECK(value[value_len - 1] != ' ' && value[value_len - 1] != '\t');
    }
    /* no byte that would break the "name\0value\0" list http.c builds from it */
    for (i = 0; i < value_len; i++)
        FUZZ_CHECK(value[i] != '\0' && value[i] != '\r' && value[i] != '\n');
    return 0;
}
