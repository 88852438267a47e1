/**
 * What a lab step can do, as a small table of action kinds; each calls one engine
 * function through src/sandbox (never the CLI). A kind whose engine feature is missing
 * makes its step unavailable (see features.ts). New kinds (detach, exec, stop, rm,
 * volume create…) join this table when the lifecycle module exists.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {parseRunArgv} from '../cli/run-flags.js'
import {LabError, usageError} from '../errors.js'
import {buildSpec, type SandboxRequest} from '../sandbox/build-spec.js'
import type {SandboxResult} from '../sandbox/result.js'
import {runSandbox} from '../sandbox/run.js'
import {relComponents, safeReadFile, safeStat} from './fsafe.js'
import type {Lab, LoadedStep} from './load.js'
import type {Action} from './schema.js'
import {quoteArgs, splitCommand, stripSandboxRun} from './shell.js'

/** A lab run that forgets to end must not hang the lab. */
export const DEFAULT_ACTION_TIMEOUT = '30s'
/** Output kept per run (stdout + stderr); beyond it the run is ended with verdict output-limit. */
const OUTPUT_LIMIT = 1024 * 1024

export interface ActionContext {
  lab: Lab
  step: LoadedStep
  work: string
  /** renders a template with the live context */
  render: (src: string, where: string) => string
  /** the sandbox names this lab run created (for cleanup and reports) */
  created: Set<string>
  /** a counter for default sandbox names */
  seq: {n: number}
  /** aborted on Ctrl-C / SIGTERM: the running sandbox is killed at once */
  abort: AbortSignal
}

export interface ActionOutcome {
  kind: string
  as: string
  /** the command as the student would type it (empty for host-side actions) */
  command: string
  show: boolean
  result?: SandboxResult
  /** why the action could not run (a bad answer, a missing file): checks on it then fail */
  error?: string
  hint?: string
}

/** Flag names → SandboxRequest fields (the rest are camelCased, so new flags map by name). */
const FIELD_OF: Record<string, keyof SandboxRequest | null> = {
  volume: 'volumes',
  'env-file': 'envFiles',
  json: null,
  rm: null,
  interactive: null,
  tty: null,
}
const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
/** Flags that build-spec takes inside `limits` (as src/cli/sandbox-run.ts passes them). */
const LIMIT_FLAGS = new Set(['memory', 'memory-swap', 'cpus', 'cpu-shares', 'cpuset-cpus', 'pids-limit', 'blkio-weight', 'device-read-bps', 'device-write-bps', 'device-read-iops', 'device-write-iops', 'cpu-time', 'output-limit'])

/** argv after `lab sandbox run` → a result, through buildSpec and runSandbox. */
async function runSandboxArgv(argv: string[], ctx: ActionContext, input: string | undefined, where: string): Promise<SandboxResult> {
  const parsed = parseRunArgv(argv)
  if (parsed.help) throw usageError(`${where}: --help is not something to run`)
  if (parsed.flags.tty === true) throw usageError(`${where}: -t is not available in labs`, 'leave out -t')
  const limits: Record<string, unknown> = {}
  const req: Record<string, unknown> = {command: parsed.command, callerEnv: {}, limits}
  for (const [flag, value] of Object.entries(parsed.flags)) {
    if (value === undefined) continue
    if (LIMIT_FLAGS.has(flag)) {
      limits[camel(flag)] = value
      continue
    }
    const field = flag in FIELD_OF ? FIELD_OF[flag] : camel(flag)
    if (field) req[field] = value
  }
  // every sandbox is named for the lab, so it is recognisable and removable as the lab's
  const prefix = `${ctx.lab.id}-`
  if (typeof req.name === 'string') {
    if (!req.name.startsWith(prefix)) req.name = prefix + req.name
  } else {
    req.name = `${prefix}${ctx.step.id}-${++ctx.seq.n}`
  }
  if (req.timeout === undefined) req.timeout = DEFAULT_ACTION_TIMEOUT
  const spec = await buildSpec(req as unknown as SandboxRequest)
  ctx.created.add(spec.name)
  return runSandbox(spec, {stdio: 'pipe', stdin: input !== undefined, input, outputLimit: OUTPUT_LIMIT, abortSignal: ctx.abort})
}

type Performer = (a: Action, ctx: ActionContext, name: string) => Promise<ActionOutcome>

const ACTIONS: Record<'run' | 'runFile' | 'mkdir', Performer> = {
  async run(a, ctx, name) {
    const where = `step ${ctx.step.number} (${ctx.step.id}) run`
    const argv = splitCommand(ctx.render(a.run!, where), {where})
    const command = 'lab sandbox run ' + quoteArgs(argv)
    const out: ActionOutcome = {kind: 'run', as: name, command, show: a.show ?? true}
    try {
      out.result = await runSandboxArgv(argv, ctx, a.input, where)
    } catch (e) {
      if (!(e instanceof LabError)) throw e
      out.error = e.message
      out.hint = e.hint
    }
    return out
  },

  async runFile(a, ctx, name) {
    const file = a.runFile!
    const out: ActionOutcome = {kind: 'runFile', as: name, command: `(${file})`, show: a.show ?? true}
    try {
      const text = safeReadFile(ctx.work, file, file, 64 * 1024)
      if (text === null) throw new LabError('answer-missing', `${file} does not exist in ${ctx.work}`, {hint: `write your \`lab sandbox run …\` command in ${join(ctx.work, file)}`})
      const words = splitCommand(text, {where: file, vars: {PWD: ctx.work, WORK: ctx.work}})
      if (words.length === 0) throw new LabError('answer-missing', `${file} has no command yet`, {hint: `write your \`lab sandbox run …\` command in ${join(ctx.work, file)}`})
      const argv = stripSandboxRun(words, file)
      out.command = 'lab sandbox run ' + quoteArgs(argv)
      out.result = await runSandboxArgv(argv, ctx, a.input, file)
    } catch (e) {
      if (!(e instanceof LabError)) throw e
      out.error = e.message
      out.hint = e.hint
    }
    return out
  },

  async mkdir(a, ctx, name) {
    const rel = ctx.render(a.mkdir!, 'mkdir')
    const parts = relComponents(rel, 'mkdir')
    // create component by component, refusing a symlink anywhere on the way
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/')
      const st = safeStat(ctx.work, sub, 'mkdir')
      if (!st) mkdirSync(join(ctx.work, sub), {mode: 0o755})
      else if (!st.isDirectory()) throw new LabError('lab-path', `mkdir ${rel}: ${sub} is a file`)
    }
    return {kind: 'mkdir', as: name, command: `mkdir -p ${rel}`, show: a.show ?? true}
  },
}

export function actionKind(a: Action): keyof typeof ACTIONS {
  return (Object.keys(ACTIONS) as Array<keyof typeof ACTIONS>).find((k) => (a as Record<string, unknown>)[k] !== undefined)!
}

export function performAction(a: Action, index: number, ctx: ActionContext): Promise<ActionOutcome> {
  return ACTIONS[actionKind(a)](a, ctx, a.as ?? `a${index + 1}`)
}
