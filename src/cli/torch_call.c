#include "torch_call.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pass.h"
#include "spec.h"

/* Limits that keep a hostile text cheap: its length and its nesting. */
#define TEXT_MAX 65536
#define DEPTH_MAX 32

/* ---- The text, as a tree of values ---- */

enum node_kind { N_INT, N_FLOAT, N_BOOL, N_NONE, N_NAME, N_TUPLE, N_CALL };

/* One value as written, text[start, end): a number, True/False/None, a name, a tuple or
 * list (both N_TUPLE), or a call name(arguments). */
struct node {
    enum node_kind kind;
    size_t start, end;
    long long num;             /* N_INT; N_BOOL: 1 or 0 */
    double real;               /* N_FLOAT */
    size_t name_len;           /* N_NAME, N_CALL: the name is text[start, start + name_len) */
    size_t key, key_len;       /* an argument given by keyword: where its name is */
    bool entry;                /* printed by print(model): "(name): value" */
    struct node *first, *next; /* the items of a tuple, the arguments of a call */
};

enum token_kind { T_END, T_NAME, T_INT, T_FLOAT, T_PUNCT, T_BAD };

struct token {
    enum token_kind kind;
    size_t start, end;
};

struct parser {
    const char *text;
    size_t pos;         /* where the next token is looked for */
    struct node *nodes; /* every node, from one allocation: a value takes a byte at least */
    size_t used, cap;
    int depth;
    struct pool_error *err;
};

/* "column 17", or "line 2, column 5" when the text has several lines. */
static void where(const char *text, size_t pos, char *buf, size_t size)
{
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < pos; i++)
        if (text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    if (strchr(text, '\n'))
        snprintf(buf, size, "line %zu, column %zu", line, pos - line_start + 1);
    else
        snprintf(buf, size, "column %zu", pos + 1);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }
static bool digit(char c) { return c >= '0' && c <= '9'; }

static size_t skip_blanks(const char *s, size_t i)
{
    while (is_blank(s[i]))
        i++;
    return i;
}

/* A Python number at s[i] ([-]digits[.digits][e[+-]digits]): its end, or i if none. */
static size_t scan_number(const char *s, size_t i, bool *real)
{
    size_t j = i + (s[i] == '-'), digits = 0;
    *real = false;
    for (; digit(s[j]); j++)
        digits++;
    if (s[j] == '.') {
        *real = true;
        for (j++; digit(s[j]); j++)
            digits++;
    }
    if (!digits)
        return i;
    if (s[j] != 'e' && s[j] != 'E')
        return j;
    size_t e = j + 1 + (s[j + 1] == '+' || s[j + 1] == '-');
    if (!digit(s[e]))
        return j;
    *real = true;
    for (j = e; digit(s[j]); j++)
        ;
    return j;
}

/* The token at p->pos, not consumed. Names may be dotted (torch.nn.MaxPool2d). */
static struct token peek(const struct parser *p)
{
    const char *s = p->text;
    size_t i = skip_blanks(s, p->pos);
    struct token t = {T_END, i, i};
    bool real;
    if (!s[i])
        return t;
    if (name_start(s[i])) {
        t.kind = T_NAME;
        do {
            while (name_char(s[i]))
                i++;
        } while (s[i] == '.' && name_start(s[i + 1]) && ++i);
    } else if ((t.end = scan_number(s, i, &real)) > i) {
        t.kind = real ? T_FLOAT : T_INT;
        return t;
    } else {
        t.kind = strchr("()[],=:", s[i]) ? T_PUNCT : T_BAD;
        i++;
    }
    t.end = i;
    return t;
}

static bool at_punct(const struct parser *p, char c)
{
    struct token t = peek(p);
    return t.kind == T_PUNCT && p->text[t.start] == c;
}

static bool eat(struct parser *p, char c)
{
    if (!at_punct(p, c))
        return false;
    p->pos = peek(p).end;
    return true;
}

static struct node *parse_failed(struct parser *p, size_t pos, const char *what)
{
    char at[64];
    where(p->text, pos, at, sizeof at);
    pool_fail(p->err, "%s at %s", what, at);
    return NULL;
}

/* "unexpected ')' at column 17" for the token at p->pos. */
static struct node *unexpected(struct parser *p)
{
    struct token t = peek(p);
    const char *s = p->text;
    char what[96];
    if (t.kind == T_END)
        snprintf(what, sizeof what, "unexpected end of text");
    else if (t.kind == T_BAD && !isprint((unsigned char)s[t.start]))
        snprintf(what, sizeof what, "unexpected byte 0x%02x", (unsigned char)s[t.start]);
    else
        snprintf(what, sizeof what, "unexpected '%.*s'",
                 (int)(t.end - t.start > 40 ? 40 : t.end - t.start), s + t.start);
    return parse_failed(p, t.start, what);
}

static struct node *new_node(struct parser *p, enum node_kind kind, struct token t)
{
    if (p->used == p->cap) /* cannot happen: every node has a byte of its own */
        return parse_failed(p, t.start, "too many values");
    struct node *n = &p->nodes[p->used++];
    *n = (struct node){.kind = kind, .start = t.start, .end = t.end};
    return n;
}

static struct node *parse_value(struct parser *p);

static struct node *parse_number(struct parser *p, struct token t)
{
    struct node *n = new_node(p, t.kind == T_INT ? N_INT : N_FLOAT, t);
    if (!n)
        return NULL;
    p->pos = t.end;
    errno = 0;
    if (t.kind == T_INT) {
        n->num = strtoll(p->text + t.start, NULL, 10);
        if (errno == ERANGE || n->num > (long long)SIZE_ARG_MAX ||
            n->num < -(long long)SIZE_ARG_MAX)
            return parse_failed(p, t.start, "number too large");
    } else {
        n->real = strtod(p->text + t.start, NULL);
        if (!isfinite(n->real))
            return parse_failed(p, t.start, "number too large");
    }
    return n;
}

/* The end of a printed Sequential entry's label, "(0):" or "(pool1):", at p->pos; 0 if
 * there is none. */
static size_t entry_label_end(const struct parser *p)
{
    const char *s = p->text;
    size_t i = skip_blanks(s, p->pos), j = i + 1;
    if (s[i] != '(')
        return 0;
    while (name_char(s[j]) || s[j] == '-' || s[j] == '.')
        j++;
    if (j == i + 1 || s[j] != ')')
        return 0;
    j = skip_blanks(s, j + 1);
    return s[j] == ':' ? j + 1 : 0;
}

/* One argument: a value, name=value, or (in a Sequential) an entry "(name): value". */
static struct node *parse_arg(struct parser *p, bool entries, bool *entry)
{
    size_t label_end = entries ? entry_label_end(p) : 0;
    *entry = label_end > 0;
    if (*entry)
        p->pos = label_end;
    struct token t = peek(p);
    size_t before = p->pos;
    bool keyword = false;
    if (!*entry && t.kind == T_NAME && !memchr(p->text + t.start, '.', t.end - t.start)) {
        p->pos = t.end;
        keyword = eat(p, '=');
        if (!keyword)
            p->pos = before;
    }
    struct node *arg = parse_value(p);
    if (!arg)
        return NULL;
    arg->entry = *entry;
    if (keyword) {
        arg->key = t.start;
        arg->key_len = t.end - t.start;
    }
    return arg;
}

/* A call's arguments, after its '(' up to its ')'. */
static struct node *parse_args(struct parser *p, struct node *call)
{
    struct node **tail = &call->first;
    while (!eat(p, ')')) {
        bool entry;
        struct node *arg = parse_arg(p, true, &entry);
        if (!arg)
            return NULL;
        *tail = arg;
        tail = &arg->next;
        /* printed entries stand one a line, without commas */
        if (!eat(p, ',') && !at_punct(p, ')') && !(entry && entry_label_end(p)))
            return unexpected(p);
    }
    call->end = p->pos;
    return call;
}

/* A name: True, False, None, a name (the input tensor) or a call. */
static struct node *parse_name(struct parser *p, struct token t)
{
    const char *s = p->text + t.start;
    size_t len = t.end - t.start;
    p->pos = t.end;
    bool is_true = len == 4 && !memcmp(s, "True", 4), is_false = len == 5 && !memcmp(s, "False", 5);
    if (is_true || is_false) {
        struct node *n = new_node(p, N_BOOL, t);
        if (n)
            n->num = is_true;
        return n;
    }
    if (len == 4 && !memcmp(s, "None", 4))
        return new_node(p, N_NONE, t);
    struct node *n = new_node(p, at_punct(p, '(') ? N_CALL : N_NAME, t);
    if (!n)
        return NULL;
    n->name_len = len;
    if (n->kind == N_NAME)
        return n;
    eat(p, '(');
    return parse_args(p, n);
}

/* (a, b), [a, b], (a,), (), []: a tuple or list; (a) is a. */
static struct node *parse_sequence(struct parser *p, struct token open)
{
    char close = p->text[open.start] == '(' ? ')' : ']';
    struct node *seq = new_node(p, N_TUPLE, open);
    if (!seq)
        return NULL;
    p->pos = open.end;
    bool comma = close == ']';
    size_t count = 0;
    struct node **tail = &seq->first;
    while (!eat(p, close)) {
        struct node *item = parse_value(p);
        if (!item)
            return NULL;
        *tail = item;
        tail = &item->next;
        count++;
        if (eat(p, ','))
            comma = true;
        else if (!at_punct(p, close))
            return unexpected(p);
    }
    seq->end = p->pos;
    return count == 1 && !comma ? seq->first : seq;
}

static struct node *parse_value(struct parser *p)
{
    struct token t = peek(p);
    if (p->depth == DEPTH_MAX)
        return parse_failed(p, t.start, "nested too deeply");
    p->depth++;
    struct node *n = NULL;
    if (t.kind == T_INT || t.kind == T_FLOAT)
        n = parse_number(p, t);
    else if (t.kind == T_NAME)
        n = parse_name(p, t);
    else if (t.kind == T_PUNCT && (p->text[t.start] == '(' || p->text[t.start] == '['))
        n = parse_sequence(p, t);
    else
        unexpected(p);
    p->depth--;
    return n;
}

/* ---- The pooling classes and functions ---- */

enum family_kind { WINDOWED, ADAPTIVE, FRACTIONAL, UNPOOL };

/* Modules (MaxPool2d) and functions (max_pool2d, stems in lower case) of torch.nn: the
 * name is stem + "1d", "2d" or "3d"; parameters in their positional order, the first
 * `required` of them without a default. */
struct family {
    const char *stem;
    unsigned dims; /* bit d: the stem exists in d spatial dimensions */
    enum family_kind kind;
    const char *mode; /* pool's mode */
    int required;
    const char *const *params; /* NULL-terminated */
};

/* torch/nn/modules/pooling.py and torch/nn/functional.py (PyTorch 1.13 to 2.x). The
 * function max_pool's ceil_mode comes before return_indices, the module's after. */
static const char *const max_module[] = {"kernel_size",    "stride",    "padding", "dilation",
                                         "return_indices", "ceil_mode", NULL};
static const char *const max_function[] = {"input",    "kernel_size", "stride",         "padding",
                                           "dilation", "ceil_mode",   "return_indices", NULL};
static const char *const avg1_module[] = {"kernel_size",       "stride", "padding", "ceil_mode",
                                          "count_include_pad", NULL};
static const char *const avg_module[] = {
    "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override", NULL};
static const char *const avg1_function[] = {"input",     "kernel_size",       "stride", "padding",
                                            "ceil_mode", "count_include_pad", NULL};
static const char *const avg_function[] = {
    "input",     "kernel_size",       "stride",           "padding",
    "ceil_mode", "count_include_pad", "divisor_override", NULL};
static const char *const lp_module[] = {"norm_type", "kernel_size", "stride", "ceil_mode", NULL};
static const char *const lp_function[] = {"input",  "norm_type", "kernel_size",
                                          "stride", "ceil_mode", NULL};
static const char *const adaptive_max_module[] = {"output_size", "return_indices", NULL};
static const char *const adaptive_max_function[] = {"input", "output_size", "return_indices", NULL};
static const char *const adaptive_avg_module[] = {"output_size", NULL};
static const char *const adaptive_avg_function[] = {"input", "output_size", NULL};
static const char *const fractional_module[] = {"kernel_size",    "output_size",     "output_ratio",
                                                "return_indices", "_random_samples", NULL};
static const char *const fractional_function[] = {
    "input",          "kernel_size",     "output_size", "output_ratio",
    "return_indices", "_random_samples", NULL};
static const char *const no_params[] = {NULL};

#define D123 (2u | 4u | 8u)
#define D1 2u
#define D23 (4u | 8u)

static const struct family families[] = {
    {"MaxPool", D123, WINDOWED, "max", 1, max_module},
    {"max_pool", D123, WINDOWED, "max", 2, max_function},
    {"AvgPool", D1, WINDOWED, "avg", 1, avg1_module},
    {"AvgPool", D23, WINDOWED, "avg", 1, avg_module},
    {"avg_pool", D1, WINDOWED, "avg", 2, avg1_function},
    {"avg_pool", D23, WINDOWED, "avg", 2, avg_function},
    {"LPPool", D123, WINDOWED, "lp", 2, lp_module},
    {"lp_pool", D123, WINDOWED, "lp", 3, lp_function},
    {"AdaptiveMaxPool", D123, ADAPTIVE, "max", 1, adaptive_max_module},
    {"adaptive_max_pool", D123, ADAPTIVE, "max", 2, adaptive_max_function},
    {"AdaptiveAvgPool", D123, ADAPTIVE, "avg", 1, adaptive_avg_module},
    {"adaptive_avg_pool", D123, ADAPTIVE, "avg", 2, adaptive_avg_function},
    {"FractionalMaxPool", D23, FRACTIONAL, "fmax", 1, fractional_module},
    {"fractional_max_pool", D23, FRACTIONAL, "fmax", 2, fractional_function},
    {"MaxUnpool", D123, UNPOOL, NULL, 0, no_params},
    {"max_unpool", D123, UNPOOL, NULL, 0, no_params},
};

static bool is_function(const struct family *f) { return islower((unsigned char)f->stem[0]); }

static const char *const module_prefixes[] = {"", "nn.", "torch.nn.", NULL};
static const char *const function_prefixes[] = {"", "F.", "nn.functional.", "torch.nn.functional.",
                                                NULL};

/* Whether name is prefix + base for one of the prefixes; *rest: what follows base. */
static bool name_is(const char *name, size_t len, const char *const *prefixes, const char *base,
                    size_t *rest)
{
    size_t base_len = strlen(base);
    for (; *prefixes; prefixes++) {
        size_t n = strlen(*prefixes);
        if (len >= n + base_len && !memcmp(name, *prefixes, n) &&
            !memcmp(name + n, base, base_len)) {
            *rest = len - n - base_len;
            return true;
        }
    }
    return false;
}

static const struct family *family_of(const char *name, size_t len, int *dims)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const struct family *f = &families[i];
        size_t rest;
        if (!name_is(name, len, is_function(f) ? function_prefixes : module_prefixes, f->stem,
                     &rest) ||
            rest != 2 || name[len - 1] != 'd' || name[len - 2] < '1' || name[len - 2] > '3')
            continue;
        *dims = name[len - 2] - '0';
        if (f->dims & (1u << *dims))
            return f;
    }
    return NULL;
}

static bool is_sequential(const char *name, size_t len)
{
    size_t rest;
    return name_is(name, len, module_prefixes, "Sequential", &rest) && rest == 0;
}

/* ---- Translation ---- */

struct spec_buf {
    char *s;
    size_t len, cap;
    bool out_of_memory;
};

struct translation {
    const char *text;
    struct spec_buf out;
    size_t layers;
    struct torch_call_notes notes;
    struct pool_error *err;
};

/* One pooling call, its arguments read. Sizes: n 0 when not given, 1 for an int, else
 * one value per axis (a 1-tuple counts as an int). */
struct layer {
    const struct family *family;
    const struct node *call;
    int dims;
    struct size_arg kernel, stride, padding, dilation, output_size;
    bool output_size_tuple; /* written (7, 7): the spec says 7x7, not 7 */
    bool ceil_mode, count_include_pad;
    long long divisor; /* 0: none */
    double norm;
    int nratio;
    double ratio[3];
};

__attribute__((format(printf, 2, 3))) static void buf_printf(struct spec_buf *b, const char *fmt,
                                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->out_of_memory || n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->out_of_memory = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* "nn.MaxPool2d: what (column 5)", the column of pos. */
__attribute__((format(printf, 4, 5))) static int
call_failed(struct translation *tr, const struct node *call, size_t pos, const char *fmt, ...)
{
    char what[320], at[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    where(tr->text, pos, at, sizeof at);
    return pool_fail(tr->err, "%.*s: %s (%s)", (int)call->name_len, tr->text + call->start, what,
                     at);
}

/* "nn.MaxPool2d: kernel_size=(2, 3, 4): what (column 18)", the argument named as PyTorch
 * names it however it was given. */
__attribute__((format(printf, 5, 6))) static int arg_failed(struct translation *tr,
                                                            const struct layer *l,
                                                            const char *param, const struct node *v,
                                                            const char *fmt, ...)
{
    char what[256], at[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    where(tr->text, v->start, at, sizeof at);
    size_t len = v->end - v->start;
    return pool_fail(tr->err, "%.*s: %s=%.*s%s: %s (%s)", (int)l->call->name_len,
                     tr->text + l->call->start, param, (int)(len > 40 ? 37 : len),
                     tr->text + v->start, len > 40 ? "..." : "", what, at);
}

static const char *kind_name(const struct node *v)
{
    static const char *const names[] = {"an int", "a float", "a bool", "None",
                                        "a name", "a tuple", "a call"};
    return names[v->kind];
}

static int count_items(const struct node *v)
{
    int n = 0;
    for (const struct node *i = v->first; i; i = i->next)
        n++;
    return n;
}

/* An int or a tuple or list of ints, each at least min; `one`: a 1-tuple stands for an
 * int (as ATen reads max and avg pooling's sizes). */
static int read_sizes(struct translation *tr, const struct layer *l, const char *param,
                      const struct node *v, size_t min, bool one, struct size_arg *out)
{
    int d = l->dims, n = v->kind == N_TUPLE ? count_items(v) : 1;
    if (v->kind != N_INT && !(v->kind == N_TUPLE && (n == d || (one && n == 1)))) {
        char got[32];
        snprintf(got, sizeof got, "%d value%s", n, n == 1 ? "" : "s");
        return arg_failed(tr, l, param, v, "expected an int or a tuple of %d int%s, got %s", d,
                          d == 1 ? "" : "s", v->kind == N_TUPLE ? got : kind_name(v));
    }
    out->n = 0;
    for (const struct node *i = v->kind == N_TUPLE ? v->first : v; i && out->n < n; i = i->next) {
        if (i->kind == N_NONE && !strcmp(param, "output_size"))
            return arg_failed(tr, l, param, v,
                              "None (the input's size on that axis) has no spec: give every size");
        if (i->kind != N_INT)
            return arg_failed(tr, l, param, v, "expected ints, got %s", kind_name(i));
        if (i->num < (long long)min)
            return arg_failed(tr, l, param, v, "must be at least %zu", min);
        out->v[out->n++] = (size_t)i->num;
    }
    return 0;
}

static int read_bool(struct translation *tr, const struct layer *l, const char *param,
                     const struct node *v, bool *out)
{
    if (v->kind != N_BOOL)
        return arg_failed(tr, l, param, v, "expected True or False, got %s", kind_name(v));
    *out = v->num;
    return 0;
}

static bool is_number(const struct node *v) { return v->kind == N_INT || v->kind == N_FLOAT; }
static double number_of(const struct node *v)
{
    return v->kind == N_INT ? (double)v->num : v->real;
}

/* output_ratio: a number or a tuple of one per axis, each in (0, 1). */
static int read_ratio(struct translation *tr, struct layer *l, const struct node *v)
{
    const char *param = "output_ratio";
    const struct node *item = v->kind == N_TUPLE ? v->first : v;
    l->nratio = 0;
    for (; item; item = v->kind == N_TUPLE ? item->next : NULL) {
        if (!is_number(item) || l->nratio == l->dims)
            return arg_failed(tr, l, param, v, "expected a number or a tuple of %d numbers",
                              l->dims);
        double r = number_of(item);
        if (!(r > 0 && r < 1))
            return arg_failed(tr, l, param, v, "must be between 0 and 1");
        l->ratio[l->nratio++] = r;
    }
    if (v->kind == N_TUPLE && l->nratio != l->dims)
        return arg_failed(tr, l, param, v, "expected a number or a tuple of %d numbers", l->dims);
    return 0;
}

/* Reads one bound argument into l; None leaves an optional one at its default. */
static int read_param(struct translation *tr, struct layer *l, const char *param,
                      const struct node *v)
{
    bool windowed_one = l->family->kind == WINDOWED && strcmp(l->family->mode, "lp");
    bool none = v->kind == N_NONE;
    if (!strcmp(param, "input")) {
        if (v->kind != N_NAME && v->kind != N_CALL)
            return arg_failed(tr, l, param, v, "expected the input tensor, got %s", kind_name(v));
        return 0;
    }
    if (!strcmp(param, "kernel_size"))
        return read_sizes(tr, l, param, v, 1, windowed_one, &l->kernel);
    if (!strcmp(param, "stride")) /* None or () (the function's default): the kernel */
        return none || (v->kind == N_TUPLE && !v->first)
                   ? 0
                   : read_sizes(tr, l, param, v, 1, true, &l->stride);
    if (!strcmp(param, "padding"))
        return read_sizes(tr, l, param, v, 0, true, &l->padding);
    if (!strcmp(param, "dilation"))
        return read_sizes(tr, l, param, v, 1, true, &l->dilation);
    if (!strcmp(param, "ceil_mode"))
        return read_bool(tr, l, param, v, &l->ceil_mode);
    if (!strcmp(param, "count_include_pad"))
        return read_bool(tr, l, param, v, &l->count_include_pad);
    if (!strcmp(param, "return_indices")) {
        bool indices = false;
        if (read_bool(tr, l, param, v, &indices))
            return -1;
        return indices ? arg_failed(tr, l, param, v,
                                    "pool writes indices with --indices FILE.npy, not in a spec")
                       : 0;
    }
    if (!strcmp(param, "divisor_override")) {
        if (none)
            return 0;
        if (v->kind != N_INT || v->num < 1)
            return arg_failed(tr, l, param, v, "expected None or a whole number from 1");
        l->divisor = v->num;
        return 0;
    }
    if (!strcmp(param, "norm_type")) {
        if (!is_number(v) || !(number_of(v) > 0))
            return arg_failed(tr, l, param, v, "expected a positive number");
        l->norm = number_of(v);
        return 0;
    }
    if (!strcmp(param, "output_size")) {
        if (none && l->family->kind == FRACTIONAL)
            return 0;
        l->output_size_tuple = v->kind == N_TUPLE;
        return read_sizes(tr, l, param, v, 1, false, &l->output_size);
    }
    if (!strcmp(param, "output_ratio"))
        return none ? 0 : read_ratio(tr, l, v);
    /* _random_samples */
    return none ? 0
                : arg_failed(tr, l, param, v,
                             "pool takes the samples with --samples FILE.npy, not in a spec");
}

static int param_index(const struct family *f, const char *name, size_t len)
{
    for (int i = 0; f->params[i]; i++)
        if (strlen(f->params[i]) == len && !memcmp(f->params[i], name, len))
            return i;
    return -1;
}

/* Binds a call's arguments to the family's parameters as Python does. */
static int bind_args(struct translation *tr, const struct layer *l, const struct node *bound[])
{
    const struct family *f = l->family;
    const struct node *call = l->call;
    const char *text = tr->text;
    int next = 0, nparams = 0;
    char names[160] = "";
    for (; f->params[nparams]; nparams++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", nparams ? ", " : "",
                 f->params[nparams]);
    bool keywords = false;
    for (const struct node *a = call->first; a; a = a->next) {
        int k = a->key_len ? param_index(f, text + a->key, a->key_len) : next++;
        if (a->key_len && k < 0)
            return call_failed(tr, call, a->key, "unexpected keyword argument '%.*s'",
                               (int)a->key_len, text + a->key);
        if (!a->key_len && keywords)
            return call_failed(tr, call, a->start, "positional argument follows keyword argument");
        if (k == nparams)
            return call_failed(tr, call, a->start, "takes %d positional argument%s at most (%s)",
                               nparams, nparams == 1 ? "" : "s", names);
        if (bound[k])
            return call_failed(tr, call, a->key, "got multiple values for argument '%s'",
                               f->params[k]);
        keywords |= a->key_len > 0;
        bound[k] = a;
    }
    for (int k = 0; k < f->required; k++)
        if (!bound[k])
            return call_failed(tr, call, call->start, "missing required argument '%s'%s",
                               f->params[k],
                               f->kind == FRACTIONAL && !call->first
                                   ? " (print(model) shows no arguments of a FractionalMaxPool: "
                                     "give its constructor call)"
                                   : "");
    return 0;
}

/* ---- Writing specs ---- */

static size_t axis_value(const struct size_arg *a, int i) { return a->v[a->n == 1 ? 0 : i]; }

/* "3x3" (every axis), or "3" when `collapse` and every axis is the same. */
static void put_sizes(struct spec_buf *b, const struct size_arg *a, int dims, bool collapse)
{
    bool same = true;
    for (int i = 1; i < dims; i++)
        same &= axis_value(a, i) == axis_value(a, 0);
    int n = collapse && same ? 1 : dims;
    for (int i = 0; i < n; i++)
        buf_printf(b, "%s%zu", i ? "x" : "", axis_value(a, i));
}

/* Whether every axis of a is v. */
static bool all_axes(const struct size_arg *a, int dims, size_t v)
{
    for (int i = 0; i < dims; i++)
        if (axis_value(a, i) != v)
            return false;
    return true;
}

static bool same_axes(const struct size_arg *a, const struct size_arg *b, int dims)
{
    for (int i = 0; i < dims; i++)
        if (axis_value(a, i) != axis_value(b, i))
            return false;
    return true;
}

/* The shortest %g that reads back as v (2, 1.5, 0.1). */
static void put_number(struct spec_buf *b, double v)
{
    char s[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, v);
        if (strtod(s, NULL) == v)
            break;
    }
    buf_printf(b, "%s", s);
}

static void write_spec(struct spec_buf *b, const struct layer *l)
{
    int d = l->dims;
    buf_printf(b, "%s%s", b->len ? " " : "", l->family->mode);
    if (l->kernel.n) {
        buf_printf(b, ":");
        put_sizes(b, &l->kernel, d, false);
    }
    if (l->stride.n && !same_axes(&l->stride, &l->kernel, d)) {
        buf_printf(b, ",s=");
        put_sizes(b, &l->stride, d, true);
    }
    if (l->padding.n && !all_axes(&l->padding, d, 0)) {
        buf_printf(b, ",p=");
        put_sizes(b, &l->padding, d, true);
    }
    if (l->dilation.n && !all_axes(&l->dilation, d, 1)) {
        buf_printf(b, ",d=");
        put_sizes(b, &l->dilation, d, true);
    }
    if (l->ceil_mode)
        buf_printf(b, ",ceil");
    if (!l->count_include_pad)
        buf_printf(b, ",cip=0");
    if (l->divisor)
        buf_printf(b, ",div=%lld", l->divisor);
    if (l->norm > 0) {
        buf_printf(b, ",norm=");
        put_number(b, l->norm);
    }
    if (l->output_size.n) { /* every axis, so that the spec pins its dimensions */
        buf_printf(b, ",out=");
        put_sizes(b, &l->output_size, d, false);
    }
    for (int i = 0; i < l->nratio; i++) {
        buf_printf(b, "%s", i ? "x" : ",ratio=");
        put_number(b, l->ratio[i]);
    }
}

/* FractionalMaxPool needs an output size or a ratio; the module refuses both, while the
 * function takes the size and ignores the ratio. */
static int check_fractional(struct translation *tr, struct layer *l)
{
    if (!l->output_size.n && !l->nratio)
        return call_failed(tr, l->call, l->call->start, "give an output_size or an output_ratio");
    if (l->output_size.n && l->nratio) {
        if (!is_function(l->family))
            return call_failed(tr, l->call, l->call->start,
                               "give an output_size or an output_ratio, not both");
        l->nratio = 0;
    }
    return 0;
}

/* The layer's spec, written from start, must be one pool takes. PyTorch refuses some
 * arguments only when the layer runs, not when it is built (padding more than half the
 * kernel, an infinite norm_type), and pool has limits of its own (a window spanning more
 * than 2^40 elements): the spec's own checks say why, and the call is refused with it. */
static int check_spec(struct translation *tr, const struct node *call, size_t start)
{
    if (tr->out.out_of_memory)
        return 0; /* torch_call_translate says so */
    struct pool_pass p;
    struct pool_error why;
    const char *spec = tr->out.s + start + (start > 0); /* after the space between specs */
    if (pass_spec_parse(spec, &p, &why) == 0 && pass_check(&p, &why) == 0)
        return 0;
    return call_failed(tr, call, call->start, "%s", why.msg);
}

static int translate_layer(struct translation *tr, const struct node *call, const struct family *f,
                           int dims)
{
    if (f->kind == UNPOOL)
        return call_failed(tr, call, call->start,
                           "unpooling is a command of its own: see pool unpool");
    struct layer l = {.family = f, .call = call, .dims = dims, .count_include_pad = true};
    for (const struct node *a = call->first; a; a = a->next)
        if (a->entry)
            return call_failed(tr, call, a->start,
                               "a printed \"(name):\" entry among its "
                               "arguments");
    const struct node *bound[8] = {NULL}; /* the longest family has 7 */
    if (bind_args(tr, &l, bound))
        return -1;
    for (int k = 0; f->params[k]; k++)
        if (bound[k] && read_param(tr, &l, f->params[k], bound[k]))
            return -1;
    if (f->kind == FRACTIONAL && check_fractional(tr, &l))
        return -1;
    tr->layers++;
    tr->notes.one_d |= dims == 1;
    tr->notes.printed_average |= call->entry && !strcmp(f->mode, "avg") && f->kind == WINDOWED;
    size_t start = tr->out.len;
    write_spec(&tr->out, &l);
    return check_spec(tr, call, start);
}

static int translate(struct translation *tr, const struct node *v);

/* ModuleList and ModuleDict hold layers in no forward order: never a stack of passes. */
static bool is_unordered(const char *name, size_t len)
{
    size_t rest;
    return (name_is(name, len, module_prefixes, "ModuleList", &rest) ||
            name_is(name, len, module_prefixes, "ModuleDict", &rest)) &&
           rest == 0;
}

/* Whether every argument of a call is a printed "(name): value" entry. */
static bool all_entries(const struct node *call)
{
    for (const struct node *a = call->first; a; a = a->next)
        if (!a->entry)
            return false;
    return true;
}

/* The items of a list or the layers of a Sequential, in order. */
static int translate_each(struct translation *tr, const struct node *first)
{
    for (const struct node *v = first; v; v = v->next)
        if (translate(tr, v))
            return -1;
    return 0;
}

static int translate(struct translation *tr, const struct node *v)
{
    const char *name = tr->text + v->start;
    char at[64];
    int dims;
    if (v->kind == N_TUPLE)
        return translate_each(tr, v->first);
    if (v->kind != N_CALL) {
        where(tr->text, v->start, at, sizeof at);
        return pool_fail(tr->err, "expected a pooling layer such as nn.MaxPool2d(2), got %s (%s)",
                         kind_name(v), at);
    }
    if (is_sequential(name, v->name_len)) {
        for (const struct node *a = v->first; a; a = a->next)
            if (a->key_len)
                return call_failed(tr, v, v->start, "takes no keyword arguments");
        return translate_each(tr, v->first);
    }
    const struct family *f = family_of(name, v->name_len, &dims);
    if (f)
        return translate_layer(tr, v, f, dims);
    if (v->first && all_entries(v) && !is_unordered(name, v->name_len)) {
        tr->notes.printed_module = true; /* a printed model: its children in order */
        return translate_each(tr, v->first);
    }
    const char *last = name + v->name_len;
    while (last > name && last[-1] != '.')
        last--;
    return call_failed(tr, v, v->start, "not a pooling %s; give the pooling layers alone",
                       islower((unsigned char)*last) ? "function" : "layer");
}

/* Lines copied from print(model) without their container: "(2): MaxPool2d(...)" one a line,
 * read as a list. */
static struct node *parse_entries(struct parser *p)
{
    struct node *list = new_node(p, N_TUPLE, peek(p));
    if (!list)
        return NULL;
    struct node **tail = &list->first;
    while (peek(p).kind != T_END) {
        bool entry;
        struct node *v = parse_arg(p, true, &entry);
        if (!v)
            return NULL;
        if (!entry)
            return parse_failed(p, v->start, "a line without its \"(name):\" label");
        *tail = v;
        tail = &v->next;
    }
    return list;
}

int torch_call_to_specs(const char *text, char **specs, struct pool_error *err)
{
    return torch_call_translate(text, specs, NULL, err);
}

int torch_call_translate(const char *text, char **specs, struct torch_call_notes *notes,
                         struct pool_error *err)
{
    *specs = NULL;
    size_t len = strnlen(text, TEXT_MAX + 1);
    if (len > TEXT_MAX)
        return pool_fail(err, "more than %d bytes of text", TEXT_MAX);
    struct parser p = {.text = text, .cap = len + 1, .err = err};
    p.nodes = malloc(p.cap * sizeof *p.nodes);
    if (!p.nodes)
        return pool_fail_resource(err, "out of memory");
    struct node *root = entry_label_end(&p) ? parse_entries(&p) : parse_value(&p);
    if (root && peek(&p).kind != T_END)
        root = unexpected(&p);
    struct translation tr = {.text = text, .err = err};
    int rc = root ? translate(&tr, root) : -1;
    if (rc == 0 && tr.out.out_of_memory)
        rc = pool_fail_resource(err, "out of memory");
    else if (rc == 0 && !tr.layers)
        rc = pool_fail(err, "no pooling layer given");
    free(p.nodes);
    if (rc) {
        free(tr.out.s);
        return -1;
    }
    *specs = tr.out.s;
    if (notes)
        *notes = tr.notes;
    return 0;
}
