/* replay.c -- runs saved fuzz inputs (tests/fuzz_regressions/) through the
 * harness without libFuzzer, for `make check`.
 *
 * Each input runs in a child process with a wall-clock limit (seconds, from
 * KEEL_REPLAY_TIMEOUT, default 60): an input that crashes, hangs past the
 * limit, or exits non-zero (a sanitizer's report) fails, and the others
 * still run.  The default leaves room for the sanitizer build on a busy
 * two-core machine, where the slowest input (slow_pool_large_window_b)
 * takes about 20 s; the plain build runs it in about 0.5 s.  `--hang-self-test` replaces the harness by an endless wait
 * in every child, to show that the limit fires. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keel.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)))
        *size = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *env = getenv("KEEL_REPLAY_TIMEOUT");
    double limit = env ? atof(env) : 60.0;
    bool hang_test = false;
    int first = 1, passed = 0, failed = 0;
    if (argc > 1 && strcmp(argv[1], "--hang-self-test") == 0)
        hang_test = true, first = 2;
    if (limit <= 0) {
        fprintf(stderr, "replay: KEEL_REPLAY_TIMEOUT must be a positive number of seconds\n");
        return 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: fuzz_replay [--hang-self-test] INPUT...\n");
        return 2;
    }
    for (int i = first; i < argc; i++) {
        size_t size = 0;
        unsigned char *buf = read_all(argv[i], &size);
        if (!buf) {
            printf("replay: %s: cannot read\n", argv[i]);
            failed++;
            continue;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("replay: fork");
            free(buf);
            return 1;
        }
        if (pid == 0) {
            struct itimerval t = {.it_value = {(time_t)limit, (suseconds_t)((limit - (double)(time_t)limit) * 1e6)}};
            if (t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0)
                t.it_value.tv_usec = 1;
            signal(SIGALRM, SIG_DFL);
            setitimer(ITIMER_REAL, &t, NULL);
            if (hang_test)
                for (;;)
                    pause();
            LLVMFuzzerTestOneInput(buf, size);
            free(buf);
            exit(0); /* exit, not _exit: a leak checker's report runs at exit */
        }
        free(buf);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
            ;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            printf("replay: %s: HANG: no result within %g s\n", argv[i], limit);
        else if (WIFSIGNALED(status))
            printf("replay: %s: CRASH: killed by signal %d (%s)\n", argv[i], WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
        else if (WEXITSTATUS(status) != 0)
            printf("replay: %s: FAIL: exit status %d\n", argv[i], WEXITSTATUS(status));
        else {
            passed++;
            continue;
        }
        failed++;
    }
    printf("replay: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
