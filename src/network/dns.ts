/** The name server process of a user-defined network (dns-server.ts): started when
 * missing, found by its pid file (pid and start time), ended with its network. */
import {spawn} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {LabError} from '../errors.js'
import {isAlive} from '../sandbox/state/proc.js'
import type {NetworkRecord, NetworkStore} from './store.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function pidFile(ns: NetworkStore, n: NetworkRecord): string {
  return join(ns.dir, `${n.name}.dns`)
}

export function dnsPid(ns: NetworkStore, n: NetworkRecord): number {
  try {
    const [pid, start] = readFileSync(pidFile(ns, n), 'utf8').trim().split(' ').map(Number)
    return isAlive(pid, start) ? pid : 0
  } catch {
    return 0
  }
}

export async function ensureDns(ns: NetworkStore, n: NetworkRecord): Promise<number> {
  const running = dnsPid(ns, n)
  if (running) return running
  rmSync(pidFile(ns, n), {force: true})
  // relative to dist/ (not this file's directory): the same from dist/network/ and from a bundle in dist/run/
  const script = fileURLToPath(new URL('../network/dns-server.js', import.meta.url))
  // the same state roots as ours: a state directory given, or the defaults
  const roots = ns.sandboxes.roots
  const env: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin'}
  if (roots.run === join(roots.data, 'run')) env.LAB_STATE_DIR = roots.data
  const child = spawn(process.execPath, [script, n.name], {detached: true, stdio: 'ignore', env, cwd: '/'})
  child.unref()
  const end = Date.now() + 5000
  while (Date.now() < end) {
    const pid = dnsPid(ns, n)
    if (pid) return pid
    if (child.exitCode !== null) break
    await sleep(10)
  }
  throw new LabError('network', `the name server of network ${n.name} did not start`, {hint: `is port 53 on ${n.gateway} taken? see lab network inspect ${n.name}`})
}

export function stopDns(ns: NetworkStore, n: NetworkRecord): void {
  const pid = dnsPid(ns, n)
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  rmSync(pidFile(ns, n), {force: true})
}
