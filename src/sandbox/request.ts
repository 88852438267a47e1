/**
 * The one run request. Every front end builds it directly: the Docker-style argv parser
 * (argv.ts, `lab sandbox run`), labs, CI, grading, and later queue workers. Numbers are
 * typed (bytes, milliseconds, counts); the flag texts Docker users type ("256m", "10s")
 * are accepted too, and parsed in one place (limits.ts, build-spec.ts).
 *
 * run-request.ts runs it: in the foreground (runSandbox, run.ts) or under a supervisor
 * (lifecycle/), and returns the same SandboxResult either way.
 *
 * A root is the host's system directories, `rootfs`, or an image of the store (`image`:
 * an overlay of its layers, src/images/overlay.ts). A network is
 * `none`, `host`, `sandbox:NAME`, or a bridged network (`bridge` or a NAME of `lab network
 * create`, networks.ts): a bridged sandbox is always supervised, its address leased
 * to its record.
 */
import {isBridged} from './networks.js'
import {isPastaNetwork} from './pasta.js'
import type {Mount} from './spec.js'
import type {LimitsRequest} from './limits.js'

export interface SandboxRequest {
  command: string[]
  /** -e K=V or K (taken from `callerEnv`) */
  env?: string[]
  envFiles?: string[]
  user?: string
  workdir?: string
  hostname?: string
  name?: string
  readOnly?: boolean
  rootfs?: string
  /** an image of the store (NAME[:TAG], NAME@sha256:…, an id or a unique prefix of one) as the root */
  image?: string
  /** --entrypoint: replaces the image's Entrypoint ("" clears it, and the image's Cmd with it) */
  entrypoint?: string
  /** internal (builds): a writable image root whose upper layer is this caller-owned empty
   * directory, kept afterwards (its work directory is made beside it and removed).
   * Never taken from argv, labs, CI or grading input. */
  rootUpper?: string
  /** internal: a writable root (as readOnly: false) */
  rootWritable?: boolean
  /** internal (CI): namespaces of running sandboxes of this process to enter instead of new
   * ones, by pid and start time (a CI step joins its services' network namespace).
   * Foreground runs only; never taken from argv, labs, CI or grading input. */
  joins?: Array<{kind: 'net' | 'ipc' | 'pid' | 'user'; pid: number; start: number}>
  network?: string
  /** bridged networks (src/sandbox/networks.ts): --ip, --network-alias, -p, -P, --expose, --dns, --dns-search, --link */
  ip?: string
  /** --ip6: the v6 address on a network with IPv6 */
  ip6?: string
  networkAliases?: string[]
  publish?: string[]
  publishAll?: boolean
  expose?: string[]
  dns?: string[]
  dnsSearch?: string[]
  links?: string[]
  capAdd?: string[]
  capDrop?: string[]
  init?: boolean
  /** wall-clock limit: milliseconds, or DURATION text ("10s") */
  timeout?: string | number
  addHost?: string[]
  volumes?: string[]
  /** already-resolved mounts (labs, grading, CI build these directly) */
  mounts?: Mount[]
  tmpfs?: string[]
  storageOpt?: string[]
  securityOpt?: string[]
  ulimit?: string[]
  /** resource limits: -m, --memory-swap, --cpus, --pids-limit, --cpu-time, --output-limit… (limits.ts) */
  limits?: LimitsRequest
  /** --userns: private (default) or host */
  userns?: string
  /** the environment `-e NAME` reads from; nothing else of the caller's leaks in */
  callerEnv?: Record<string, string | undefined>
}

/** What a sandbox with a lifetime adds: it is recorded, supervised, and may outlive its caller. */
export interface RunRequest extends SandboxRequest {
  /** -d: start it and return; the result comes from `wait` */
  detach?: boolean
  /** keep the record once a foreground run ended (Docker keeps a named run without --rm) */
  keep?: boolean
  /** no | on-failure[:N] | always | unless-stopped */
  restart?: string
  /** remove the sandbox (and its anonymous volumes) when it ends */
  autoRemove?: boolean
  /** keep stdin open (a pipe the supervisor holds) */
  interactive?: boolean
  /** NAME[:ro|rw]: copy another sandbox's volume and bind mounts */
  volumesFrom?: string[]
  /** private (default) | host | sandbox:NAME */
  ipc?: string
  /** sandbox:NAME */
  pid?: string
  /** --log-opt max-size, max-file (default 10m, 2); logMaxBytes overrides max-size */
  logOpts?: string[]
  /** bytes per log file before it rotates */
  logMaxBytes?: number
  /** -t: the program gets a pseudo-terminal of the sandbox's own devpts */
  tty?: boolean
}

/** -v NAME:/dest or -v /dest: a managed volume (anything else is a host path). */
export function namesManagedVolume(v: string): boolean {
  const first = v.split(':')[0]
  return (v.startsWith('/') && !v.includes(':')) || (!first.startsWith('/') && !first.startsWith('.') && first !== '')
}

/**
 * Whether a run needs the supervisor: it is detached or kept, uses managed volumes or
 * another sandbox's volumes or namespaces. Such a run is recorded in the state directory.
 */
export function needsSupervisor(req: RunRequest): boolean {
  return req.detach === true || req.keep === true || req.restart !== undefined || req.volumesFrom !== undefined ||
    (req.volumes ?? []).some(namesManagedVolume) || req.ipc !== undefined || req.pid !== undefined ||
    /^(sandbox|container):/.test(req.network ?? '') || (isBridged(req.network) && !pastaUnrecorded(req))
}

/** A sandbox on pasta publishing no port holds nothing of the host's a record must
 * name (pasta goes with it, pasta.c), so it runs as one with --network none does. */
function pastaUnrecorded(req: RunRequest): boolean {
  return isPastaNetwork(req.network) && !req.publish?.length && !req.publishAll
}
