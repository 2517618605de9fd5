/* The floor of the exec workload: `true ITEM` for each line of stdin, one
 * at a time, by posix_spawn and waitpid (what luaworkq.exec does, without
 * Lua, pipes or process groups).  cc -O2 -o spawn spawn.c; ./spawn < items */
#define _POSIX_C_SOURCE 200809L
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *argv[] = {"true", line, NULL};
        pid_t pid;
        int status;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0 ||
            waitpid(pid, &status, 0) < 0 || status != 0) {
            fprintf(stderr, "spawn: true failed\n");
            return 1;
        }
    }
    return 0;
}
