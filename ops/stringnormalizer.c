/* stringnormalizer.c -- StringNormalizer (opset 10): of a string tensor
 * [C] or [1, C], the strings that are not stopwords (compared exactly, or
 * ignoring case when is_case_sensitive is 0), in order, then turned to
 * lower or upper case (case_change_action).  When every string is a
 * stopword the output is [1] (or [1, 1]) holding "", as the spec says.
 *
 * Case is mapped the same whatever the locale attribute names (no
 * setlocale, no process-wide state): ASCII, Latin-1, Latin Extended-A,
 * basic Greek and Cyrillic letters, whose upper and lower forms take the
 * same number of UTF-8 bytes, so a string keeps its length.  Other bytes,
 * those of longer UTF-8 sequences and invalid ones included, stay as they
 * are. */
#include <stdbool.h>
#include <string.h>

#include "../runtime/exec.h"

typedef enum { CASE_NONE, CASE_LOWER, CASE_UPPER } case_action;

typedef struct sn_attrs {
    case_action action;
    bool sensitive;
    int n_stop;
    char *const *stop;
} sn_attrs;

/* ---- case mapping ------------------------------------------------------ */

/* In a run of code points [lo, hi] where upper and lower case alternate,
 * upper case on code points of parity `upper_parity`: cp in the case
 * asked for. */
static unsigned map_alternating(unsigned cp, bool upper, unsigned upper_parity)
{
    bool is_upper = (cp & 1u) == upper_parity;
    if (is_upper == upper)
        return cp;
    return is_upper ? cp + 1 : cp - 1;
}

/* Code point cp in upper (or lower) case; itself where it has no case
 * or its other case would take another number of UTF-8 bytes. */
static unsigned map_cp(unsigned cp, bool upper)
{
    if (cp < 0x80) {
        if (upper && cp >= 'a' && cp <= 'z')
            return cp - 0x20;
        if (!upper && cp >= 'A' && cp <= 'Z')
            return cp + 0x20;
        return cp;
    }
    if (cp >= 0xC0 && cp <= 0xFE && cp != 0xD7 && cp != 0xF7 && cp != 0xDF) /* Latin-1, not x, / or sharp s */
        return upper ? cp & ~0x20u : cp | 0x20u;
    if (cp == 0xFF || cp == 0x178) /* y with diaeresis */
        return upper ? 0x178 : 0xFF;
    if ((cp >= 0x100 && cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
        return map_alternating(cp, upper, 0);
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return map_alternating(cp, upper, 1);
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) /* Greek capitals */
        return upper ? cp : cp + 0x20;
    if (cp >= 0x3B1 && cp <= 0x3C9) /* Greek small letters; final sigma's capital is sigma's */
        return !upper ? cp : cp == 0x3C2 ? 0x3A3 : cp - 0x20;
    if (cp >= 0x400 && cp <= 0x40F)
        return upper ? cp : cp + 0x50;
    if (cp >= 0x450 && cp <= 0x45F)
        return upper ? cp - 0x50 : cp;
    if (cp >= 0x410 && cp <= 0x42F)
        return upper ? cp : cp + 0x20;
    if (cp >= 0x430 && cp <= 0x44F)
        return upper ? cp - 0x20 : cp;
    return cp;
}

/* The character at s (one byte, or a two-byte UTF-8 sequence) in upper
 * or lower case, into out; returns the bytes it spans, the same number
 * it writes (0 at the terminator). */
static size_t map_unit(const unsigned char *s, bool upper, unsigned char out[2])
{
    if (!s[0])
        return 0;
    if (s[0] >= 0xC2 && s[0] <= 0xDF && (s[1] & 0xC0) == 0x80) {
        unsigned cp = map_cp(((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu), upper);
        /* cp stays within [0x80, 0x7FF]: two bytes again */
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    /* a byte of a longer sequence (or an invalid one) is no code point */
    out[0] = s[0] < 0x80 ? (unsigned char)map_cp(s[0], upper) : s[0];
    return 1;
}

/* Writes s in upper or lower case to dst (strlen(s) + 1 bytes). */
static void map_string(char *dst, const char *s, bool upper)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char *d = (unsigned char *)dst;
    size_t n;
    while ((n = map_unit(p, upper, d)))
        p += n, d += n;
    *d = 0;
}

/* Whether a and b are equal once both are in upper case. */
static bool equal_ignoring_case(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    for (;;) {
        unsigned char ua[2], ub[2];
        size_t na = map_unit(p, true, ua), nb = map_unit(q, true, ub);
        if (na != nb || (na && memcmp(ua, ub, na)))
            return false;
        if (!na)
            return true;
        p += na, q += nb;
    }
}

/* ---- the op ------------------------------------------------------------ */

static keel_status read_attrs(kl_opctx *c, sn_attrs *a)
{
    const char *act = kl_attr_str(c->node, "case_change_action", "NONE");
    if (!strcmp(act, "NONE"))
        a->action = CASE_NONE;
    else if (!strcmp(act, "LOWER"))
        a->action = CASE_LOWER;
    else if (!strcmp(act, "UPPER"))
        a->action = CASE_UPPER;
    else
        return kl_op_fail(c, KEEL_ERR_INVALID, "case_change_action '%.64s': NONE, LOWER or UPPER expected", act);
    a->sensitive = kl_attr_int(c->node, "is_case_sensitive", 0) != 0;
    a->n_stop = 0;
    a->stop = NULL;
    const kl_attr *sw = kl_node_attr(c->node, "stopwords");
    /* (an empty list in a file before IR 3, without its type, reads as int 0) */
    bool untyped_empty = sw && sw->type == KL_ATTR_INT && sw->i == 0;
    if (sw && sw->type != KL_ATTR_STRINGS && !untyped_empty)
        return kl_op_fail(c, KEEL_ERR_INVALID, "stopwords must be a list of strings");
    if (sw && sw->type == KL_ATTR_STRINGS) {
        a->n_stop = sw->n;
        a->stop = sw->strings;
    }
    return KEEL_OK;
}

/* String i of x ("" for a NULL pointer). */
static const char *string_at(const kl_tensor *x, int64_t i)
{
    const char *s = ((char *const *)x->data)[i];
    return s ? s : "";
}

static bool is_stopword(const sn_attrs *a, const char *s)
{
    for (int k = 0; k < a->n_stop; k++) {
        const char *w = a->stop[k] ? a->stop[k] : "";
        if (a->sensitive ? !strcmp(s, w) : equal_ignoring_case(s, w))
            return true;
    }
    return false;
}

/* The input as the op takes it: strings, [C] or [1, C], with data. */
static keel_status check_input(kl_opctx *c)
{
    const kl_tensor *x = c->in[0];
    if (x->dtype != KEEL_STRING)
        return kl_op_fail(c, KEEL_ERR_INVALID, "input is %s; StringNormalizer takes strings", kl_dtype_name(x->dtype));
    if (x->rank != 1 && !(x->rank == 2 && x->dims[0] == 1))
        return kl_op_fail(c, KEEL_ERR_SHAPE, "input has rank %d%s; [C] or [1, C] expected", x->rank,
                          x->rank == 2 ? " and more than one row" : "");
    if (kl_numel(x) && !x->data)
        return kl_op_needs_data(c, 0);
    return KEEL_OK;
}

/* Strings of x that are not stopwords. */
static int64_t count_kept(const sn_attrs *a, const kl_tensor *x)
{
    int64_t kept = 0;
    for (int64_t i = 0; i < kl_numel(x); i++)
        kept += !is_stopword(a, string_at(x, i));
    return kept;
}

/* The node's attributes into *a, and its input checked. */
static keel_status read_node(kl_opctx *c, sn_attrs *a)
{
    keel_status st = read_attrs(c, a);
    return st ? st : check_input(c);
}

static keel_status sn_infer(kl_opctx *c)
{
    sn_attrs a;
    keel_status st = read_node(c, &a);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    int64_t kept = count_kept(&a, x);
    int64_t dims[2] = {1, kept ? kept : 1}; /* all removed: one "" */
    if (x->rank == 1)
        kl_set_shape(c->out[0], KEEL_STRING, 1, &dims[1]);
    else
        kl_set_shape(c->out[0], KEEL_STRING, 2, dims);
    return KEEL_OK;
}

/* Fills the block of out (its pointers first, then the strings) with the
 * kept strings of x in case `a->action`; out's dims are as infer set them. */
static void fill_output(const sn_attrs *a, const kl_tensor *x, kl_tensor *out)
{
    char **ptrs = out->data;
    char *chars = (char *)(ptrs + kl_numel(out));
    int64_t n = 0;
    for (int64_t i = 0; i < kl_numel(x); i++) {
        const char *s = string_at(x, i);
        if (is_stopword(a, s))
            continue;
        ptrs[n++] = chars;
        if (a->action == CASE_NONE)
            memcpy(chars, s, strlen(s) + 1);
        else
            map_string(chars, s, a->action == CASE_UPPER);
        chars += strlen(chars) + 1;
    }
    if (!n) {
        ptrs[0] = chars;
        chars[0] = 0;
    }
}

static keel_status sn_run(kl_opctx *c)
{
    sn_attrs a;
    keel_status st = read_node(c, &a);
    if (st)
        return st;
    const kl_tensor *x = c->in[0];
    kl_tensor tmp = *c->out[0];
    /* the kept strings take at most what all of x's take, plus one "" */
    size_t bytes = (size_t)kl_numel(&tmp) * sizeof(char *) + 1;
    for (int64_t i = 0; i < kl_numel(x); i++)
        bytes += strlen(string_at(x, i)) + 1;
    if (!(tmp.data = kl_alloc(c->env, bytes)))
        return kl_op_fail(c, KEEL_ERR_NOMEM, "out of memory for the output (%zu bytes)", bytes);
    fill_output(&a, x, &tmp);
    st = kl_out_value(c, 0, &tmp);
    kl_free(c->env, tmp.data, bytes);
    return st;
}

static const kl_op stringnormalizer = {.type = "StringNormalizer", .since = 10, .min_inputs = 1, .max_inputs = 1,
                                       .flags = KL_OP_VALUES, .infer = sn_infer, .run = sn_run};

const kl_op *const kl_opfile_stringnormalizer[] = {&stringnormalizer, NULL};
