/*
 * numtext.h - UTF-8 and number text for the codec; see codec.h.
 *
 * Private to the codec's files. No Lua and no state: the checks of UTF-8
 * that the JSON writer and the JSON decoder share, and the text of integers
 * and doubles as JSON writes them. The small helpers are static inline
 * because the encoder calls them for every value and every key.
 *
 * Doubles are printed with snprintf("%e") and read with strtod, which follow
 * LC_NUMERIC. luaworkq never calls setlocale, so the "C" locale (decimal
 * point '.') applies; a program that embeds these files and sets a locale
 * with another decimal point would get broken JSON numbers.
 */
#ifndef WQ_NUMTEXT_H
#define WQ_NUMTEXT_H

#include <stddef.h>

/* Looks at the sequence starting at p[0] >= 0x80 (n > 0 bytes available).
 * Returns its length if it is valid UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF), else minus the length of its "maximal subpart", the
 * bytes that one U+FFFD replaces under the Unicode / WHATWG practice. */
static inline int wq_numtext_utf8(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n || p[i] < lo || p[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

/* Whether s[0..n) is valid UTF-8 throughout; *plain says whether JSON
 * writes it as it is, without an escape (which replacing invalid UTF-8
 * by U+FFFD does not change). One pass over the key serves both. */
static inline int wq_numtext_scan(const unsigned char *s, size_t n, int *plain)
{
    int valid = 1, ok = 1;
    for (size_t i = 0; i < n;) {
        if (s[i] >= 0x80) {
            int k = wq_numtext_utf8(s + i, n - i);
            valid &= k > 0;
            i += (size_t)(k > 0 ? k : -k);
            continue;
        }
        ok &= s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';
        i++;
    }
    *plain = ok;
    return valid;
}

/* Writes the decimal text of v and a NUL to buf (at least 21 bytes);
 * returns its length. */
static inline int wq_numtext_int(char *buf, long long v)
{
    char tmp[24];
    int n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* JSON text of a finite double (or of an infinite key, "inf"/"-inf"): the
 * shortest decimal that reads back to x, written as Python's repr writes
 * it (integral values keep a ".0"). buf holds at least 32 bytes; returns
 * the length, a NUL follows. */
int wq_numtext_double(char *buf, double x);

/* A copy of s[0..len) with each maximal invalid UTF-8 subpart replaced by
 * U+FFFD, as wq_codec_json_string writes it, and its length in *outlen.
 * The caller frees it; NULL when there is not enough memory. */
char *wq_numtext_fix_utf8(const char *s, size_t len, size_t *outlen);

#endif
