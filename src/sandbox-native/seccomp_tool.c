/* lab-seccomp: the seccomp tooling that needs the system's libseccomp (loaded with
 * dlopen in seccomp_compile.c). It is a binary of its own, linked against the shared
 * libc, so that the sandbox helper can be linked statically: a start of lab-helper then
 * pays no dynamic loader (about 0.2-0.4 ms of every sandbox start), and a static binary
 * never mixes two copies of libc with a dlopen'ed library.
 *
 *   lab-seccomp compile RULES_IN BPF_OUT   resolved rules -> classic BPF (compile.ts)
 *   lab-seccomp names                      syscall tables of the covered ABIs (host.ts) */
#include <stdio.h>
#include <string.h>

#include "seccomp_tools.h"

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "compile") == 0) return seccomp_compile_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "names") == 0) return seccomp_names_main(argc, argv);
  fprintf(stderr, "usage: lab-seccomp compile RULES_IN BPF_OUT\n       lab-seccomp names\n"
                  "(run by lab when a seccomp profile is new, not by hand)\n");
  return 2;
}
