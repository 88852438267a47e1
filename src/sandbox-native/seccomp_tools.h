/* Seccomp tooling, never on the sandbox start-up path (a start only reads an exported
 * BPF file): compile and names need libseccomp and live in the lab-seccomp binary
 * (seccomp_tool.c); record is a subcommand of the static helper, run as the recorded
 * sandbox's first program. */
#ifndef LAB_SECCOMP_TOOLS_H
#define LAB_SECCOMP_TOOLS_H

/* lab-seccomp compile IN OUT: resolved rules (format in src/seccomp/compile.ts)
 * -> classic BPF for the host's native arch and its sub-architectures. */
int seccomp_compile_main(int argc, char **argv);
/* lab-seccomp names: the syscall table of every arch the filter covers, as JSON. */
int seccomp_names_main(int argc, char **argv);
/* lab-helper seccomp-record OUT -- CMD...: run CMD, write the syscalls it made to OUT. */
int seccomp_record_main(int argc, char **argv);

#endif
