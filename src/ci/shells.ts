/**
 * How a `run:` script is run, as GitHub's runner does it: the script is written to a
 * file and the shell is given its path ({0} in a template). Built-in shells:
 *
 *   (none, workflow)  bash -e {0}                                (sh -e {0} in a lab pipeline)
 *   bash              bash --noprofile --norc -eo pipefail {0}
 *   sh                sh -e {0}
 *   python            python3 {0}   (GitHub runs `python`; Debian has only python3)
 *   pwsh, powershell  pwsh -command ". '{0}'"
 *   anything else     a custom template: words split on spaces, {0} is the script file
 */
import {LabError} from '../errors.js'

export interface ShellPlan {
  /** argv, with the script file's path in place of {0} */
  argv: string[]
  /** the script file's extension (GitHub names the file after the shell) */
  ext: string
  /** POSIX shells read $NAME: a value lab must keep off the file can be passed by variable */
  posix: boolean
}

const BUILTIN: Record<string, {template: string; ext: string; posix: boolean}> = {
  bash: {template: 'bash --noprofile --norc -eo pipefail {0}', ext: '.sh', posix: true},
  sh: {template: 'sh -e {0}', ext: '.sh', posix: true},
  python: {template: 'python3 {0}', ext: '.py', posix: false},
  pwsh: {template: "pwsh -command . '{0}'", ext: '.ps1', posix: false},
  powershell: {template: "pwsh -command . '{0}'", ext: '.ps1', posix: false},
}

/** The problem with a shell name or template, or null. */
export function shellProblem(shell: string): string | null {
  const s = shell.trim()
  if (!s) return 'the shell is empty'
  if (s === 'cmd') return 'shell "cmd" runs only on Windows runners'
  if (s in BUILTIN) return null
  if (!s.includes('{0}')) return `shell "${s}" is neither bash, sh, python, pwsh nor a template with {0} for the script file (e.g. "perl {0}")`
  return null
}

export function shellPlan(shell: string | undefined, kind: 'lab' | 'github', file: string, image = false): ShellPlan {
  const s = (shell ?? '').trim()
  // in a container image GitHub falls back to sh when the image has no bash
  if (!s && kind === 'github' && image) return {argv: ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -e "$0"; fi; exec sh -e "$0"', file], ext: '.sh', posix: true}
  if (!s) return kind === 'github' ? {argv: ['bash', '-e', file], ext: '.sh', posix: true} : {argv: ['sh', '-e', file], ext: '.sh', posix: true}
  const problem = shellProblem(s)
  if (problem) throw new LabError('ci-shell', problem, {hint: 'use bash, sh, python, pwsh or a command with {0}'})
  const b = BUILTIN[s]
  const template = b?.template ?? s
  const argv = template.split(/\s+/).filter(Boolean).map((w) => w.replaceAll('{0}', file))
  const prog = argv[0].split('/').pop() ?? ''
  return {argv, ext: b?.ext ?? (/^python/.test(prog) ? '.py' : /^(bash|sh|dash|zsh|ksh)$/.test(prog) ? '.sh' : ''), posix: b?.posix ?? /^(bash|sh|dash|zsh|ksh)$/.test(prog)}
}
