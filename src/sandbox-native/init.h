/* A minimal init for PID 1 (--init): reaps orphans, forwards signals. */
#ifndef LAB_INIT_H
#define LAB_INIT_H

/* Forks. In the child (the program to exec) returns 0. The parent becomes init:
 * it closes close_fd, forwards signals to the program, reaps every child, and
 * when the program ends writes "status N" on status_fd and exits. Returns -1 if
 * the fork fails. */
int become_init(int status_fd, int close_fd);

#endif
