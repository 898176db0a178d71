/* progress.c -- one line of progress on a terminal for long commands
 * (keel check over several cases, keel zoo export|check|bench):
 *
 *     [LABEL ][I/N] NAME  1m02s elapsed, ~3m40s left
 *
 * I is the entry at work (1-based) of N; the time left is the mean time of
 * the I-1 finished entries times those not finished, less what the current
 * one has already taken of its share.  The line goes to stderr only when
 * stderr is a terminal and KEEL_PROGRESS is not 0, is redrawn in place
 * ("\r" then ESC[K, clear to end of line) on each entry and every half
 * second by a thread of its own, and is erased before anything else is
 * printed, so text on stdout and stderr stays as it is without it.  With
 * no terminal, cli_progress_start returns NULL and every call on NULL
 * prints only what the caller asked for. */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define TICK_MS 500
#define ERASE "\r\033[K"

struct cli_progress {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t ticker;
    int fd;              /* the terminal: stderr as it was at the start */
    const char *label;   /* NULL: none */
    int index, total;    /* entry at work (0-based) of total */
    char name[128];
    double start_ms, entry_ms;  /* when the run and the current entry began */
    bool shown;          /* the line is on the terminal */
    bool stopping;
    /* output held while an entry runs (cli_progress_hold) */
    FILE *held;
    int saved_out, saved_err;  /* -1: that stream is not held */
};

/* "45s", "3m40s", "1h03m". */
static void format_duration(double ms, char *buf, size_t n)
{
    long s = ms > 0 ? (long)(ms / 1000) : 0;
    if (s < 60)
        snprintf(buf, n, "%lds", s);
    else if (s < 3600)
        snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
}

/* The estimate of the time left, in ms; negative before any entry ends. */
static double time_left(const cli_progress *p, double now)
{
    if (p->index == 0)
        return -1;
    double mean = (p->entry_ms - p->start_ms) / p->index;
    double spent = now - p->entry_ms;
    double rest = mean * (p->total - p->index - 1);
    return rest + (spent < mean ? mean - spent : 0);
}

static int terminal_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        return ws.ws_col;
    return 80;
}

/* Writes the whole buffer, or gives up on an error. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = write(fd, buf, len);
        if (k <= 0)
            return;
        buf += k;
        len -= (size_t)k;
    }
}

/* Draws the line, cut short of the terminal's width so it never wraps;
 * the caller holds the lock. */
static void draw(cli_progress *p)
{
    double now = cli_now_ms(), left = time_left(p, now);
    char elapsed[32], left_s[48] = "", text[512], line[600];
    format_duration(now - p->start_ms, elapsed, sizeof elapsed);
    if (left >= 0) {
        char d[32];
        format_duration(left, d, sizeof d);
        snprintf(left_s, sizeof left_s, ", ~%s left", d);
    }
    int len = snprintf(text, sizeof text, "%s%s[%d/%d] %s  %s elapsed%s", p->label ? p->label : "",
                       p->label ? " " : "", p->index + 1, p->total, p->name, elapsed, left_s);
    int width = terminal_width(p->fd) - 1;
    if (len > width)
        len = width;
    if (len >= (int)sizeof text)
        len = (int)sizeof text - 1;
    int n = snprintf(line, sizeof line, ERASE "%.*s", len, text);
    write_all(p->fd, line, (size_t)n);
    p->shown = true;
}

static void erase(cli_progress *p)
{
    if (p->shown)
        write_all(p->fd, ERASE, strlen(ERASE));
    p->shown = false;
}

/* Redraws the shown line every TICK_MS until stopped, so the elapsed time
 * moves during a long entry. */
static void *tick(void *arg)
{
    cli_progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
        if (!p->stopping && p->shown)
            draw(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static bool wanted(void)
{
    const char *env = getenv("KEEL_PROGRESS");
    return isatty(STDERR_FILENO) && !(env && strcmp(env, "0") == 0);
}

static bool start_ticker(cli_progress *p)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr))
        return false;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    bool ok = pthread_cond_init(&p->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (ok && pthread_mutex_init(&p->lock, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        ok = false;
    }
    if (ok && pthread_create(&p->ticker, NULL, tick, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        ok = false;
    }
    return ok;
}

cli_progress *cli_progress_start(const char *label, int total)
{
    if (total < 1 || !wanted())
        return NULL;
    cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->label = label;
    p->total = total;
    p->start_ms = p->entry_ms = cli_now_ms();
    p->saved_out = p->saved_err = -1;
    p->fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0); /* not for the exporter */
    if (p->fd < 0 || !start_ticker(p)) {
        if (p->fd >= 0)
            close(p->fd);
        free(p);
        return NULL;
    }
    return p;
}

void cli_progress_entry(cli_progress *p, int index, const char *name)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->index = index < p->total ? index : p->total - 1;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->entry_ms = cli_now_ms();
    draw(p);
    pthread_mutex_unlock(&p->lock);
}

void cli_progress_printf(cli_progress *p, FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!p) {
        vfprintf(f, fmt, ap);
        fflush(f);
        va_end(ap);
        return;
    }
    pthread_mutex_lock(&p->lock);
    bool was_shown = p->shown;
    erase(p);
    vfprintf(f, fmt, ap);
    fflush(f);
    if (was_shown)
        draw(p);
    pthread_mutex_unlock(&p->lock);
    va_end(ap);
}

/* Whether stdout is the terminal the line is drawn on. */
static bool stdout_on_terminal(const cli_progress *p)
{
    struct stat out, term;
    return isatty(STDOUT_FILENO) && fstat(STDOUT_FILENO, &out) == 0 && fstat(p->fd, &term) == 0 &&
           out.st_rdev == term.st_rdev;
}

/* Points fd at the held file, keeping a copy of what it was in *saved. */
static void redirect(int fd, int to, int *saved)
{
    *saved = dup(fd);
    if (*saved >= 0 && dup2(to, fd) < 0) {
        close(*saved);
        *saved = -1;
    }
}

static void restore(int fd, int *saved)
{
    if (*saved < 0)
        return;
    dup2(*saved, fd);
    close(*saved);
    *saved = -1;
}

void cli_progress_hold(cli_progress *p)
{
    if (!p)
        return;
    fflush(stdout);
    fflush(stderr);
    p->held = tmpfile();
    if (!p->held) { /* nothing to hold it in: no line while the entry prints */
        pthread_mutex_lock(&p->lock);
        erase(p);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    int to = fileno(p->held);
    redirect(STDERR_FILENO, to, &p->saved_err);
    if (stdout_on_terminal(p)) /* one file for both keeps their order */
        redirect(STDOUT_FILENO, to, &p->saved_out);
}

/* Copies what was held to the terminal. */
static void replay(cli_progress *p)
{
    char buf[8192];
    size_t k;
    rewind(p->held);
    while ((k = fread(buf, 1, sizeof buf, p->held)) > 0)
        write_all(p->fd, buf, k);
}

void cli_progress_release(cli_progress *p)
{
    if (!p)
        return;
    fflush(stdout);
    fflush(stderr);
    restore(STDOUT_FILENO, &p->saved_out);
    restore(STDERR_FILENO, &p->saved_err);
    pthread_mutex_lock(&p->lock);
    erase(p);
    if (p->held) {
        replay(p);
        fclose(p->held);
        p->held = NULL;
    }
    draw(p);
    pthread_mutex_unlock(&p->lock);
}

void cli_progress_stop(cli_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->ticker, NULL);
    erase(p);
    close(p->fd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}
