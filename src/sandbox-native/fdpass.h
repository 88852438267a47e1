/* Passing one file descriptor over a unix socket (SCM_RIGHTS): the pty master from
 * the sandbox to its helper, a cloned /dev/shm tree to a joiner, a seccomp listener
 * fd to the recorder. */
#ifndef LAB_FDPASS_H
#define LAB_FDPASS_H

/* Sends fd with a one-byte message. Returns 0, or -1 with errno set. */
int fd_send(int sock, int fd);
/* Receives one fd (close-on-exec); flags for recvmsg (e.g. MSG_DONTWAIT). Returns the
 * fd, or -1 when none came (errno set when the call failed). */
int fd_recv(int sock, int flags);

#endif
