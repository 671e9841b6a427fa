/*
 * spawn_loop.c: the "curl command per request" row of the per-request
 * benchmark. Starts the given command (no shell: posix_spawnp) once per
 * request and waits for it, so the time is the command's own cost: exec,
 * dynamic loading, TLS/library start-up, a new connection, the request.
 *
 *   spawn_loop N WARMUP command args...
 *
 * Prints one line per measured run (after WARMUP unmeasured ones): its wall
 * time in microseconds. Exits 1 if a run fails (non-zero exit status).
 */
#define _POSIX_C_SOURCE 200809L
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    long n, warmup, i;
    double *samples;

    if (argc < 4) {
        fprintf(stderr, "usage: spawn_loop N WARMUP command args...\n");
        return 2;
    }
    n = atol(argv[1]);
    warmup = atol(argv[2]);
    if (n < 1 || warmup < 0)
        return 2;
    samples = malloc(sizeof *samples * (size_t)n);
    if (!samples)
        return 2;
    for (i = 0; i < warmup + n; i++) {
        double t0 = now_us();
        pid_t pid;
        int status = 0;
        if (posix_spawnp(&pid, argv[3], NULL, NULL, argv + 3, environ) != 0) {
            perror("spawn_loop: posix_spawnp");
            free(samples);
            return 1;
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_loop: run %ld failed (status %d)\n", i, status);
            free(samples);
            return 1;
        }
        if (i >= warmup)
            samples[i - warmup] = now_us() - t0;
    }
    for (i = 0; i < n; i++)
        printf("%.3f\n", samples[i]);
    free(samples);
    return 0;
}
