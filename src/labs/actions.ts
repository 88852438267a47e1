/**
 * What a lab step can do, as a small table of action kinds; each calls one engine
 * function through src/sandbox (never the CLI): foreground runs through runSandbox,
 * everything with a lifetime — detached sandboxes, managed volumes, joined namespaces,
 * exec, stop, rm, logs — through the lifecycle API, on a state directory private to
 * this lab run (see workdir.ts), so a lab never touches the user's own sandboxes. A run
 * is one run request (sandbox/request.ts) and gets the engine's own result and verdict.
 */
import {spawn} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../errors.js'
import {parseRunArgv, requestFromArgv, type ParsedRun} from '../sandbox/argv.js'
import type {Lifecycle} from '../sandbox/lifecycle.js'
import {needsSupervisor, type RunRequest} from '../sandbox/request.js'
import type {SandboxResult, Verdict} from '../sandbox/result.js'
import {runRequest, startDetached} from '../sandbox/run-request.js'
import {parseDuration} from '../sandbox/units.js'
import {Volumes} from '../sandbox/volumes-managed.js'
import {writeArchive} from './archive.js'
import {relComponents, safeReadFile, safeStat} from './fsafe.js'
import {PACKAGE_ROOT, type Lab, type LoadedStep} from './load.js'
import type {Action} from './schema.js'
import {quoteArgs, splitCommand, stripSandboxRun} from './shell.js'
import {confineVerbArgs, splitVerb, stripLab} from './verbs.js'

/** A lab run that forgets to end must not hang the lab. */
export const DEFAULT_ACTION_TIMEOUT = '30s'
/** A detached sandbox is removed at the end of the lab; this bounds it if the CLI is killed first. */
export const DEFAULT_DETACHED_TIMEOUT = '10m'
/** How long a wait action waits by default. */
const DEFAULT_WAIT = '20s'
/** Output kept per run (stdout + stderr); beyond it the run is ended with verdict output-limit. */
const OUTPUT_LIMIT = 1024 * 1024
/** Flags the runner owns: where state lives, files written on the host, the terminal. */
const RUNNER_FLAGS = ['state-dir', 'cidfile', 'json', 'interactive', 'tty']

export interface ActionContext {
  lab: Lab
  step: LoadedStep
  work: string
  /** renders a template with the live context */
  render: (src: string, where: string) => string
  /** the sandboxes this lab run created: name → id (a --rm sandbox can be waited for after it is gone) */
  created: Map<string, string>
  /** a counter for default sandbox names */
  seq: {n: number}
  /** aborted on Ctrl-C / SIGTERM: the running sandbox is killed at once */
  abort: AbortSignal
  /** the lifecycle engine on this lab run's private state directory (made on first use) */
  engine: () => Lifecycle
  /** the lab's registry (127.0.0.1:PORT), when the step requires one */
  registry?: string
}

export interface ActionOutcome {
  kind: string
  as: string
  /** the command as the student would type it (empty for host-side actions) */
  command: string
  show: boolean
  result?: SandboxResult
  /** numbers a `measure` check compares (wallMs, cpuPercent, restartCount…) */
  metrics?: Record<string, number>
  /** why the action could not run (a bad answer, a missing file, a refusal): checks on it then fail */
  error?: string
  hint?: string
}

/** Sandboxes and volumes of a lab are named for it: "web" → "ch2-containers-web". */
export function labName(lab: Lab, short: string): string {
  const prefix = `${lab.id}-`
  return short.startsWith(prefix) ? short : prefix + short
}

/** Networks of a lab are named for it too; the built-in ones keep their names. */
export function labNetworkName(lab: Lab, short: string): string {
  return BUILTIN_NETWORKS.has(short) || short.startsWith('pasta:') ? short : labName(lab, short)
}
const BUILTIN_NETWORKS = new Set(['bridge', 'host', 'none', 'default', 'pasta'])

/** A result of the same shape for outcomes that are not runs (logs, wait, rm…). */
function synthetic(name: string, f: {exitCode?: number; verdict?: Verdict; stdout?: string; stderr?: string; wallMs?: number; signal?: string | null}): SandboxResult {
  const exitCode = f.exitCode ?? 0
  return {
    id: '',
    name,
    verdict: f.verdict ?? (exitCode === 0 ? 'ok' : 'nonzero-exit'),
    exitCode,
    signal: f.signal ?? null,
    timedOut: f.verdict === 'timeout',
    wallMs: f.wallMs ?? 0,
    cpu: {userMs: 0, systemMs: 0},
    peakMemoryBytes: 0,
    evidence: {},
    stdout: f.stdout ?? '',
    stderr: f.stderr ?? '',
  }
}

function runMetrics(r: SandboxResult): Record<string, number> {
  const cpuMs = r.cpu.userMs + r.cpu.systemMs
  const m: Record<string, number> = {wallMs: r.wallMs, cpuMs, peakMemoryBytes: r.peakMemoryBytes}
  // how many CPUs' worth it used on average: a quota caps it, a busy host only lowers it
  if (r.wallMs > 0 && cpuMs > 0) m.cpuShare = cpuMs / r.wallMs
  if (typeof r.pidsPeak === 'number') m.pidsPeak = r.pidsPeak
  return m
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Names other sandboxes by the lab's names: --volumes-from web, --network sandbox:web, -v data:/d. */
function nameReferences(parsed: ParsedRun, lab: Lab): void {
  const f = parsed.flags
  const ref = (v: string) => v.replace(/^((?:sandbox|container):)?([^:]+)(.*)$/s, (_, kind: string | undefined, n: string, rest: string) => `${kind ?? ''}${labName(lab, n)}${rest}`)
  if (Array.isArray(f['volumes-from'])) f['volumes-from'] = f['volumes-from'].map(ref)
  for (const k of ['ipc', 'pid', 'network'] as const) {
    const v = f[k]
    if (typeof v === 'string' && /^(sandbox|container):./.test(v)) f[k] = ref(v)
  }
  // --network NAME (a network the lab created), --link NAME[:ALIAS] (its sandbox; the alias is the lab's word)
  if (typeof f.network === 'string' && !/^(sandbox|container):/.test(f.network)) f.network = labNetworkName(lab, f.network)
  if (Array.isArray(f.link)) f.link = f.link.map((l) => (typeof l === 'string' ? ref(l) : l))
  if (Array.isArray(f.volume)) {
    // a named volume (NAME:/dest); host paths and anonymous volumes (/dest) start with "/"
    f.volume = f.volume.map((v) => (Volumes.isManaged(v) && !v.startsWith('/') ? ref(v) : v))
  }
}

interface RunOutcome {
  result: SandboxResult
  command: string
}

/**
 * argv after `lab sandbox run` (a lab's step or a student's answer is a command line)
 * → the run request, through the one Docker-style front end (sandbox/argv.ts) → the one
 * run function: the same result and verdicts whether the run is foreground or
 * supervised (managed volumes, --volumes-from, joined namespaces). A detached run's
 * result is its id, as `lab sandbox run -d` prints it.
 */
async function runSandboxArgv(argv: string[], ctx: ActionContext, input: string | undefined, where: string): Promise<RunOutcome> {
  const parsed = parseRunArgv(argv)
  if (parsed.help) throw usageError(`${where}: --help is not something to run`)
  for (const flag of RUNNER_FLAGS) {
    const v = parsed.flags[flag]
    if (v !== undefined && v !== false) throw usageError(`${where}: --${flag} is not available in labs`, flag === 'interactive' ? 'the lab gives the program its input itself; leave out -i' : `leave out --${flag}; the lab runner owns it`)
  }
  // every sandbox is named for the lab, so it is recognisable and removable as the lab's
  if (typeof parsed.flags.name === 'string') parsed.flags.name = labName(ctx.lab, parsed.flags.name)
  else parsed.flags.name = labName(ctx.lab, `${ctx.step.id}-${++ctx.seq.n}`)
  nameReferences(parsed, ctx.lab)
  // nothing of the caller's environment reaches a lab's sandbox (-e NAME copies from an
  // empty set); a foreground run is not kept: the lab names its runs only to clean up
  const req: RunRequest = {...requestFromArgv(parsed, {}), keep: false}
  // an image sandbox the lab named (without --rm) is kept, as docker keeps it, for
  // commit, diff and export; it goes with the lab's state directory
  if (req.image !== undefined && typeof argvName(argv) === 'string' && parsed.flags.rm !== true) req.keep = true
  req.timeout ??= req.detach ? DEFAULT_DETACHED_TIMEOUT : DEFAULT_ACTION_TIMEOUT
  const command = 'lab sandbox run ' + quoteArgs(argv)
  const onCreated = (s: {id: string; name: string}) => void ctx.created.set(s.name, s.id)
  if (req.detach) {
    const started = await startDetached(req, {engine: ctx.engine, onCreated})
    return {result: synthetic(started.name, {stdout: started.id + '\n'}), command}
  }
  if (input !== undefined && needsSupervisor(req)) throw usageError('input cannot be given to a sandbox started through the lifecycle', 'give the program its input in a bound file instead')
  // an image comes from the lab's own store, never the user's
  const stateDir = req.image !== undefined ? ctx.engine().store.roots.data : undefined
  const result = await runRequest(req, {stdio: 'pipe', stdin: input !== undefined, input, outputLimit: OUTPUT_LIMIT, abortSignal: ctx.abort, engine: ctx.engine, stateDir, onCreated})
  return {result, command}
}

/** The --name a run's argv gives, before the lab prefixes it. */
function argvName(argv: string[]): string | undefined {
  const v = parseRunArgv(argv).flags.name
  return typeof v === 'string' ? v : undefined
}

/** How long an image verb may take (a pull from the lab's registry, an import). */
const VERB_TIMEOUT_MS = 120_000

/**
 * A `lab` verb of the table in verbs.ts, run as the CLI runs it (its output is what a
 * student sees typing it) on the lab's private state directory, in the work directory;
 * `sandbox run` goes through the lab's own run path instead.
 */
async function runVerb(words: string[], ctx: ActionContext, where: string, out: ActionOutcome): Promise<void> {
  const {verb, args} = splitVerb(words, where)
  if (verb === 'sandbox run') {
    out.command = 'lab sandbox run ' + quoteArgs(args)
    const r = await runSandboxArgv(args, ctx, undefined, where)
    out.result = r.result
    out.metrics = runMetrics(r.result)
    return
  }
  const confined = await confineVerbArgs(verb, args, {work: ctx.work, where, writable: ctx.lab.data.writable ?? [], sandboxName: (n) => labName(ctx.lab, n), networkName: (n) => labNetworkName(ctx.lab, n)})
  out.command = `lab ${verb} ${quoteArgs(args)}`.trimEnd()
  const stateDir = ctx.engine().store.roots.data
  const env: NodeJS.ProcessEnv = {...process.env, LAB_STATE_DIR: stateDir, NO_COLOR: '1'}
  delete env.LAB_REGISTRY_MIRROR // a lab pulls from its own registry only
  const t0 = Date.now()
  const r = await new Promise<{code: number | null; signal: string | null; stdout: string; stderr: string}>((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'run.js'), ...verb.split(' '), ...confined], {cwd: ctx.work, env, stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.abort, timeout: VERB_TIMEOUT_MS})
    const bufs = {stdout: [] as Buffer[], stderr: [] as Buffer[]}
    let size = 0
    for (const k of ['stdout', 'stderr'] as const) {
      child[k].on('data', (d: Buffer) => {
        size += d.length
        if (size <= OUTPUT_LIMIT) bufs[k].push(d)
      })
    }
    child.once('error', (e) => ((e as NodeJS.ErrnoException).code === 'ABORT_ERR' ? undefined : reject(e)))
    child.once('close', (code, signal) => resolve({code, signal, stdout: Buffer.concat(bufs.stdout).toString('utf8'), stderr: Buffer.concat(bufs.stderr).toString('utf8')}))
  })
  const timedOut = r.signal === 'SIGTERM' && Date.now() - t0 >= VERB_TIMEOUT_MS
  const exitCode = r.code ?? 128 + (r.signal === 'SIGKILL' ? 9 : 15)
  out.result = synthetic(verb, {exitCode, stdout: r.stdout, stderr: r.stderr, wallMs: Date.now() - t0, signal: r.signal, verdict: timedOut ? 'timeout' : undefined})
  out.metrics = {wallMs: Date.now() - t0}
}

interface WaitGoal {
  until: 'exited' | 'running' | 'log' | 'restarts'
  log?: string
  restarts?: number
}

/** Polls a sandbox until the goal holds; a LabError when time is up or the lab is interrupted. */
async function waitForSandbox(lc: Lifecycle, id: string, goal: WaitGoal, ms: number, abort: AbortSignal): Promise<{exitCode: number; restartCount: number; status: string}> {
  const end = Date.now() + ms
  let last = {exitCode: 0, restartCount: 0, status: 'created'}
  for (;;) {
    const rec = lc.store.load(id)
    if (!rec) {
      // removed when it ended (--rm): its last status may still be there
      const s = lc.store.status(id)
      last = {exitCode: s?.exitCode ?? last.exitCode, restartCount: s?.restartCount ?? last.restartCount, status: 'removed'}
      if (goal.until === 'exited') return last
      throw new LabError('lab-wait', `the sandbox was removed before it ${describeGoal(goal)}`)
    }
    const st = lc.state(rec)
    if (rec.autoRemove && st.killedBy === 'host-restart' && Date.now() < end) {
      // a --rm sandbox in the middle of its removal (status gone, record not yet): look again
      await sleep(20)
      continue
    }
    last = {exitCode: st.exitCode, restartCount: st.restartCount, status: st.status}
    if (goal.until === 'exited' && !st.running && !st.restarting && st.status !== 'created') return last
    if (goal.until === 'running' && st.running) return last
    if (goal.until === 'restarts' && st.restartCount >= (goal.restarts ?? 1)) return last
    if (goal.until === 'log') {
      const lines = await lc.logs(id)
      if (lines.some((l) => l.line.includes(goal.log ?? ''))) return last
      if (!st.running && !st.restarting) throw new LabError('lab-wait', `${rec.name} ended (exit ${st.exitCode}) without printing "${goal.log}"`, {hint: 'see its output with a logs action'})
    }
    if (abort.aborted) throw new LabError('interrupted', 'interrupted')
    if (Date.now() > end) throw new LabError('lab-wait', `${rec.name} has not ${describeGoal(goal)} after ${Math.round(ms / 1000)} s (it is ${st.status})`)
    await sleep(40)
  }
}

function describeGoal(g: WaitGoal): string {
  if (g.until === 'log') return `printed "${g.log}"`
  if (g.until === 'restarts') return `been restarted ${g.restarts ?? 1} times`
  return g.until === 'running' ? 'started' : 'stopped'
}

type Performer = (a: Action, ctx: ActionContext, name: string) => Promise<ActionOutcome>

/** Runs an action body, turning a LabError (a student's mistake, an engine refusal) into the outcome's error. */
async function attempt(out: ActionOutcome, fn: () => Promise<void>): Promise<ActionOutcome> {
  try {
    await fn()
  } catch (e) {
    if (!(e instanceof LabError)) throw e
    out.error = e.message
    out.hint = e.hint
  }
  return out
}

/** A sandbox action: the name is the lab's, the command is shown as the CLI would take it. */
function onSandbox(kind: string, display: (name: string, a: Action) => string, body: (lc: Lifecycle, name: string, a: Action, ctx: ActionContext, out: ActionOutcome) => Promise<void>): Performer {
  return async (a, ctx, as) => {
    const spec = (a as Record<string, unknown>)[kind] as {sandbox: string}
    const name = labName(ctx.lab, ctx.render(spec.sandbox, kind))
    const out: ActionOutcome = {kind, as, command: display(name, a), show: a.show ?? true}
    return attempt(out, () => body(ctx.engine(), name, a, ctx, out))
  }
}

const ACTIONS: Record<string, Performer> = {
  async run(a, ctx, name) {
    const where = `step ${ctx.step.number} (${ctx.step.id}) run`
    const argv = splitCommand(ctx.render(a.run!, where), {where})
    const out: ActionOutcome = {kind: 'run', as: name, command: 'lab sandbox run ' + quoteArgs(argv), show: a.show ?? true}
    return attempt(out, async () => {
      const r = await runSandboxArgv(argv, ctx, a.input, where)
      out.result = r.result
      out.metrics = runMetrics(r.result)
    })
  },

  async runFile(a, ctx, name) {
    const file = a.runFile!
    const out: ActionOutcome = {kind: 'runFile', as: name, command: `(${file})`, show: a.show ?? true}
    return attempt(out, async () => {
      const text = safeReadFile(ctx.work, file, file, 64 * 1024)
      if (text === null) throw new LabError('answer-missing', `${file} does not exist in ${ctx.work}`, {hint: `write your \`lab sandbox run …\` command in ${join(ctx.work, file)}`})
      const words = splitCommand(text, {where: file, vars: {PWD: ctx.work, WORK: ctx.work}})
      if (words.length === 0) throw new LabError('answer-missing', `${file} has no command yet`, {hint: `write your \`lab sandbox run …\` command in ${join(ctx.work, file)}`})
      const argv = stripSandboxRun(words, file)
      out.command = 'lab sandbox run ' + quoteArgs(argv)
      const r = await runSandboxArgv(argv, ctx, a.input, file)
      out.result = r.result
      out.metrics = runMetrics(r.result)
    })
  },

  async command(a, ctx, name) {
    const where = `step ${ctx.step.number} (${ctx.step.id}) command`
    const words = splitCommand(ctx.render(a.command!, where), {where})
    const out: ActionOutcome = {kind: 'command', as: name, command: 'lab ' + quoteArgs(words), show: a.show ?? true}
    return attempt(out, () => runVerb(words, ctx, where, out))
  },

  async commandFile(a, ctx, name) {
    const file = a.commandFile!
    const out: ActionOutcome = {kind: 'commandFile', as: name, command: `(${file})`, show: a.show ?? true}
    return attempt(out, async () => {
      const text = safeReadFile(ctx.work, file, file, 64 * 1024)
      if (text === null) throw new LabError('answer-missing', `${file} does not exist in ${ctx.work}`, {hint: `write your \`lab …\` command in ${join(ctx.work, file)}`})
      const vars: Record<string, string> = {PWD: ctx.work, WORK: ctx.work, ...(ctx.registry ? {REGISTRY: ctx.registry} : {})}
      const words = splitCommand(text, {where: file, vars})
      if (words.length === 0) throw new LabError('answer-missing', `${file} has no command yet`, {hint: `write your \`lab …\` command in ${join(ctx.work, file)}`})
      out.command = 'lab ' + quoteArgs(words.slice(1))
      await runVerb(stripLab(words, file), ctx, file, out)
    })
  },

  async archive(a, ctx, name) {
    const spec = a.archive!
    const rel = ctx.render(spec.to, 'archive')
    const parts = relComponents(rel, 'archive')
    const out: ActionOutcome = {kind: 'archive', as: name, command: `(a tarball ${rel}${spec.busybox ? ' of the host\'s static busybox' : ''}${spec.files ? ` with ${Object.keys(spec.files).join(', ')}` : ''})`, show: a.show ?? true}
    return attempt(out, async () => {
      // a directory sandboxes write to could have its path swapped for a link meanwhile
      if ((ctx.lab.data.writable ?? []).some((w) => rel === w || rel.startsWith(w.replace(/\/$/, '') + '/'))) throw new LabError('lab-path', `archive: ${rel} is in a directory sandboxes write to`, {hint: 'write the tarball elsewhere in the work directory'})
      if (parts.length > 1 && !safeStat(ctx.work, parts.slice(0, -1).join('/'), 'archive')?.isDirectory()) throw new LabError('lab-path', `archive: the directory of ${rel} does not exist`, {hint: 'make it with a mkdir action first'})
      const st = safeStat(ctx.work, parts.join('/'), 'archive')
      if (st && !st.isFile()) throw new LabError('lab-path', `archive: ${rel} exists and is not a regular file`)
      writeArchive(join(ctx.work, ...parts), {...spec, to: rel})
    })
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

  exec: onSandbox('exec', (n, a) => `lab sandbox exec ${a.exec!.user ? `-u ${a.exec!.user} ` : ''}${n} ${a.exec!.command}`, async (lc, n, a, ctx, out) => {
    const argv = splitCommand(ctx.render(a.exec!.command, 'exec'), {where: 'exec'})
    out.command = `lab sandbox exec ${a.exec!.user ? `-u ${a.exec!.user} ` : ''}${n} ${quoteArgs(argv)}`
    const r = await lc.exec(n, argv, {stdio: 'pipe', user: a.exec!.user, input: a.input})
    out.result = r
    out.metrics = runMetrics(r)
  }),

  stop: onSandbox('stop', (n, a) => `lab sandbox stop -t ${a.stop!.timeout ?? 10} ${n}`, async (lc, n, a, _ctx, out) => {
    const t0 = Date.now()
    const r = await lc.stop(n, {timeoutSeconds: a.stop!.timeout ?? 10})
    out.result = synthetic(n, {exitCode: r.exitCode, wallMs: Date.now() - t0})
    out.metrics = {wallMs: out.result.wallMs}
  }),

  kill: onSandbox('kill', (n, a) => `lab sandbox kill -s ${a.kill!.signal ?? 'KILL'} ${n}`, async (lc, n, a) => {
    await lc.kill(n, a.kill!.signal ?? 'KILL')
  }),

  rm: onSandbox('rm', (n, a) => `lab sandbox rm ${a.rm!.force ? '-f ' : ''}${a.rm!.volumes ? '-v ' : ''}${n}`, async (lc, n, a, _ctx, out) => {
    const r = await lc.remove(n, {force: a.rm!.force ?? false, volumes: a.rm!.volumes ?? false})
    // what `lab sandbox rm` prints: the sandbox it removed (as docker rm does); the
    // anonymous volumes -v removed with it are a measure
    out.result = synthetic(n, {stdout: n + '\n'})
    out.metrics = {volumesRemoved: r.volumes.length}
  }),

  logs: onSandbox('logs', (n, a) => `lab sandbox logs ${a.logs!.tail !== undefined ? `--tail ${a.logs!.tail} ` : ''}${n}`, async (lc, n, a, _ctx, out) => {
    const lines = await lc.logs(n, {tail: a.logs!.tail})
    const of = (s: string) => lines.filter((l) => l.stream === s).map((l) => l.line + '\n').join('')
    out.result = synthetic(n, {stdout: of('stdout'), stderr: of('stderr')})
    out.metrics = {lines: lines.length}
  }),

  wait: onSandbox('wait', (n, a) => (a.wait!.until ?? 'exited') === 'exited' ? `lab sandbox wait ${n}` : `(wait until ${n} ${describeGoal({until: a.wait!.until!, log: a.wait!.log, restarts: a.wait!.restarts})})`, async (lc, n, a, ctx, out) => {
    const w = a.wait!
    const t0 = Date.now()
    const ms = parseDuration(w.timeout ?? DEFAULT_WAIT, 'wait timeout')
    // a sandbox started with --rm may be gone already: its id is still known to the lab
    const id = lc.store.nameHolder(n) ?? ctx.created.get(n) ?? lc.store.resolve(n)
    const r = await waitForSandbox(lc, id, {until: w.until ?? 'exited', log: w.log, restarts: w.restarts}, ms, ctx.abort)
    out.result = synthetic(n, {exitCode: r.exitCode, wallMs: Date.now() - t0, stdout: (w.until ?? 'exited') === 'exited' ? `${r.exitCode}\n` : ''})
    out.metrics = {wallMs: Date.now() - t0, restartCount: r.restartCount}
  }),

  top: onSandbox('top', (n) => `lab sandbox top ${n}`, async (lc, n, _a, _ctx, out) => {
    const t = lc.top(n)
    const lines = t.processes.map((p) => `${p.pid} ${p.ppid} ${p.state} ${p.cmd}`)
    out.result = synthetic(n, {stdout: ['PID PPID STAT CMD', ...lines].join('\n') + '\n'})
    out.metrics = {processes: t.processes.length}
  }),

  stats: onSandbox('stats', (n) => `lab sandbox stats --no-stream ${n}`, async (lc, n, _a, _ctx, out) => {
    const [s] = await lc.stats([n], 500)
    if (!s) throw new LabError('sandbox-not-running', `sandbox ${n} is not running`, {hint: 'stats sample running sandboxes only'})
    out.result = synthetic(n, {stdout: `CPU ${s.cpuPercent.toFixed(1)}%  MEM ${(s.memoryBytes / 1048576).toFixed(1)} MiB${s.memoryLimitBytes ? ` / ${(s.memoryLimitBytes / 1048576).toFixed(0)} MiB` : ''}  PIDS ${s.pids}\n`})
    out.metrics = {cpuPercent: s.cpuPercent, memoryBytes: s.memoryBytes, pids: s.pids}
  }),

  async volumeCreate(a, ctx, as) {
    const n = labName(ctx.lab, ctx.render(a.volumeCreate!, 'volumeCreate'))
    const out: ActionOutcome = {kind: 'volumeCreate', as, command: `lab volume create ${n}`, show: a.show ?? true}
    return attempt(out, async () => void ctx.engine().volumes.create(n, {mustBeNew: true}))
  },

  async volumeRm(a, ctx, as) {
    const n = labName(ctx.lab, ctx.render(a.volumeRm!, 'volumeRm'))
    const out: ActionOutcome = {kind: 'volumeRm', as, command: `lab volume rm ${n}`, show: a.show ?? true}
    return attempt(out, async () => ctx.engine().volumes.remove(n))
  },

  async profileDiff(a, ctx, as) {
    const d = a.profileDiff!
    const caps = d.cap ?? []
    const out: ActionOutcome = {kind: 'profileDiff', as, command: `lab profile diff ${d.from} ${d.to}${caps.map((c) => ` --cap ${c}`).join('')}`, show: a.show ?? true}
    return attempt(out, async () => {
      // the seccomp toolkit, loaded only by labs that compare profiles
      const [{describeDecision, diffProfiles}, {syscallTables}, {loadProfileRef}, {hostContext}] = await Promise.all([
        import('../seccomp/diff.js'),
        import('../seccomp/host.js'),
        import('../seccomp/profiles.js'),
        import('../seccomp/resolve.js'),
      ])
      const from = await loadProfileRef(d.from)
      const to = await loadProfileRef(d.to)
      const diff = diffProfiles(from.profile, to.profile, hostContext(caps), await syscallTables())
      const lines: string[] = []
      let changes = 0
      for (const [arch, list] of Object.entries(diff.arches)) {
        lines.push(`${arch}: ${list.length} change${list.length === 1 ? '' : 's'}`)
        changes += list.length
        for (const c of list) lines.push(`  ${c.kind === 'now-allowed' ? '+' : c.kind === 'now-denied' ? '-' : '~'} ${c.syscall}: ${describeDecision(c.before)} -> ${describeDecision(c.after)}`)
      }
      out.result = synthetic(`${d.from}..${d.to}`, {stdout: lines.join('\n') + '\n'})
      out.metrics = {changes}
    })
  },
}

export function actionKind(a: Action): string {
  return Object.keys(ACTIONS).find((k) => (a as Record<string, unknown>)[k] !== undefined)!
}

export function performAction(a: Action, index: number, ctx: ActionContext): Promise<ActionOutcome> {
  return ACTIONS[actionKind(a)](a, ctx, a.as ?? `a${index + 1}`)
}
