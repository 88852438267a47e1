/**
 * A lab's own registry: Debian's docker-registry (the CNCF distribution registry) in a
 * detached sandbox of the lab run, on the host's loopback (127.0.0.1 and a free port:
 * --network host, so lab's image verbs reach it), its storage bound from the lab run's
 * private state directory. Being one of the lab's sandboxes, it goes with that state
 * directory: at the end of the lab, and in the sweep after a lab run that was killed.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, lchownSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {parseRunArgv, requestFromArgv} from '../sandbox/argv.js'
import type {Lifecycle} from '../sandbox/lifecycle.js'
import {VOLUME_OWNER_ID} from '../sandbox/volumes-managed.js'

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
  /** the sandbox it runs in */
  sandbox: string
  stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The registry's sandbox: not a name a lab's --name can give (those are ID-NAME). */
export const registrySandboxName = (labId: string) => `${labId}.registry`

/** Starts the registry under stateDir/registry and waits until /v2/ answers. */
export async function startLabRegistry(lc: Lifecycle, labId: string, stateDir: string): Promise<LabRegistry> {
  const dir = join(stateDir, 'registry')
  mkdirSync(join(dir, 'data'), {recursive: true, mode: 0o755})
  let last = ''
  // a port found free may be taken before the registry binds it: try a few
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: /registry/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`)
    // root inside the sandbox is an unprivileged host id: as root, the directory is lab's
    // volume user's (the bind is idmapped to it, as a lab's writable directories are)
    for (const p of [dir, join(dir, 'data'), join(dir, 'config.yml')]) {
      if (process.getuid?.() === 0) lchownSync(p, VOLUME_OWNER_ID, VOLUME_OWNER_ID)
      else chmodSync(p, p.endsWith('.yml') ? 0o644 : 0o777)
    }
    const name = registrySandboxName(labId)
    const req = requestFromArgv(parseRunArgv(['-d', '--name', name, '--network', 'host', '--timeout', '1h', '-v', `${dir}:/registry`, '--', REGISTRY_BINARY, 'serve', '/registry/config.yml']), {})
    let started: {id: string}
    try {
      started = await lc.run(req)
    } catch (e) {
      throw new LabError('lab-registry', `cannot start the lab's registry: ${(e as Error).message}`, {hint: `try \`${REGISTRY_BINARY} --version\`; install it with apt-get install docker-registry`})
    }
    const stop = async () => {
      await lc.remove(started.id, {force: true}).catch(() => {})
    }
    const end = Date.now() + 15_000
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`)
        if (r.status === 200) return {host: `127.0.0.1:${port}`, port, sandbox: name, stop}
      } catch {
        /* not listening yet */
      }
      const rec = lc.store.load(started.id)
      const st = rec ? lc.state(rec) : null
      if (!st || (!st.running && st.status !== 'created') || Date.now() > end) break
      await sleep(50)
    }
    last = (await lc.logs(started.id).catch(() => [])).map((l) => l.line).pop() ?? ''
    await stop()
  }
  throw new LabError('lab-registry', `the lab's registry did not start${last ? `: ${last}` : ''}`, {hint: `try \`${REGISTRY_BINARY} --version\`; the lab runs it on 127.0.0.1`})
}
