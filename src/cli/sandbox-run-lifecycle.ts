/**
 * `lab sandbox run` through the lifecycle engine: -d (print the id, exit 0), and
 * foreground runs that use managed volumes or join other sandboxes (started under a
 * supervisor that ends them when this CLI dies, output followed from its log, removed
 * when they end unless named and not --rm). No oclif imports.
 */
import {writeFileSync} from 'node:fs'

import {LabError, usageError} from '../errors.js'
import type {SandboxRequest} from '../sandbox/build-spec.js'
import {lifecycle, type LifecycleRequest} from '../sandbox/lifecycle.js'
import {printJson} from './output.js'
import type {ParsedRun} from './run-flags.js'

export async function runViaLifecycle(parsed: ParsedRun, req: SandboxRequest, json: boolean): Promise<number> {
  const f = parsed.flags
  const detach = f.detach === true
  if (!detach && f.restart !== undefined) throw usageError('--restart needs -d', 'a restart policy applies to detached sandboxes: add -d')
  if (!detach && f.interactive) throw usageError('-i with managed volumes or joined namespaces needs -d for now', 'add -d (stdin is then kept open), or bind a host directory instead')
  const lc = lifecycle({stateDir: f['state-dir'] as string | undefined})
  const lreq: LifecycleRequest = {
    ...req,
    restart: f.restart as string | undefined,
    autoRemove: detach ? (f.rm as boolean) : false,
    interactive: detach && f.interactive === true,
    volumesFrom: f['volumes-from'] as string[] | undefined,
    ipc: f.ipc as string | undefined,
    pid: f.pid as string | undefined,
    tty: f.tty === true,
    logOpts: f['log-opt'] as string[] | undefined,
  }
  const cidfile = f.cidfile as string | undefined
  if (cidfile) {
    // exclusive, as Docker: an existing file is an error before anything is created
    try {
      writeFileSync(cidfile, '', {flag: 'wx'})
    } catch (e) {
      throw usageError(`--cidfile ${cidfile}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file already exists' : (e as Error).message}`, 'give a path to a file that does not exist yet')
    }
  }
  const rec = await lc.create(lreq)
  if (cidfile) writeFileSync(cidfile, rec.id)
  let started
  try {
    // In the foreground the supervisor watches this CLI: should it die, even by SIGKILL,
    // the sandbox ends and is removed with it, as a plain foreground run does.
    started = await lc.start(rec.id, {caller: !detach})
  } catch (e) {
    if (!detach || lreq.autoRemove) await lc.remove(rec.id, {force: true, volumes: true}).catch(() => {})
    throw e
  }
  if (detach) {
    if (json) printJson({id: rec.id, name: rec.name, pid: started.pid})
    else process.stdout.write(rec.id + '\n')
    return 0
  }
  // Foreground: follow the output until it ends. A named run without --rm is kept,
  // exited, as Docker keeps it; others are removed (a nameless run is nobody's to find).
  const keep = f.name !== undefined && f.rm !== true
  const stop = () => void lc.stop(rec.id, {timeoutSeconds: 2}).catch(() => {})
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    const lines: Array<{stream: string; line: string}> = []
    await lc.logs(rec.id, {follow: true, onLine: (l) => (json ? lines.push(l) : (l.stream === 'stdout' ? process.stdout : process.stderr).write(l.line + '\n'))})
    const {exitCode} = await lc.wait(rec.id)
    const st = lc.inspect(rec.id).State as {Error: string}
    if (json) {
      printJson({id: rec.id, name: rec.name, exitCode, stdout: lines.filter((l) => l.stream === 'stdout').map((l) => l.line + '\n').join(''), stderr: lines.filter((l) => l.stream === 'stderr').map((l) => l.line + '\n').join('')})
    } else if (st.Error) process.stderr.write(`lab: ${st.Error}\n`)
    return exitCode
  } catch (e) {
    throw e instanceof LabError ? e : new LabError('internal', String(e))
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (!keep) await lc.remove(rec.id, {force: true, volumes: true}).catch(() => {})
  }
}
