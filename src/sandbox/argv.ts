/**
 * The Docker-style front end of the run request (request.ts): the flags of
 * `lab sandbox run` and `create` as data (the oclif command builds its help from this
 * table), the parser that reads argv with it, and the request the flags describe.
 * Options end at the first argument that is not an option (or at "--"), as in
 * `docker run`, so `lab sandbox run ls -l` runs `ls -l`; an argument followed by "--"
 * names an image (`lab sandbox run IMAGE -- CMD…`, or `--image`). No oclif imports: this is on the
 * start-up path.
 */
import {usageError} from '../errors.js'
import type {RunRequest} from './request.js'

export interface FlagDef {
  name: string
  char?: string
  kind: 'string' | 'multiple' | 'boolean'
  description: string
  default?: boolean
  aliases?: string[]
  helpValue?: string
}

export const RUN_FLAGS: FlagDef[] = [
  {name: 'volume', char: 'v', kind: 'multiple', helpValue: 'HOST:DEST[:ro]', description: 'bind a host directory or file (nosuid, nodev)'},
  {name: 'tmpfs', kind: 'multiple', helpValue: 'DEST[:size=64m,mode=1777,ro,noexec]', description: 'mount a size-capped tmpfs'},
  {name: 'env', char: 'e', kind: 'multiple', helpValue: 'KEY=VALUE|KEY', description: 'set an environment variable (KEY alone copies the caller\'s)'},
  {name: 'env-file', kind: 'multiple', helpValue: 'FILE', description: 'read KEY=value lines from a file'},
  {name: 'user', char: 'u', kind: 'string', helpValue: 'UID[:GID]|NAME[:GROUP]', description: 'run as this user (default root inside the sandbox)'},
  {name: 'workdir', char: 'w', kind: 'string', helpValue: 'DIR', description: 'working directory inside the sandbox'},
  {name: 'hostname', char: 'h', kind: 'string', helpValue: 'NAME', description: 'hostname (default: the short id)'},
  {name: 'name', kind: 'string', helpValue: 'NAME', description: 'a name for the sandbox'},
  {name: 'read-only', kind: 'boolean', default: true, description: 'read-only root (default); --read-only=false gives a writable layer that is discarded'},
  {name: 'rootfs', kind: 'string', helpValue: 'DIR', description: 'use a prepared root directory instead of the host\'s system directories'},
  {name: 'image', kind: 'string', helpValue: 'IMAGE', description: 'run on an image of the store (as IMAGE before --)'},
  {name: 'entrypoint', kind: 'string', helpValue: 'CMD', description: 'replace the image\'s entrypoint ("" clears it and its Cmd)'},
  {name: 'network', kind: 'string', aliases: ['net'], helpValue: 'none|bridge|NAME|pasta|host|sandbox:NAME', description: 'none (default: only loopback, up), bridge (the default bridge network; without root: pasta), NAME (a network of `lab network create`), pasta[:--map-gw] (without root: user-mode networking), host, or sandbox:NAME to share a running sandbox\'s network'},
  {name: 'ip', kind: 'string', helpValue: 'ADDRESS', description: 'the sandbox\'s IPv4 address on a user-defined network'},
  {name: 'ip6', kind: 'string', helpValue: 'ADDRESS', description: 'the sandbox\'s IPv6 address on a network made with --ipv6'},
  {name: 'network-alias', kind: 'multiple', aliases: ['net-alias'], helpValue: 'NAME', description: 'another name the network\'s resolver answers for this sandbox (user-defined networks)'},
  {name: 'publish', char: 'p', kind: 'multiple', helpValue: '[IP:][HOSTPORT:]PORT[/udp]', description: 'publish a port on the host (bridged networks; also on its IPv6 addresses on a network made with --ipv6, or only there with [IPV6]:…); no HOSTPORT: a free one'},
  {name: 'publish-all', char: 'P', kind: 'boolean', default: false, description: 'publish every exposed port (--expose, the image\'s ExposedPorts) on a free host port'},
  {name: 'expose', kind: 'multiple', helpValue: 'PORT[/udp]', description: 'declare a port the sandbox serves (published by -P)'},
  {name: 'dns', kind: 'multiple', helpValue: 'ADDRESS', description: 'a name server for /etc/resolv.conf (bridged networks)'},
  {name: 'dns-search', kind: 'multiple', helpValue: 'DOMAIN', description: 'a search domain for /etc/resolv.conf (bridged networks)'},
  {name: 'link', kind: 'multiple', helpValue: 'NAME[:ALIAS]', description: 'legacy link: a running sandbox on the same network, by NAME and ALIAS in /etc/hosts'},
  {name: 'userns', kind: 'string', helpValue: 'private|host', description: 'private (default): root inside maps to an unprivileged host id range; host: share the host\'s ids (visible opt-out)'},
  {name: 'cap-add', kind: 'multiple', helpValue: 'CAP', description: 'keep a capability (NET_RAW or CAP_NET_RAW); all are dropped by default'},
  {name: 'cap-drop', kind: 'multiple', helpValue: 'CAP', description: 'drop a capability (ALL for every one)'},
  {name: 'init', kind: 'boolean', default: false, description: 'run a small init as PID 1 that reaps zombies and forwards signals'},
  {name: 'timeout', kind: 'string', helpValue: 'DURATION', description: 'wall-clock limit, e.g. 10s or 1m30s'},
  {name: 'add-host', kind: 'multiple', helpValue: 'NAME:ADDRESS', description: 'add a line to /etc/hosts'},
  {name: 'storage-opt', kind: 'multiple', helpValue: 'size=SIZE', description: 'size of the writable layer (with --read-only=false)'},
  {name: 'security-opt', kind: 'multiple', helpValue: 'seccomp=PROFILE|unconfined', description: 'security options'},
  {name: 'ulimit', kind: 'multiple', helpValue: 'NAME=SOFT[:HARD]', description: 'resource limit (defaults: core=0, nofile=4096)'},
  {name: 'memory', char: 'm', kind: 'string', helpValue: 'SIZE', description: 'memory limit, swap included (default 2g; at least 6m)'},
  {name: 'memory-swap', kind: 'string', helpValue: 'SIZE|-1', description: 'memory plus swap (default: equal to --memory, i.e. no swap); -1 for unlimited swap'},
  {name: 'cpus', kind: 'string', helpValue: 'N', description: 'CPU quota in CPUs, e.g. 0.5'},
  {name: 'cpu-shares', kind: 'string', helpValue: 'N', description: 'relative CPU weight (2-262144, default 1024)'},
  {name: 'cpuset-cpus', kind: 'string', helpValue: 'LIST', description: 'CPUs the sandbox may use, e.g. 0-1 or 0,2'},
  {name: 'pids-limit', kind: 'string', helpValue: 'N', description: 'most processes and threads at once (default 1024; -1 for none)'},
  {name: 'blkio-weight', kind: 'string', helpValue: 'N', description: 'relative block I/O weight (10-1000), where the host supports it'},
  {name: 'device-read-bps', kind: 'multiple', helpValue: 'DEVICE:RATE', description: 'limit reads from a block device, e.g. /dev/sda:10mb'},
  {name: 'device-write-bps', kind: 'multiple', helpValue: 'DEVICE:RATE', description: 'limit writes to a block device, e.g. /dev/sda:10mb'},
  {name: 'device-read-iops', kind: 'multiple', helpValue: 'DEVICE:N', description: 'limit read operations per second on a block device'},
  {name: 'device-write-iops', kind: 'multiple', helpValue: 'DEVICE:N', description: 'limit write operations per second on a block device'},
  {name: 'cpu-time', kind: 'string', helpValue: 'DURATION', description: 'CPU time of all processes together, e.g. 10s; the run ends when it is used up'},
  {name: 'output-limit', kind: 'string', helpValue: 'SIZE', description: 'stdout+stderr beyond this are cut and the run ended, e.g. 1m'},
  {name: 'interactive', char: 'i', kind: 'boolean', default: false, description: 'keep stdin open (otherwise the sandbox reads /dev/null)'},
  {name: 'tty', char: 't', kind: 'boolean', default: false, description: 'allocate a pseudo-terminal for the command (its own, from the sandbox\'s devpts); with -i the terminal is relayed in raw mode'},
  {name: 'rm', kind: 'boolean', default: false, description: 'remove the sandbox when it exits (always true for foreground runs)'},
  {name: 'detach', char: 'd', kind: 'boolean', default: false, description: 'run in the background, supervised; print the id (see lab sandbox ps, logs, stop)'},
  {name: 'restart', kind: 'string', helpValue: 'no|on-failure[:N]|always|unless-stopped', description: 'restart policy of a detached sandbox, with exponential back-off'},
  {name: 'log-opt', kind: 'multiple', helpValue: 'max-size=SIZE|max-file=N', description: 'log of a kept sandbox: size at which a log file rotates (default 10m) and files kept (default 2)'},
  {name: 'cidfile', kind: 'string', helpValue: 'FILE', description: 'write the sandbox id to FILE (which must not exist)'},
  {name: 'volumes-from', kind: 'multiple', helpValue: 'SANDBOX[:ro|rw]', description: 'mount the volumes of another sandbox'},
  {name: 'ipc', kind: 'string', helpValue: 'private|host|sandbox:NAME', description: 'IPC namespace: private (default), the host\'s, or another sandbox\'s'},
  {name: 'pid', kind: 'string', helpValue: 'sandbox:NAME', description: 'share another running sandbox\'s PID namespace'},
  {name: 'state-dir', kind: 'string', helpValue: 'DIR', description: 'where sandboxes, logs and volumes are kept (env LAB_STATE_DIR)'},
  {name: 'json', kind: 'boolean', default: false, description: 'print the result as JSON; the program\'s output is captured into it'},
]

export type ParsedRun = {
  flags: Record<string, string | boolean | string[] | undefined>
  command: string[]
  /** IMAGE of `IMAGE -- CMD…` */
  image?: string
  help: boolean
}

const byLong = new Map<string, FlagDef>()
const byShort = new Map<string, FlagDef>()
for (const f of RUN_FLAGS) {
  byLong.set(f.name, f)
  for (const a of f.aliases ?? []) byLong.set(a, f)
  if (f.char) byShort.set(f.char, f)
}

function boolValue(raw: string, flag: string): boolean {
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw usageError(`--${flag} takes true or false, not "${raw}"`)
}

export function parseRunArgv(argv: string[]): ParsedRun {
  const flags: ParsedRun['flags'] = {}
  for (const f of RUN_FLAGS) if (f.kind === 'boolean') flags[f.name] = f.default ?? false
  const set = (f: FlagDef, value: string | boolean) => {
    if (f.kind === 'multiple') flags[f.name] = [...((flags[f.name] as string[] | undefined) ?? []), value as string]
    else flags[f.name] = value
  }
  let i = 0
  const need = (f: FlagDef, shown: string): string => {
    if (i + 1 >= argv.length) throw usageError(`${shown} needs a value`, f.helpValue ? `e.g. ${shown} ${f.helpValue}` : undefined)
    return argv[++i]
  }
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      i++
      return {flags, command: argv.slice(i), help: false}
    }
    if (a === '--help') return {flags, command: [], help: true}
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = a.slice(2, eq < 0 ? undefined : eq)
      const f = byLong.get(name)
      if (!f) throw usageError(`unknown flag --${name}`, 'see `lab sandbox run --help`')
      if (f.kind === 'boolean') set(f, eq < 0 ? true : boolValue(a.slice(eq + 1), name))
      else set(f, eq < 0 ? need(f, `--${name}`) : a.slice(eq + 1))
      continue
    }
    if (a.startsWith('-') && a.length > 1) {
      // -it, -e K=V, -eK=V
      for (let j = 1; j < a.length; j++) {
        const f = byShort.get(a[j])
        if (!f) throw usageError(`unknown flag -${a[j]}`, 'see `lab sandbox run --help`')
        if (f.kind === 'boolean') {
          set(f, true)
          continue
        }
        set(f, j + 1 < a.length ? a.slice(j + 1) : need(f, `-${a[j]}`))
        break
      }
      continue
    }
    break
  }
  if (i + 1 < argv.length && argv[i + 1] === '--') {
    if (flags.image !== undefined) throw usageError(`both --image and "${argv[i]}" name an image`, 'give the image once')
    return {flags, command: argv.slice(i + 2), image: argv[i], help: false}
  }
  return {flags, command: argv.slice(i), help: false}
}

const str = (v: unknown) => v as string | undefined
const list = (v: unknown) => v as string[] | undefined

/**
 * The request the flags describe. A foreground run with a name and without --rm is kept
 * after it exits, as Docker keeps it (for logs, inspect, --volumes-from).
 */
export function requestFromArgv(parsed: ParsedRun, callerEnv: Record<string, string | undefined> = process.env): RunRequest {
  const f = parsed.flags
  const detach = f.detach === true
  return {
    command: parsed.command,
    env: list(f.env),
    envFiles: list(f['env-file']),
    user: str(f.user),
    workdir: str(f.workdir),
    hostname: str(f.hostname),
    name: str(f.name),
    readOnly: f['read-only'] as boolean,
    rootfs: str(f.rootfs),
    image: parsed.image ?? str(f.image),
    entrypoint: str(f.entrypoint),
    network: str(f.network),
    ip: str(f.ip),
    ip6: str(f.ip6),
    networkAliases: list(f['network-alias']),
    publish: list(f.publish),
    publishAll: f['publish-all'] === true || undefined,
    expose: list(f.expose),
    dns: list(f.dns),
    dnsSearch: list(f['dns-search']),
    links: list(f.link),
    capAdd: list(f['cap-add']),
    capDrop: list(f['cap-drop']),
    init: f.init as boolean,
    timeout: str(f.timeout),
    addHost: list(f['add-host']),
    volumes: list(f.volume),
    tmpfs: list(f.tmpfs),
    storageOpt: list(f['storage-opt']),
    securityOpt: list(f['security-opt']),
    ulimit: list(f.ulimit),
    limits: {
      memory: str(f.memory),
      memorySwap: str(f['memory-swap']),
      cpus: str(f.cpus),
      cpuShares: str(f['cpu-shares']),
      cpusetCpus: str(f['cpuset-cpus']),
      pidsLimit: str(f['pids-limit']),
      blkioWeight: str(f['blkio-weight']),
      deviceReadBps: list(f['device-read-bps']),
      deviceWriteBps: list(f['device-write-bps']),
      deviceReadIops: list(f['device-read-iops']),
      deviceWriteIops: list(f['device-write-iops']),
      cpuTime: str(f['cpu-time']),
      outputLimit: str(f['output-limit']),
    },
    userns: str(f.userns),
    callerEnv,
    detach: detach || undefined,
    keep: !detach && f.name !== undefined && f.rm !== true ? true : undefined,
    restart: str(f.restart),
    autoRemove: f.rm === true,
    interactive: detach && f.interactive === true,
    volumesFrom: list(f['volumes-from']),
    ipc: str(f.ipc),
    pid: str(f.pid),
    tty: f.tty === true,
    logOpts: list(f['log-opt']),
  }
}
