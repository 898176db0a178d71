/* cli.h -- pieces shared by the keel command's subcommands. */
#ifndef KEEL_CLI_H
#define KEEL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "keel.h"
#include "inspect.h"

/* Room for a message from keel or the CLI. */
#define CLI_ERRMSG 1024

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);

int cmd_zoo(int argc, char **argv);

/* help.c: the usage line of a command (with a pointer to --help), its full
 * help (false for an unknown command), and the list of commands. */
void cli_usage(const char *command, FILE *f);
bool cli_help(const char *command, FILE *f);
void cli_commands(FILE *f);
/* The manual page, keel.1, in roff from the same table. */
void cli_man(FILE *f);

double cli_now_ms(void);

/* One backend-test case folder, every data set run and compared. */
typedef struct case_report {
    int n_sets;
    int64_t n_plans;           /* plans the case's one session made for them */
    double max_abs, max_rel;   /* worst errors over all outputs and sets */
    char why[1024];            /* the failure, if any */
    char trace[1024];          /* what a trace found ("" when none ran) */
} case_report;
bool cli_run_case(const char *dir, double rtol, double atol, case_report *rep);
/* Matches "-i NAME=FILE" / "-i FILE" arguments to the model's inputs (by
 * name, else in order); files[k] gets input k's file.  Prints why and
 * returns -1 when they do not fit. */
int cli_assign_inputs(const keel_model *m, char **specs, int n_specs, const char **files);

/* Reads a whole file into a malloc'd buffer. */
bool cli_read_file(const char *path, void **data, size_t *size, char *err, size_t err_size);
/* Loads a tensor from .pb (TensorProto) or .npy into *t, its data the
 * CLI's (64-byte aligned, never NULL once loaded): free it with
 * cli_tensor_free.  On failure writes a message naming the file. */
keel_status cli_load_tensor(const char *path, keel_tensor *t, char *err, size_t err_size);
/* cli_load_tensor for a .pb of kind KEEL_SEQUENCE (a SequenceProto) or
 * KEEL_OPTIONAL (an OptionalProto); other kinds as cli_load_tensor. */
keel_status cli_load_value(const char *path, int kind, keel_tensor *t, char *err, size_t err_size);
/* Input k of m from `path`, read as the kind m declares for it. */
keel_status cli_load_input(const keel_model *m, int k, const char *path, keel_tensor *t, char *err,
                           size_t err_size);
void cli_tensor_free(keel_tensor *t);
keel_status cli_save_pb(const char *path, const keel_tensor *t, const char *name, char *err, size_t n);
keel_status cli_save_npy(const char *path, const keel_tensor *t, char *err, size_t n);

/* Parses "NAME=VALUE" for --dim, cutting arg at '='; false if malformed. */
bool cli_parse_dim(char *arg, keel_dim_binding *out);
/* Sessions plan no symbolic dim without a value: adds a binding of 1 for
 * each symbolic input dim of m not in dims (up to cap entries), saying so
 * on stderr as `keel CMD`; returns the new count. */
int cli_default_dims(const keel_model *m, keel_dim_binding *dims, int n_dims, int cap, const char *cmd);

/* "--timeout SECONDS": a positive number of seconds, into *ms (at least
 * 1); false if malformed. */
bool cli_parse_seconds(const char *s, uint64_t *ms);

/* The keel_isa named by s ("auto", "generic", "avx2", "avx512"), or -1. */
int cli_parse_isa(const char *s);

/* progress.c: a line of progress for long work, on stderr when it is a
 * terminal (and KEEL_PROGRESS is not 0): "[LABEL ][I/N] NAME  ELAPSED
 * elapsed, ~LEFT left", redrawn in place.  cli_progress_start returns NULL
 * when there is no terminal; every call takes NULL and then prints only
 * what it is asked to. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(const char *label, int total);
/* Entry index (0-based) of the total, named name, begins: draws the line. */
void cli_progress_entry(cli_progress *p, int index, const char *name);
/* Prints to f and flushes it, the line erased meanwhile. */
void cli_progress_printf(cli_progress *p, FILE *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Between hold and release, what is written to stderr (and to stdout when
 * it is the same terminal) is kept back, and written out at release with
 * the line erased: for code that prints as it goes (keel bench). */
void cli_progress_hold(cli_progress *p);
void cli_progress_release(cli_progress *p);
/* Erases the line for good and frees p. */
void cli_progress_stop(cli_progress *p);

/* info.c: "float[1,3,224,224]" for value v of the session's newest plan
 * into buf, "?" when its shape is not known. */
const char *cli_value_shape(const keel_session *s, int v, char *buf, size_t size);

/* ---- values.c: every value of a run ---- */

/* An element of t as a double; whether dtype is a floating-point type. */
double cli_element(const keel_tensor *t, int64_t i);
bool cli_is_float(int dtype);

/* A value of a recorded run: the watcher's event, and a copy of the
 * tensor (data malloc'd). */
typedef struct cli_value {
    char *name, *node, *op_type;
    int node_index, output_index, order;
    keel_tensor t;        /* a tensor's copy; strings, sequences and empty
                             optionals: data holds their encoded proto */
    size_t pb_len;        /* bytes of that proto (0 for numeric tensors) */
} cli_value;
/* Whether t is a string tensor, a sequence or an empty optional. */
bool cli_is_boxed(int dtype);
/* Value t encoded as its proto, in a malloc'd buffer (*len bytes); NULL
 * when it cannot be encoded. */
uint8_t *cli_encode_value(const keel_tensor *t, size_t *len);
typedef struct cli_values {
    int n, cap;
    cli_value *v;         /* in the order the run made them */
} cli_values;
/* Runs s once, keeping a copy of every value in *vals (emptied first). */
keel_status cli_record_run(keel_session *s, const keel_tensor *inputs, keel_tensor *outs, cli_values *vals);
void cli_values_free(cli_values *vals);

/* One value of a run paired with one of a recorded run (the reference):
 * errors of the run's against the reference's, elementwise. */
typedef struct cli_diff {
    int a;                /* the reference value: index into its cli_values */
    char *b_name;         /* the run's value paired with it */
    char *b_step_node, *b_step_op;  /* the node whose kernel computed it in the run
                                       (another than its producer when nodes were fused) */
    bool by_position;     /* paired by node position (names differ) */
    double max_abs, max_rel, max_ulp;
    double ratio;         /* max |got - want| / (atol + rtol |want|): above 1 is out of tolerance */
    int64_t bad;          /* elements out of tolerance */
    char why[160];        /* when shapes or kinds differ: both shapes */
} cli_diff;
typedef struct cli_comparison {
    const cli_values *a;  /* the reference run; set with rtol and atol before cli_compare_run */
    double rtol, atol;
    bool aligned;         /* same op types node by node: values pair by position too */
    int n, cap;
    cli_diff *d;          /* in the reference run's order */
    int first_divergent;  /* index into d of the first out of tolerance, or -1 */
    int n_only_b, cap_only_b;
    char **only_b;        /* the run's values with no partner */
    bool *a_paired;
} cli_comparison;
/* Runs sb (of model mb) once, pairing each of its values with one of c->a
 * (recorded from model ma) by name, else by position, and measuring. */
keel_status cli_compare_run(keel_session *sb, const keel_tensor *inputs, keel_tensor *outs, const keel_model *ma,
                            const keel_model *mb, cli_comparison *c);
void cli_comparison_free(cli_comparison *c);
/* The table of every pair and the summary line; the summary alone (after
 * `lead`); the JSON members (no braces); an SVG of each pair's error
 * against the tolerance along the schedule, on a log scale. */
void cli_comparison_text(const cli_comparison *c, FILE *f);
void cli_comparison_summary(const cli_comparison *c, FILE *f, const char *lead);
void cli_comparison_json(const cli_comparison *c, FILE *f);
bool cli_comparison_svg(const cli_comparison *c, const char *path, const char *title, char *err, size_t n);

/* Every value of a run written to DIR/<file>.npy, and DIR/index.json. */
typedef struct cli_dump {
    const char *dir;
    FILE *index;
    int n, cap;
    char **files;         /* file names given so far (without .npy) */
    char err[CLI_ERRMSG];
} cli_dump;
bool cli_dump_open(cli_dump *d, const char *dir, const char *model);
keel_status cli_dump_run(cli_dump *d, keel_session *s, const keel_tensor *inputs, keel_tensor *outs);
bool cli_dump_close(cli_dump *d);

/* JSON string output with escaping. */
void cli_json_str(FILE *f, const char *s);

#endif
