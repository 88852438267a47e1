/**
 * `lab doctor --grading SPEC`: which commands a grading spec runs are missing inside
 * the sandbox. A sandbox sees the host's system directories only (/usr, /bin, /lib…,
 * read-only), not a user's own environments: a tool installed with pyenv, a venv, nvm or
 * under $HOME is found on the host and still missing in the sandbox, and this says so.
 * A spec on images (its `image:`, a test's or a service's) is probed in each image its
 * commands run on.
 */
import {accessSync, constants} from 'node:fs'
import {join} from 'node:path'

import {frameworkNeeds, type FrameworkName} from './frameworks/index.js'
import {gradingSandbox} from './harness.js'
import {pinImages} from './images.js'
import {loadGradingSpec} from './load.js'
import {isGroup} from './schema.js'

export interface GradingCommandCheck {
  name: string
  kind: 'command' | 'python-module'
  /** where the spec uses it */
  usedBy: string[]
  /** its path inside the sandbox, or null when missing there */
  inSandbox: string | null
  /** its path on the host (on the caller's PATH), when the sandbox lacks it on the host's root */
  onHost: string | null
  /** the image (as the spec names it) it was looked for in; absent: the host's system directories */
  image?: string
}

export interface GradingDoctorReport {
  spec: string
  ok: boolean
  checks: GradingCommandCheck[]
}

const SHELL_WORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'in', '!', '{', '}', '[[', ']]', 'function', 'select'])
const BUILTINS = new Set(['cd', 'echo', 'exit', 'export', 'read', 'set', 'shift', 'test', '[', 'true', 'false', ':', '.', 'source', 'wait', 'trap', 'printf', 'local', 'return', 'eval', 'unset', 'umask', 'ulimit', 'break', 'continue', 'type', 'alias', 'getopts', 'kill', 'pwd'])
const PREFIXES = new Set(['exec', 'command', 'time', 'nice', 'env', 'timeout', 'nohup', 'stdbuf'])

/** The programs a shell command line starts (first word of each simple command), best effort. */
export function commandsOf(line: string): string[] {
  const found: string[] = []
  for (const part of line.replace(/\$\(/g, ';').split(/[;&|\n()`]+/)) {
    const words = part.trim().split(/\s+/).filter(Boolean)
    let i = 0
    while (i < words.length) {
      const w = words[i]
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) || /^[0-9]*[<>]/.test(w) || SHELL_WORDS.has(w)) i++
      else if (PREFIXES.has(w) || (/^-/.test(w) && i > 0 && PREFIXES.has(words[i - 1]))) i++
      else break
    }
    const w = words[i]
    if (!w || BUILTINS.has(w) || /^[$"'\\~]/.test(w) || w.startsWith('./') || w.startsWith('/work') || w.startsWith('/grader') || /^[0-9]+(\.[0-9]+)?$/.test(w)) continue
    found.push(w)
  }
  return found
}

function onHostPath(cmd: string): string | null {
  if (cmd.includes('/')) return null
  for (const d of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    try {
      accessSync(join(d, cmd), constants.X_OK)
      return join(d, cmd)
    } catch {
      /* next */
    }
  }
  return null
}

export async function gradingDoctor(given: string): Promise<GradingDoctorReport> {
  const spec = await loadGradingSpec(given)
  const pins = pinImages(spec.data)
  // per root (an image as the spec names it, or '' for the host's): name → where it is used
  const roots = new Map<string, {uses: Map<string, Set<string>>; modules: Map<string, Set<string>>}>()
  const on = (image: string | undefined) => {
    const key = image ?? ''
    if (!roots.has(key)) roots.set(key, {uses: new Map(), modules: new Map()})
    return roots.get(key)!
  }
  const add = (m: Map<string, Set<string>>, k: string, where: string) => m.set(k, (m.get(k) ?? new Set()).add(where))
  const top = spec.data.image
  if (spec.data.build) for (const c of commandsOf(spec.data.build.run)) add(on(top).uses, c, 'build')
  for (const sv of spec.data.services ?? []) {
    const r = on(sv.image ?? top)
    for (const c of commandsOf(sv.run)) add(r.uses, c, `service ${sv.name}`)
    if (sv.ready?.command) for (const c of commandsOf(sv.ready.command)) add(r.uses, c, `service ${sv.name} (ready)`)
  }
  for (const t of spec.data.tests) {
    const r = on(t.image ?? top)
    if (isGroup(t)) {
      const needs = frameworkNeeds(t.framework as FrameworkName)
      for (const c of t.run ? commandsOf(t.run) : needs.commands) add(r.uses, c, t.name)
      if (!t.run) for (const m of needs.pythonModules) add(r.modules, m, t.name)
      continue
    }
    for (const c of commandsOf(t.run)) add(r.uses, c, t.name)
    for (const ch of t.checks) if (ch.checker && !ch.checker.command[0].startsWith('/grader')) add(r.uses, ch.checker.command[0], `${t.name} (checker)`)
  }
  const checks: GradingCommandCheck[] = []
  for (const [image, {uses, modules}] of roots) {
    const cmds = [...uses.keys()]
    const mods = [...modules.keys()]
    if (!cmds.length && !mods.length) continue
    // one sandbox per root answers for every name: "c <name> <path>" or "c <name>" (missing), "m <module> 1|0"
    const script = 'for c in "$@"; do case "$c" in m:*) m=${c#m:}; if python3 -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)" "$m" 2>/dev/null; then echo "m $m 1"; else echo "m $m 0"; fi;; *) p=$(command -v -- "$c" 2>/dev/null); echo "c $c $p";; esac; done'
    const r = await gradingSandbox(['sh', '-c', script, 'sh', ...cmds, ...mods.map((m) => `m:${m}`)], image ? pins.get(image) : undefined)
    if (r.verdict !== 'ok') throw new Error(`the probe sandbox${image ? ` on ${image}` : ''} did not run (${r.verdict}${r.error?.message ? `: ${r.error.message}` : ''}); run \`lab doctor\``)
    const seen = new Map<string, string>()
    for (const line of (r.stdout ?? '').split('\n')) {
      const [k, name, ...rest] = line.split(' ')
      if (k === 'c' && name) seen.set(`c:${name}`, rest.join(' '))
      if (k === 'm' && name) seen.set(`m:${name}`, rest[0] === '1' ? `python3 -c "import ${name}"` : '')
    }
    const where = image ? {image} : {}
    for (const c of cmds) {
      const at = seen.get(`c:${c}`) || null
      checks.push({name: c, kind: 'command', usedBy: [...uses.get(c)!], inSandbox: at, onHost: at || image ? null : onHostPath(c), ...where})
    }
    for (const m of mods) {
      const at = seen.get(`m:${m}`) || null
      checks.push({name: m, kind: 'python-module', usedBy: [...modules.get(m)!], inSandbox: at, onHost: null, ...where})
    }
  }
  return {spec: spec.file, ok: checks.every((c) => c.inSandbox), checks}
}
