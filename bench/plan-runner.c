/* Benchmark driver: runs lab-helper with a plan read from a file, the way the CLI does
 * (plan on fd 3, a socket kept open until the helper ends), without Node in the loop,
 * so hyperfine times the helper alone. Usage: plan-runner HELPER PLANFILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: plan-runner HELPER PLANFILE\n");
    return 2;
  }
  static char plan[1 << 20];
  int fd = open(argv[2], O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, plan, sizeof plan);
  if (n <= 0) {
    perror("plan");
    return 2;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(sv[1], 3); /* dup2 clears close-on-exec on the copy */
    execl(argv[1], argv[1], "run", (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  if (write(sv[0], plan, (size_t)n) != n) return 2;
  char buf[4096];
  while (read(sv[0], buf, sizeof buf) > 0) {
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
