/**
 * A lab's own registry: Debian's docker-registry (the CNCF distribution registry) on
 * 127.0.0.1 with a free port, its storage in the lab run's private state directory, so
 * a step can push and pull offline. It lives as long as the lab run: stopped at the end,
 * and its pid is recorded so the sweep of a killed lab run's state directory ends it too.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {LabError} from '../errors.js'

export const REGISTRY_BINARY = 'docker-registry'

/** Whether Debian's docker-registry is installed. */
export function hasRegistryBinary(): boolean {
  const r = spawnSync(REGISTRY_BINARY, ['--version'], {stdio: 'ignore', timeout: 5000})
  return r.status === 0
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

export interface LabRegistry {
  host: string
  port: number
  stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts the registry under stateDir/registry and waits until /v2/ answers. */
export async function startLabRegistry(stateDir: string): Promise<LabRegistry> {
  const dir = join(stateDir, 'registry')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  let last = ''
  // a port found free may be taken before the registry binds it: try a few
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const config = join(dir, 'config.yml')
    writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`)
    let child: ChildProcess
    try {
      child = spawn(REGISTRY_BINARY, ['serve', config], {stdio: ['ignore', 'ignore', 'pipe']})
    } catch (e) {
      throw new LabError('lab-registry', `cannot start ${REGISTRY_BINARY}: ${(e as Error).message}`, {hint: 'install it: apt-get install docker-registry'})
    }
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.once('error', (e) => (stderr += e.message))
    if (child.pid) writeFileSync(join(dir, 'pid'), `${child.pid}\n`)
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exited
        clearTimeout(t)
      }
      rmSync(join(dir, 'pid'), {force: true})
    }
    const end = Date.now() + 10_000
    while (Date.now() < end && child.exitCode === null && child.signalCode === null) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`)
        if (r.status === 200) return {host: `127.0.0.1:${port}`, port, stop}
      } catch {
        /* not listening yet */
      }
      await sleep(50)
    }
    last = stderr.trim().split('\n').pop() ?? ''
    await stop()
  }
  throw new LabError('lab-registry', `the lab's registry did not start${last ? `: ${last}` : ''}`, {hint: `try \`${REGISTRY_BINARY} --version\`; the lab runs it on 127.0.0.1`})
}

/** Ends the registry a killed lab run left behind (its pid file in the state directory). */
export function stopLeftRegistry(stateDir: string): void {
  const pidFile = join(stateDir, 'registry', 'pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  try {
    // only if it is still that registry: its command line names this state directory's config
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    if (pid > 1 && cmdline.includes(join(stateDir, 'registry', 'config.yml'))) process.kill(pid, 'SIGKILL')
  } catch {
    /* gone already */
  }
}
