/**
 * The synthesized /etc of the default root: just enough for programs to resolve users,
 * hosts and libraries. Never the host's shadow, passwd, home or root directories.
 */
import {readFileSync} from 'node:fs'

export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
  shell: string
}

export interface GroupEntry {
  name: string
  gid: number
  /** user names listed as members (the fourth field) */
  members?: string[]
}

export const BASE_USERS: PasswdEntry[] = [
  {name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh'},
  {name: 'daemon', uid: 1, gid: 1, home: '/usr/sbin', shell: '/usr/sbin/nologin'},
  {name: 'bin', uid: 2, gid: 2, home: '/bin', shell: '/usr/sbin/nologin'},
  {name: 'sys', uid: 3, gid: 3, home: '/dev', shell: '/usr/sbin/nologin'},
  {name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin'},
]

export const BASE_GROUPS: GroupEntry[] = [
  {name: 'root', gid: 0},
  {name: 'daemon', gid: 1},
  {name: 'bin', gid: 2},
  {name: 'sys', gid: 3},
  {name: 'adm', gid: 4},
  {name: 'tty', gid: 5},
  {name: 'users', gid: 100},
  {name: 'nogroup', gid: 65534},
]

/** Host /etc entries that programs need and that reveal nothing private. */
export const HOST_ETC_ENTRIES = [
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'localtime', 'timezone', 'ssl', 'ca-certificates',
  'ca-certificates.conf', 'protocols', 'services', 'os-release', 'debian_version', 'mime.types', 'gai.conf',
  'bash.bashrc', 'profile', 'inputrc', 'magic', 'python3', 'perl',
]

// Loops, not map().join(): plan.ts's serializePlan says why.
export function passwdFile(users: PasswdEntry[]): string {
  let out = ''
  for (const u of users) out += `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:${u.shell}\n`
  return out
}

export function groupFile(groups: GroupEntry[]): string {
  let out = ''
  for (const g of groups) out += `${g.name}:x:${g.gid}:\n`
  return out
}

export function hostsFile(hostname: string, extra: Array<{host: string; address: string}>): string {
  let s = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
  s += `127.0.1.1\t${hostname}\n`
  for (const e of extra) s += `${e.address}\t${e.host}\n`
  return s
}

export const NSSWITCH = 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n'

/** Users visible in the sandbox: the base set plus an entry for a uid it does not know. */
export function sandboxUsers(uid: number, gid: number): PasswdEntry[] {
  if (BASE_USERS.some((u) => u.uid === uid)) return BASE_USERS
  return [...BASE_USERS, {name: 'sandbox', uid, gid, home: '/tmp', shell: '/bin/sh'}]
}

export function sandboxGroups(gid: number): GroupEntry[] {
  if (BASE_GROUPS.some((g) => g.gid === gid)) return BASE_GROUPS
  return [...BASE_GROUPS, {name: 'sandbox', gid}]
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 7 || line.startsWith('#')) continue
    const uid = Number(f[2])
    const gid = Number(f[3])
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.push({name: f[0], uid, gid, home: f[5], shell: f[6]})
  }
  return out
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 3 || line.startsWith('#')) continue
    const gid = Number(f[2])
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)
    if (Number.isInteger(gid)) out.push({name: f[0], gid, ...(members.length ? {members} : {})})
  }
  return out
}

/** The host's resolv.conf, for a sandbox on the host's network (empty if it has none). */
export function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    return ''
  }
}
