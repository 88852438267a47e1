/** Linux capabilities by Docker's names (CAP_ prefix optional, any case). */
import {usageError} from '../errors.js'

export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const

export type Capability = (typeof CAPABILITIES)[number]

const INDEX = new Map<string, number>(CAPABILITIES.map((c, i) => [c, i]))

/** "net_raw", "CAP_NET_RAW" → "NET_RAW"; unknown names are a usage error. */
export function normalizeCapability(name: string): Capability | 'ALL' {
  const up = name.trim().toUpperCase().replace(/^CAP_/, '')
  if (up === 'ALL') return 'ALL'
  if (!INDEX.has(up)) {
    throw usageError(`unknown capability "${name}"`, `use a name like NET_RAW or CAP_NET_RAW; see capabilities(7)`)
  }
  return up as Capability
}

/**
 * The kept set from --cap-add/--cap-drop, applied in Docker's way to our base set,
 * which is empty: every capability is dropped unless added.
 */
export function resolveCapabilities(add: string[], drop: string[], base: readonly Capability[] = []): Capability[] {
  const set = new Set<Capability>(base)
  const dropped = drop.map(normalizeCapability)
  const added = add.map(normalizeCapability)
  if (dropped.includes('ALL')) set.clear()
  for (const d of dropped) if (d !== 'ALL') set.delete(d)
  if (added.includes('ALL')) for (const c of CAPABILITIES) set.add(c)
  for (const a of added) if (a !== 'ALL') set.add(a)
  return CAPABILITIES.filter((c) => set.has(c))
}

/** The helper's form: a hex bit mask. */
export function capabilityMask(caps: readonly string[]): string {
  let mask = 0n
  for (const c of caps) {
    const i = INDEX.get(c)
    if (i === undefined) throw usageError(`unknown capability "${c}"`)
    mask |= 1n << BigInt(i)
  }
  return mask === 0n ? '-' : mask.toString(16)
}
