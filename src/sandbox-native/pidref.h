/* Naming another process safely (pidref.c): a pid together with its start time, so a
 * pid the kernel has recycled never stands for the sandbox (or caller) we meant. Used
 * for joined namespaces, exec and cp targets, and a foreground caller. */
#ifndef LAB_PIDREF_H
#define LAB_PIDREF_H

#include <stdbool.h>
#include <sys/types.h>

/* The start time of pid from /proc/PID/stat, field 22 (0 if it is gone). */
unsigned long long process_start_time(pid_t pid);
/* A pidfd for pid, refused when its start time is not start (0: unchecked). */
int open_pidfd_checked(pid_t pid, unsigned long long start);
/* The process behind pidfd has not exited. */
bool pidfd_alive(int pidfd);

#endif
