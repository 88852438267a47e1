/**
 * The Docker-shaped views of lifecycle sandboxes, for the commands: `inspect`'s
 * document (Docker's field names) and the status text of `ps` ("Up 3 minutes",
 * "Exited (137) 2 seconds ago"). The engine returns data; this only shapes it.
 */
import {join} from 'node:path'

import {imageInspectFields} from '../images/sandbox-image.js'
import type {Lifecycle, SandboxRecord, SandboxState, SandboxSummary} from '../sandbox/lifecycle.js'
import {logMaxFiles} from '../sandbox/lifecycle/logs.js'
import {shortId} from '../sandbox/names.js'
import {formatSize} from '../sandbox/units.js'

function ago(iso: string | null): string {
  if (!iso) return ''
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000)
  if (s < 1) return 'Less than a second'
  if (s < 60) return `${Math.floor(s)} second${Math.floor(s) === 1 ? '' : 's'}`
  if (s < 3600) return `${Math.floor(s / 60)} minute${Math.floor(s / 60) === 1 ? '' : 's'}`
  if (s < 86400) return `${Math.floor(s / 3600)} hour${Math.floor(s / 3600) === 1 ? '' : 's'}`
  return `${Math.floor(s / 86400)} days`
}

/** ps's STATUS column, as Docker words it. */
export function describeStatus(st: SandboxState): string {
  switch (st.status) {
    case 'created': return 'Created'
    case 'running': return `Up ${ago(st.startedAt)}`
    case 'paused': return `Up ${ago(st.startedAt)} (Paused)`
    case 'restarting': return `Restarting (${st.exitCode}) ${ago(st.finishedAt)} ago`
    case 'exited': return `Exited (${st.exitCode}) ${ago(st.finishedAt)} ago`
    default: return 'Removed'
  }
}

/** A ps row: the summary with its status text. */
export function psRow(s: SandboxSummary): SandboxSummary & {status: string} {
  return {...s, status: describeStatus(s.state)}
}

/** Docker's NetworkSettings: the bridged networks' addresses and the published ports. */
function networkSettings(rec: SandboxRecord): Record<string, unknown> {
  const b = rec.spec.bridge
  const ports: Record<string, Array<{HostIp: string; HostPort: string}>> = {}
  for (const p of b?.ports ?? rec.spec.pasta?.ports ?? []) (ports[`${p.port}/${p.proto}`] ??= []).push({HostIp: p.hostIp, HostPort: String(p.hostPort)})
  return {
    Ports: ports,
    Networks: Object.fromEntries((b?.networks ?? []).map((n) => [n.network, {
      NetworkID: n.networkId, IPAddress: n.address, IPPrefixLen: n.prefix, Gateway: n.gateway ?? '',
      // Docker's empty values on an IPv4-only network
      GlobalIPv6Address: n.address6 ?? '', GlobalIPv6PrefixLen: n.address6 ? n.prefix6 ?? 0 : 0, IPv6Gateway: n.gateway6 ?? '',
      Aliases: n.aliases,
    }])),
  }
}

export function inspectView(lc: Lifecycle, ref: string): Record<string, unknown> {
  const rec = lc.store.get(ref)
  const st = lc.state(rec)
  const image = imageInspectFields(rec, lc.store.roots.data)
  return {
    Id: rec.id,
    ...image.top,
    Name: rec.name,
    Created: rec.created,
    Path: rec.spec.process.args[0],
    Args: rec.spec.process.args.slice(1),
    State: {
      Status: st.status, Running: st.running, Paused: st.paused, Restarting: st.restarting, Pid: st.pid,
      ExitCode: st.exitCode, Signal: st.signal, KilledBy: st.killedBy, Error: st.error, StartedAt: st.startedAt,
      FinishedAt: st.finishedAt, SupervisorPid: st.supervisorPid,
    },
    RestartCount: st.restartCount,
    NetworkSettings: networkSettings(rec),
    LogPath: join(lc.store.dir(rec.id), 'log'),
    HostConfig: {
      LogConfig: {Type: 'json-file', Config: {'max-size': formatSize(rec.logMaxBytes), 'max-file': String(logMaxFiles(rec))}},
      RestartPolicy: {Name: rec.restart.name, MaximumRetryCount: rec.restart.maximumRetryCount},
      AutoRemove: rec.autoRemove,
      NetworkMode: rec.spec.share?.network ? `sandbox:${nameOf(lc, rec.spec.share.network)}` : rec.spec.bridge?.networks[0].network ?? rec.spec.network,
      IpcMode: rec.spec.share?.ipc ? (rec.spec.share.ipc === 'host' ? 'host' : `sandbox:${nameOf(lc, rec.spec.share.ipc)}`) : 'private',
      PidMode: rec.spec.share?.pid ? `sandbox:${nameOf(lc, rec.spec.share.pid)}` : 'private',
      ReadonlyRootfs: rec.spec.root.readOnly,
    },
    Mounts: rec.spec.mounts.map((m) => {
      const v = rec.volumes.find((x) => x.destination === m.destination)
      return m.type === 'bind'
        ? {Type: v ? 'volume' : 'bind', Name: v?.name, Source: m.source, Destination: m.destination, RW: !m.readOnly}
        : {Type: 'tmpfs', Destination: m.destination, RW: !m.readOnly}
    }),
    Config: {Hostname: rec.spec.hostname, User: `${rec.spec.process.user.uid}:${rec.spec.process.user.gid}`, Env: Object.entries(rec.spec.process.env).map(([k, v]) => `${k}=${v}`), Cmd: rec.spec.process.args, WorkingDir: rec.spec.process.cwd, OpenStdin: rec.keepStdin, Tty: rec.tty ?? false, ...image.config},
    Spec: rec.spec,
  }
}

function nameOf(lc: Lifecycle, id: string): string {
  return lc.store.load(id)?.name ?? shortId(id)
}
