/**
 * Request → spec: every front end (CLI flags, a lab step, a CI step, a grading run)
 * describes what it wants as a SandboxRequest (request.ts); this turns it into one SandboxSpec,
 * applying every default in one place. Bad input is a LabError naming the flag.
 */
import {randomBytes} from 'node:crypto'
import {realpathSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {isBridged, requireBridgeNetworks, type BridgeNetworks} from './networks.js'
import {isPastaNetwork, type PastaSpec} from './pasta.js'
import {usageError} from '../errors.js'
import {imageRoot, type ImageRoot} from '../images/overlay.js'
import {applyImageEnv, imageCommand} from '../images/run-config.js'
import {seccompForSandbox} from '../seccomp/index.js'
import {readKeyValueFile} from '../util/keyvalue-file.js'
import {writesRootOwnedVolume} from './root-volumes.js'
import {resolveCapabilities} from './capabilities.js'
import {cleanDestination} from './paths.js'
import {DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS} from './plan.js'
import type {Mount, Rlimit, SandboxSpec} from './spec.js'
import {parseLimits} from './limits.js'
import type {SandboxRequest} from './request.js'
import type {Store} from './state/store.js'
import {parseDuration, parseSize} from './units.js'
import {resolveUser, userDatabase} from './users.js'
import {parseUsernsOption} from './userns.js'
import {parseBindVolume, parseTmpfs} from './volumes.js'

export type {SandboxRequest} from './request.js'

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const ENV_NAME = /^[^=\0\s]+$/

export const DEFAULT_RLIMITS: Rlimit[] = [
  {name: 'core', soft: 0, hard: 0},
  {name: 'nofile', soft: 4096, hard: 4096},
]

function parseEnvEntry(entry: string, source: string, callerEnv: Record<string, string | undefined>, into: Record<string, string>): void {
  const eq = entry.indexOf('=')
  const key = eq < 0 ? entry : entry.slice(0, eq)
  if (!ENV_NAME.test(key)) throw usageError(`${source}: invalid environment variable name "${key}"`, 'names may not be empty or contain "=" or spaces')
  if (entry.includes('\0')) throw usageError(`${source}: environment value contains a NUL byte`)
  if (eq >= 0) into[key] = entry.slice(eq + 1)
  else if (callerEnv[key] !== undefined) into[key] = callerEnv[key]!
}

function readEnvFile(file: string, callerEnv: Record<string, string | undefined>, into: Record<string, string>): void {
  for (const {line, key, value} of readKeyValueFile(file, '--env-file')) {
    const text = value === undefined ? key : `${key}=${value}`
    if (!ENV_NAME.test(key)) throw usageError(`--env-file ${file}:${line}: "${text.slice(0, 40)}" is not KEY=value`, 'each line is KEY=value, KEY, or a # comment')
    parseEnvEntry(text, `--env-file ${file}:${line}`, callerEnv, into)
  }
}

const RLIMIT_NAMES = new Set(['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'])

function parseUlimit(value: string): Rlimit {
  const m = /^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/.exec(value)
  if (!m || !RLIMIT_NAMES.has(m[1])) {
    throw usageError(`invalid --ulimit "${value}"`, `use NAME=SOFT[:HARD] with NAME one of ${[...RLIMIT_NAMES].join(', ')}`)
  }
  const conv = (s: string): number | 'unlimited' => {
    if (s === 'unlimited' || s === '-1') return 'unlimited'
    const n = Number(s)
    if (!Number.isSafeInteger(n) || n < 0) throw usageError(`invalid --ulimit "${value}": ${s} is not a valid limit`, 'use a non-negative number or unlimited')
    return n
  }
  const soft = conv(m[2])
  const hard = m[3] === undefined ? soft : conv(m[3])
  const num = (x: number | 'unlimited') => (x === 'unlimited' ? Infinity : x)
  if (num(soft) > num(hard)) throw usageError(`invalid --ulimit "${value}": soft limit above hard limit`, 'write NAME=SOFT:HARD with SOFT <= HARD')
  return {name: m[1], soft, hard}
}

function parseAddHost(value: string): {host: string; address: string} {
  const idx = value.indexOf(':')
  const host = value.slice(0, idx)
  const address = value.slice(idx + 1)
  if (idx <= 0 || !/^[a-zA-Z0-9.-]{1,253}$/.test(host) || !/^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]{2,45})$/.test(address)) {
    throw usageError(`invalid --add-host "${value}"`, 'use --add-host NAME:ADDRESS, e.g. db:127.0.0.1')
  }
  return {host, address}
}

function timeoutMs(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw usageError(`invalid --timeout ${ms}`, 'give whole milliseconds (0: none)')
  return ms
}

// Ids come from a pool of random bytes: one getrandom per 64 sandboxes, not per sandbox.
let idPool = Buffer.alloc(0)
let idOffset = 0

function newId(): string {
  if (idOffset + 32 > idPool.length) {
    idPool = randomBytes(32 * 64)
    idOffset = 0
  }
  const id = idPool.toString('hex', idOffset, idOffset + 32)
  idPool.fill(0, idOffset, idOffset + 32) // an id once handed out is not kept in memory
  idOffset += 32
  return id
}

/** rootUpper: a caller-owned empty directory; its work directory goes beside it (same file system). */
function callerUpper(dir: string, id: string): {upper: string; work: string} {
  let real: string
  try {
    real = realpathSync(dir)
    if (!statSync(real).isDirectory()) throw new Error('not a directory')
  } catch {
    throw usageError(`the upper layer ${dir} is not a directory`, 'give an empty directory the caller keeps')
  }
  return {upper: real, work: join(dirname(real), `.${basename(real)}.work-${id.slice(0, 12)}`)}
}

/** store: the lifecycle's state, where a bridged sandbox's address is leased */
export async function buildSpec(req: SandboxRequest, opts: {stateDir?: string; store?: Store} = {}): Promise<SandboxSpec> {
  let image: ImageRoot | undefined
  if (req.image !== undefined) {
    if (req.rootfs !== undefined) throw usageError('an image and --rootfs both name the root', 'give one of them')
    image = imageRoot(req.image, opts.stateDir)
  } else if (req.entrypoint !== undefined || req.rootUpper !== undefined) {
    throw usageError(req.entrypoint !== undefined ? '--entrypoint needs an image' : 'an upper layer needs an image root', 'name the image before --, e.g. lab sandbox run IMAGE -- CMD')
  }
  const run = image ? imageCommand(image.config.config, image.ref, req.entrypoint, req.command ?? []) : undefined
  const command = run ? run.args : req.command
  if (!command || command.length === 0) {
    throw usageError('no command given', 'put the command after the options, e.g. lab sandbox run -- echo hello')
  }
  const callerEnv = req.callerEnv ?? {}
  const id = newId()
  const hostname = req.hostname ?? id.slice(0, 12)
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(hostname) || hostname.length > 64) {
    throw usageError(`invalid hostname "${hostname}"`, 'use letters, digits, dots and hyphens, at most 64 characters')
  }
  const name = req.name ?? `lab-${id.slice(0, 12)}`
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(name)) {
    throw usageError(`invalid name "${name}"`, 'names start with a letter or digit and use letters, digits, _ . -')
  }

  // --- root
  let root: SandboxSpec['root']
  const readOnly = req.rootUpper !== undefined || req.rootWritable ? false : req.readOnly ?? true
  let rootSize = readOnly ? 4 * 1024 * 1024 : 256 * 1024 * 1024
  for (const so of req.storageOpt ?? []) {
    const m = /^size=(.+)$/.exec(so)
    if (!m) throw usageError(`invalid --storage-opt "${so}"`, 'the only storage option is size=SIZE, e.g. size=1g')
    rootSize = parseSize(m[1], '--storage-opt size', {min: 1024 * 1024})
  }
  if (req.rootfs !== undefined) {
    let real: string
    try {
      real = realpathSync(req.rootfs)
      if (!statSync(real).isDirectory()) throw new Error('not a directory')
    } catch {
      throw usageError(`--rootfs ${req.rootfs} is not a directory`, 'give a directory holding a root file system (e.g. made with debootstrap)')
    }
    if (real === '/') throw usageError('--rootfs / would expose the whole host', 'leave --rootfs out to use the host\'s system directories read-only')
    root = {type: 'dir', path: real, readOnly, sizeBytes: rootSize}
  } else if (image) {
    root = {type: 'image', layers: image.layers, readOnly, sizeBytes: rootSize, image: {id: image.id, ref: image.ref, entrypoint: run!.entrypoint, ...(req.user !== undefined ? {user: req.user} : {})}}
    if (req.rootUpper !== undefined) Object.assign(root, callerUpper(req.rootUpper, id))
  } else {
    root = {type: 'host', readOnly, sizeBytes: rootSize}
  }

  // --- user
  // the image's own user database, as Docker resolves USER
  const {users, groups} = userDatabase(root, image)
  const imageConfig = image?.config.config
  const user = resolveUser(req.user ?? (imageConfig?.User || '0:0'), users, groups)

  // --- env: a clean default, nothing leaked from the caller; an image's Env first
  // (an image user without a passwd entry gets HOME=/, as Docker gives it)
  const home = image && !users.some((u) => u.uid === user.uid) ? '/' : user.home || '/'
  const env: Record<string, string> = {PATH: DEFAULT_PATH, HOSTNAME: hostname, HOME: home}
  applyImageEnv(imageConfig, env)
  for (const f of req.envFiles ?? []) readEnvFile(f, callerEnv, env)
  for (const e of req.env ?? []) parseEnvEntry(e, '-e', callerEnv, env)

  // --- mounts
  const mounts: Mount[] = [...(req.mounts ?? [])]
  for (const v of req.volumes ?? []) mounts.push(parseBindVolume(v))
  for (const t of req.tmpfs ?? []) mounts.push(parseTmpfs(t))

  // --- network
  const network = req.network ?? 'none'
  const bridgeFlags = ([['ip', req.ip], ['ip6', req.ip6], ['network-alias', req.networkAliases], ['publish', req.publish], ['publish-all', req.publishAll], ['dns', req.dns], ['dns-search', req.dnsSearch], ['link', req.links]] as const).filter(([, v]) => v !== undefined && v !== false)
  let bridged: Awaited<ReturnType<BridgeNetworks['attach']>> | undefined
  let pasta: PastaSpec | undefined
  const exposed = [...(req.expose ?? []), ...Object.keys(imageConfig?.ExposedPorts ?? {})]
  if (isPastaNetwork(network)) {
    // rootless user-mode networking (bridge without root means this too)
    pasta = await requireBridgeNetworks(network).pasta(req, {id, exposed}, opts.store)
  } else if (isBridged(network)) {
    bridged = await requireBridgeNetworks(network).attach(req, {id, hostname, exposed}, opts.store)
  } else if (network !== 'none' && network !== 'host') {
    throw usageError(`unknown network "${network}"`, 'use --network none (the default: loopback only), bridge, a network of `lab network create`, or host')
  } else if (bridgeFlags.length) {
    throw usageError(`--${bridgeFlags[0][0]} needs a bridged network`, `add --network bridge or --network NAME (this sandbox's network is ${network})`)
  }

  // --- security options
  let seccompOpt: string | undefined
  for (const so of req.securityOpt ?? []) {
    const [k, v] = so.includes('=') ? so.split(/=(.*)/s, 2) : so.split(/:(.*)/s, 2)
    if (k === 'seccomp' && v) seccompOpt = v
    else if (k === 'no-new-privileges' && (v === undefined || v === '' || v === 'true')) continue
    else if (k === 'no-new-privileges' && v === 'false') throw usageError('lab always sets no_new_privs; it cannot be turned off', 'remove --security-opt no-new-privileges=false')
    else throw usageError(`unknown --security-opt "${so}"`, 'use seccomp=PROFILE|unconfined or no-new-privileges')
  }
  const capabilities = resolveCapabilities(req.capAdd ?? [], req.capDrop ?? [])

  const limits = parseLimits(req.limits ?? {})
  const rlimits = [...DEFAULT_RLIMITS]
  for (const u of req.ulimit ?? []) {
    const r = parseUlimit(u)
    const i = rlimits.findIndex((x) => x.name === r.name)
    if (i >= 0) rlimits[i] = r
    else rlimits.push(r)
  }
  // --cpu-time is enforced on the whole cgroup; RLIMIT_CPU backs it up per process.
  if (limits.cpuTimeMs !== null && !rlimits.some((r) => r.name === 'cpu')) {
    const secs = Math.ceil(limits.cpuTimeMs / 1000)
    rlimits.push({name: 'cpu', soft: secs, hard: secs + 1})
  }

  return {
    version: 1,
    id,
    name,
    hostname,
    process: {
      args: command,
      env,
      cwd: cleanDestination(req.workdir ?? (imageConfig?.WorkingDir || '/'), 'working directory (-w)'),
      user: {uid: user.uid, gid: user.gid, groups: user.groups},
      capabilities,
      rlimits,
      init: req.init ?? false,
    },
    root,
    mounts,
    userns: parseUsernsOption(req.userns),
    network: bridged ? 'bridge' : pasta ? 'pasta' : (network as 'none' | 'host'),
    ...(bridged ? {bridge: bridged.bridge} : {}),
    ...(pasta ? {pasta} : {}),
    extraHosts: [...(bridged?.extraHosts ?? []), ...(req.addHost ?? []).map(parseAddHost)],
    timeoutMs: req.timeout === undefined ? 0 : typeof req.timeout === 'number' ? timeoutMs(req.timeout) : parseDuration(req.timeout, '--timeout'),
    seccomp: await seccompForSandbox(seccompOpt, capabilities, {restrictSetid: writesRootOwnedVolume(mounts, req.userns)}),
    maskedPaths: DOCKER_MASKED_PATHS,
    readonlyPaths: DOCKER_READONLY_PATHS,
    limits,
  }
}
