/**
 * Services of a grading test: helper sandboxes (a student's server, a grader's fake) on a
 * private network of that test alone, as GitHub Actions' job services or a compose file's
 * services. For one test run:
 *   1. an --internal network of its own (no way out; its name server knows the services),
 *   2. each service in a hardened sandbox on it (the test's own seccomp profile, ids and
 *      limits), its name as its network alias, started with this process as its caller:
 *      should the grader die, even by SIGKILL, the supervisor ends and removes it,
 *   3. the wait until each is ready (a TCP port that accepts, from this side of the
 *      bridge; or a command run inside it, like a health check),
 *   4. the test, on the same network (the harness runs it with `network`),
 *   5. teardown, also on failure, timeout and Ctrl-C: the services, then the network.
 * A network that outlives a killed grader (its labels say it is grading's, and which
 * process made it) is removed by the next test with services, or `lab network prune`.
 */
import '../network/register.js'

import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {Networks} from '../network/networks.js'
import type {Lifecycle} from '../sandbox/lifecycle.js'
import type {SandboxRequest} from '../sandbox/request.js'
import type {Mount} from '../sandbox/spec.js'
import {parseDuration} from '../sandbox/units.js'
import type {GradingService, GradingTest} from './schema.js'

export const SERVICE_READY_TIMEOUT = '10s'
const POLL_MS = 100

/** What the harness lends: a fresh copy of the submission, and its hardened request of a run. */
export interface ServiceContext {
  /** makes dir a fresh writable copy of the built submission */
  freshCopy(dir: string): void
  /** the hardened request of one grading run (as a test's), with its limits */
  request(command: string[], mounts: Mount[], limits: GradingService['limits'], timeMs: number, image: string | undefined): SandboxRequest
  graderMount: Mount
  /** the test's own wall-clock limit: a service may run for the test, its re-run and the wait */
  testTimeMs: number
  signal?: AbortSignal
}

export interface RunningService {
  name: string
  id: string
  address: string
}

/** The services of one test run; `network` is what the test's sandbox joins. */
export interface ServiceSession {
  network: string
  services: RunningService[]
  /** set when a service did not become ready: the test is not run */
  notReady?: {service: string; message: string}
  /** what each service printed, for the report (kept short) */
  logs(): Promise<string>
  close(): Promise<void>
}

/** The services a test runs beside: its own list, or all of the spec's when it names none. */
export function servicesOf(all: GradingService[] | undefined, t: Pick<GradingTest, 'services'>): GradingService[] {
  if (!all?.length) return []
  if (!t.services) return all
  return all.filter((s) => t.services!.includes(s.name))
}

async function engine(): Promise<Lifecycle> {
  return (await import('../sandbox/lifecycle.js')).lifecycle()
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether address:port accepts a TCP connection within ms. */
function accepts(address: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({host: address, port})
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(ms, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/**
 * Starts the services of one test run in dir (their copies of the submission live there).
 * Never throws for a service that fails to start or get ready: that is the session's
 * notReady, a verdict of the test. An engine failure (no root, no nftables) throws after
 * whatever was made is removed again.
 */
export async function startServices(services: GradingService[], dir: string, ctx: ServiceContext): Promise<ServiceSession> {
  if (process.getuid?.() !== 0) throw new LabError('grade-services', 'grading services need a private network, and bridged networks need root for now', {hint: 'run lab grade as root, or leave out services'})
  const lc = await engine()
  const networks = new Networks(lc.store)
  const tag = randomBytes(5).toString('hex')
  const network = `grading-${tag}`
  const started: RunningService[] = []
  let made = false
  const session: ServiceSession = {
    network,
    services: started,
    async logs() {
      const parts: string[] = []
      for (const s of started) {
        try {
          const lines = await lc.logs(s.id, {tail: 20})
          if (lines.length) parts.push(`--- service ${s.name} ---\n${lines.map((l) => l.line).join('\n')}`)
        } catch {}
      }
      return parts.join('\n')
    },
    async close() {
      // each step even when another failed: a service left running would keep the network
      for (const s of started.splice(0)) await lc.remove(s.id, {force: true, volumes: true}).catch(() => {})
      if (made) {
        made = false
        await networks.remove(network).catch(async () => {
          await sleep(200)
          await networks.remove(network).catch(() => {})
        })
      }
    },
  }
  await sweepStaleNetworks(networks)
  try {
    await networks.create({name: network, internal: true, labels: ['lab.grading=1', `lab.grading.pid=${process.pid}`]})
    made = true
    const readyMs = Math.max(...services.map((s) => parseDuration(s.ready?.timeout ?? SERVICE_READY_TIMEOUT, 'ready.timeout')))
    for (const s of services) {
      const work = join(dir, `service-${s.name}`)
      mkdirSync(dir, {recursive: true, mode: 0o711})
      ctx.freshCopy(work)
      // long enough for the wait, the test and its one re-run; the test's end removes it sooner
      const timeMs = readyMs + 2 * ctx.testTimeMs + 5_000
      const req: SandboxRequest = {
        ...ctx.request(['sh', '-c', s.run], [{type: 'bind', source: work, destination: '/work', readOnly: false}, ctx.graderMount], s.limits, timeMs, s.image),
        name: `${network}-${s.name}`,
        hostname: s.name,
        network,
        networkAliases: [s.name],
      }
      const rec = await lc.create(req)
      started.push({name: s.name, id: rec.id, address: rec.spec.bridge?.networks[0]?.address ?? ''})
      try {
        await lc.start(rec.id, {caller: true})
      } catch (e) {
        session.notReady = {service: s.name, message: `service ${s.name} could not start: ${(e as Error).message.split('\n')[0]}`}
        return session
      }
    }
    for (const s of services) {
      const why = await waitReady(lc, s, started.find((x) => x.name === s.name)!, ctx.signal)
      if (why) {
        session.notReady = {service: s.name, message: why}
        return session
      }
    }
    return session
  } catch (e) {
    await session.close()
    throw e
  }
}

/** Removes grading networks whose grader is gone and that no sandbox uses any more. */
async function sweepStaleNetworks(networks: Networks): Promise<void> {
  for (const n of networks.nets.all()) {
    const pid = Number(n.labels?.['lab.grading.pid'])
    if (n.labels?.['lab.grading'] !== '1' || !pid || existsSync(`/proc/${pid}`)) continue
    if (networks.sandboxesOn(n).length) continue
    await networks.remove(n.name).catch(() => {})
  }
}

/** null once the service is ready; otherwise why it is not (it ended, or the time ran out). */
async function waitReady(lc: Lifecycle, s: GradingService, run: RunningService, signal?: AbortSignal): Promise<string | null> {
  const timeoutText = s.ready?.timeout ?? SERVICE_READY_TIMEOUT
  const deadline = Date.now() + parseDuration(timeoutText, 'ready.timeout')
  const what = s.ready?.port !== undefined ? `port ${s.ready.port} did not accept a connection` : s.ready?.command !== undefined ? `\`${s.ready.command}\` did not succeed` : 'it did not start'
  for (;;) {
    if (signal?.aborted) return 'grading was interrupted'
    const ended = await lc.result(run.id).catch(() => null)
    if (ended) return `service ${s.name} ended before it was ready (${ended.verdict}${ended.exitCode !== null ? `, exit code ${ended.exitCode}` : ''})`
    if (s.ready?.port !== undefined) {
      if (await accepts(run.address, s.ready.port, 500)) return null
    } else if (s.ready?.command !== undefined) {
      const r = await lc.exec(run.id, ['sh', '-c', s.ready.command], {stdio: 'pipe'}).catch(() => null)
      if (r?.verdict === 'ok') return null
    } else {
      return null
    }
    if (Date.now() >= deadline) return `service ${s.name} was not ready within ${timeoutText}: ${what}`
    await sleep(POLL_MS)
  }
}
