/**
 * Entering a running sandbox: exec (a program with the sandbox's own hardening, in its
 * namespaces and groups) and cp (paths resolved by the helper inside the sandbox's root
 * and mount namespace, copy.c). Both plans are built in plan.ts.
 */
import {existsSync} from 'node:fs'
import type {Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../../errors.js'
import {imageRoot} from '../../images/overlay.js'
import {parseCopyArg, placeReceived, receiveHost, removeStaging, runCopyHelper, sandboxPath, sendHost, stagingFor, streamToTar, tarToStream, type CopyResult} from '../copy.js'
import {runHelper} from '../helper.js'
import type {LifecycleContext} from './context.js'
import {buildCopyPlan, buildExecPlan, serializePlan, type PlanOp} from '../plan.js'
import {failureSentence, helperFailure, resultFromEvents, type SandboxResult} from '../result.js'
import {processStartTime} from '../state/proc.js'
import type {SandboxRecord} from '../state/store.js'
import {resolveUser, userDatabase} from '../users.js'
import {terminalSize} from './create.js'

/** A running sandbox to enter (exec, cp): its record and its PID 1 with start time. */
function enterable(lc: LifecycleContext, ref: string, verb: string): {rec: SandboxRecord; pid: number; start: number} {
  const rec = lc.store.get(ref)
  const st = lc.state(rec)
  if (st.status !== 'running') {
    throw new LabError('sandbox-not-running', `cannot ${verb} sandbox ${rec.name}: it is ${st.status}`, {hint: st.paused ? `unpause it first: lab sandbox unpause ${rec.name}` : `start it first: lab sandbox start ${rec.name}`})
  }
  const start = processStartTime(st.pid)
  if (!start) throw new LabError('sandbox-not-running', `cannot ${verb} sandbox ${rec.name}: it just stopped`, {hint: `start it first: lab sandbox start ${rec.name}`})
  return {rec, pid: st.pid, start}
}

/** Runs a program inside the running sandbox with the sandbox's own hardening. */
export async function exec(
  lc: LifecycleContext,
  ref: string,
  command: string[],
  opts: {user?: string; env?: string[]; workdir?: string; interactive?: boolean; tty?: boolean; stdio?: 'inherit' | 'pipe'; input?: string} = {},
): Promise<SandboxResult> {
  if (opts.tty && opts.stdio === 'pipe') throw usageError('-t cannot be used with --json', 'a terminal\'s output is not data: leave out -t or --json')
  const {rec, ops} = execPlan(lc, ref, command, {...opts, tty: opts.tty ? {...terminalSize(), stdin: opts.interactive ?? false} : undefined})
  const outcome = await runHelper(serializePlan(ops), {stdio: opts.stdio ?? 'inherit', stdin: opts.interactive ?? opts.input !== undefined, input: opts.input})
  const result = resultFromEvents(rec, outcome.exit, outcome.error)
  if ((opts.stdio ?? 'inherit') === 'pipe') {
    result.stdout = outcome.stdout.toString('utf8')
    result.stderr = outcome.stderr.toString('utf8')
  }
  return result
}

/**
 * exec -d: the program runs on inside the sandbox after this returns, under a helper
 * process of its own (its parent: it dies with the sandbox, never leaks on the host).
 */
export async function execDetached(lc: LifecycleContext, ref: string, command: string[], opts: {user?: string; env?: string[]; workdir?: string; tty?: boolean} = {}): Promise<{id: string; name: string; pid: number}> {
  const {rec, ops} = execPlan(lc, ref, command, {...opts, background: true, tty: opts.tty ? {...terminalSize(), stdin: false} : undefined})
  let pid = 0
  const outcome = await runHelper(serializePlan(ops), {stdio: 'inherit', stdin: false, onStarted: (p) => (pid = p)})
  if (outcome.error) throw helperFailure(outcome.error, `exec in sandbox ${rec.name}`)
  if (!pid) throw new LabError('engine', `exec in sandbox ${rec.name}: the program did not start`, {hint: 'run `lab doctor`'})
  return {id: rec.id, name: rec.name, pid}
}

function execPlan(lc: LifecycleContext, ref: string, command: string[], opts: {user?: string; env?: string[]; workdir?: string; tty?: {rows: number; cols: number; stdin: boolean}; background?: boolean}): {rec: SandboxRecord; ops: PlanOp[]} {
  if (command.length === 0) throw usageError('no command given', 'put the command after the sandbox name, e.g. lab sandbox exec web ls /')
  const {rec, pid, start} = enterable(lc, ref, 'exec in')
  const spec = rec.spec
  // Docker resolves exec -u in the container's user database: here the image's (as run
  // resolved USER), a --rootfs directory's, or the host root's synthesized one
  let {uid, gid, groups} = spec.process.user
  if (opts.user !== undefined) {
    const image = spec.root.type === 'image' && spec.root.image ? imageRoot(spec.root.image.id, lc.store.roots.data) : undefined
    const db = userDatabase(spec.root, image)
    ;({uid, gid, groups} = resolveUser(opts.user, db.users, db.groups))
  }
  const env = {...spec.process.env}
  for (const e of opts.env ?? []) {
    const eq = e.indexOf('=')
    if (eq <= 0) throw usageError(`invalid -e "${e}"`, 'use -e KEY=VALUE')
    env[e.slice(0, eq)] = e.slice(eq + 1)
  }
  const cwd = opts.workdir ?? spec.process.cwd
  if (!cwd.startsWith('/') || cwd.split('/').includes('..')) throw usageError(`invalid working directory "${cwd}"`, 'use an absolute path without ".."')
  const cgroupProcs = (lc.groups.open(rec.id)?.procsFiles ?? []).filter((f) => existsSync(f))
  const ops = buildExecPlan(spec, {pid, start}, {command, uid, gid, groups, env, cwd, cgroupProcs, tty: opts.tty, background: opts.background})
  return {rec, ops}
}

/**
 * docker cp: SANDBOX:PATH DEST or SRC SANDBOX:PATH. Paths in the sandbox are resolved
 * by the helper inside the sandbox's own root and mount namespace (copy.c): its
 * symlinks never lead onto the host; devices and links pointing out are refused.
 */
/**
 * `cp`: one side a sandbox, the other a local path, or "-": a tar archive read from
 * opts.input (into the sandbox, a directory there) or written to opts.output (out).
 */
export async function copy(lc: LifecycleContext, srcArg: string, destArg: string, opts: {followLink?: boolean; archive?: boolean; input?: Readable; output?: Writable & {isTTY?: boolean}} = {}): Promise<CopyResult> {
  const src = parseCopyArg(srcArg)
  const dst = parseCopyArg(destArg)
  if (src.path === '-' && src.sandbox === null && dst.path === '-' && dst.sandbox === null) throw usageError('both sides are "-"', 'one side must be a sandbox: lab sandbox cp - SANDBOX:DIR or lab sandbox cp SANDBOX:PATH -')
  if ((src.sandbox === null) === (dst.sandbox === null)) {
    throw usageError(src.sandbox ? 'copying between two sandboxes is not supported' : 'one side must be a sandbox', 'use lab sandbox cp SANDBOX:PATH DEST or lab sandbox cp SRC SANDBOX:PATH')
  }
  const out = src.sandbox !== null
  const inner = out ? src : dst
  const host = out ? dst : src
  const {rec, pid, start} = enterable(lc, inner.sandbox!, 'copy with')
  const path = sandboxPath(inner.path)
  if (path === '/' ) throw usageError('cannot copy the whole root of a sandbox', 'name a directory below /')
  const tar = host.path === '-'
  if (tar && !out && opts.followLink) throw usageError('-L has no meaning when copying an archive in', 'leave out -L; symlinks in the archive are copied as links')
  const output = opts.output ?? process.stdout
  if (tar && out && output.isTTY) throw usageError('refusing to write a tar archive to a terminal', `redirect it to a file or a pipe: lab sandbox cp ${srcArg} - > out.tar`)
  const plan = serializePlan(buildCopyPlan({pid, start}, out ? 'out' : 'in', path, {follow: out && opts.followLink, archive: opts.archive, intoDir: tar && !out}))
  const what = out ? `${rec.name}:${path}` : tar ? 'the archive' : host.path
  let staging: string | null = null
  let received: string | null = null
  try {
    if (out && !tar) staging = stagingFor(host.path)
    const r = await runCopyHelper(plan, out ? 'out' : 'in', async (stream) => {
      if (out && tar) await streamToTar(stream as Readable, output, {archive: opts.archive})
      else if (out) received = await receiveHost(stream as Readable, staging!, {archive: opts.archive})
      else if (tar) await tarToStream(opts.input ?? process.stdin, stream as Writable, {archive: opts.archive})
      else await sendHost(host.path, stream as Writable, {followLink: opts.followLink, archive: opts.archive})
    })
    if (r.error) {
      const e = r.error
      const hint = e.errnoName === 'ENOENT' ? 'check the path; it is resolved inside the sandbox'
        : e.errnoName === 'EXDEV' ? 'the path leaves the sandbox\'s root'
        : /refusing a symlink/.test(e.message) ? 'add -L to copy what a symlink at the source itself points to (inside the sandbox); links below it must stay inside what is copied'
        : 'see lab sandbox exec to look around inside'
      throw new LabError(e.errnoName === 'ENOENT' ? 'cp-not-found' : 'cp-failed', failureSentence({...e, stage: 'copy'}, `cannot copy ${what}`), {hint})
    }
    const destination = out ? (tar ? '-' : placeReceived(received!, host.path)) : path
    return {direction: out ? 'out' : 'in', sandbox: rec.name, source: out ? path : host.path, destination, files: r.files, bytes: r.bytes}
  } finally {
    if (staging) removeStaging(staging)
  }
}
