/*
 * numtext.c - the shortest text of a double, and invalid UTF-8 replaced;
 * see numtext.h.
 */
#include "numtext.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal digits of a positive finite double: x = 0.d1d2...dn * 10^(exp+1),
 * that is d1.d2...dn * 10^exp, with no trailing zeros. */
struct decimal {
    char d[20];
    int n, exp;
};

/* Sets dec from the text of "%.*e" (d.ddde+XX), dropping trailing zeros. */
static void read_decimal(const char *text, struct decimal *dec)
{
    const char *p = text;
    dec->n = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            dec->d[dec->n++] = *p;
    dec->exp = atoi(p + 1);
    while (dec->n > 1 && dec->d[dec->n - 1] == '0')
        dec->n--;
}

/* Whether the p-digit decimal m * 10^e (m < 10^p) reads back to x; if so
 * sets dec to it. */
static int reads_back(double x, uint64_t m, int e, struct decimal *dec)
{
    char text[48];
    snprintf(text, sizeof text, "%llue%d", (unsigned long long)m, e);
    if (strtod(text, NULL) != x)
        return 0;
    int n = snprintf(dec->d, sizeof dec->d, "%llu", (unsigned long long)m);
    dec->n = n;
    dec->exp = e + n - 1;
    while (dec->n > 1 && dec->d[dec->n - 1] == '0')
        dec->n--;
    return 1;
}

/* The p-digit decimal nearest to x, if it reads back. Only for a power of
 * two is the interval of decimals that read back to x lopsided (the gap to
 * the next double down is half the gap up), so that the nearest can fall
 * outside while its upper neighbour is inside: that one is tried too. */
static int try_digits(double x, int p, struct decimal *dec)
{
    char text[48];
    snprintf(text, sizeof text, "%.*e", p - 1, x);
    if (strtod(text, NULL) == x) {
        read_decimal(text, dec);
        return 1;
    }
    int e2;
    if (frexp(x, &e2) != 0.5 || x < DBL_MIN)
        return 0;
    read_decimal(text, dec);
    uint64_t m = 0;
    for (int i = 0; i < p; i++)
        m = m * 10 + (uint64_t)(i < dec->n ? dec->d[i] - '0' : 0);
    return reads_back(x, m + 1, dec->exp - (p - 1), dec);
}

/* The shortest decimal that reads back to x (positive, finite), the nearest
 * to x among those of that length, as Python's repr finds it. For a normal
 * double, at most one decimal of 15 digits lies close enough to read back
 * (15 digits are coarser than 53 bits), so if the nearest one does, no
 * shorter decimal exists that %.15g would not show; subnormals have fewer
 * bits and are searched from one digit up. 17 digits always read back. */
static void shortest(double x, struct decimal *dec)
{
    int p = x >= DBL_MIN ? 15 : 1;
    while (p < 17 && !try_digits(x, p, dec))
        p++;
    if (p == 17) {  /* no need to read it back */
        char text[48];
        snprintf(text, sizeof text, "%.16e", x);
        read_decimal(text, dec);
    }
}

/* Writes dec as Python's repr does: positional for exponents -4..15 (with
 * ".0" when integral), else d.ddde+XX with at least two exponent digits. */
static int put_decimal(char *buf, const struct decimal *dec)
{
    int n = 0, e = dec->exp;
    if (e < -4 || e >= 16) {
        buf[n++] = dec->d[0];
        if (dec->n > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dec->d + 1, (size_t)dec->n - 1);
            n += dec->n - 1;
        }
        return n + sprintf(buf + n, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    if (e < 0) {
        memcpy(buf + n, "0.000", (size_t)(1 - e));
        n += 1 - e;
        memcpy(buf + n, dec->d, (size_t)dec->n);
        n += dec->n;
    } else {
        for (int i = 0; i <= e; i++)
            buf[n++] = i < dec->n ? dec->d[i] : '0';
        buf[n++] = '.';
        if (dec->n > e + 1) {
            memcpy(buf + n, dec->d + e + 1, (size_t)(dec->n - e - 1));
            n += dec->n - e - 1;
        } else {
            buf[n++] = '0';
        }
    }
    buf[n] = '\0';
    return n;
}

int wq_numtext_double(char *buf, double x)
{
    int n = 0;
    if (fabs(x) < 1e16 && x == floor(x) && !(x == 0 && signbit(x))) {
        n = wq_numtext_int(buf, (long long)x);    /* the same digits, faster */
        memcpy(buf + n, ".0", 3);
        return n + 2;
    }
    if (isinf(x) || x == 0)
        return sprintf(buf, "%s", isinf(x) ? (x < 0 ? "-inf" : "inf") : "-0.0");
    if (x < 0)
        buf[n++] = '-';
    struct decimal dec;
    shortest(fabs(x), &dec);
    return n + put_decimal(buf + n, &dec);
}

char *wq_numtext_fix_utf8(const char *str, size_t len, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)str;
    char *fixed;
    size_t out = 0;
    if (len > SIZE_MAX / 3 || !(fixed = malloc(3 * len)))
        return NULL;                /* each byte becomes at most 3 */
    for (size_t i = 0; i < len;) {
        int k = s[i] < 0x80 ? 1 : wq_numtext_utf8(s + i, len - i);
        size_t step = k < 0 ? (size_t)-k : (size_t)k;
        memcpy(fixed + out, k < 0 ? "\xEF\xBF\xBD" : (const char *)s + i,
               k < 0 ? 3 : step);
        out += k < 0 ? 3 : step;
        i += step;
    }
    *outlen = out;
    return fixed;
}
