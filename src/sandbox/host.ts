/**
 * Facts about the host the engine depends on, read from /proc and /sys without side
 * effects (except the final end-to-end probe, which runs one real sandbox).
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {release} from 'node:os'

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none'

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release())
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

export function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = kernelVersion()
  return a > major || (a === major && b >= minor)
}

export interface CgroupInfo {
  mode: CgroupMode
  /** mount point of the v2 hierarchy, if any */
  v2Root: string | null
  /** v1 controller → mount point */
  v1: Record<string, string>
  /** controllers usable through v2 (root's cgroup.controllers) */
  v2Controllers: string[]
}

export function cgroupInfo(mountinfo = read('/proc/self/mountinfo') ?? ''): CgroupInfo {
  const v1: Record<string, string> = {}
  let v2Root: string | null = null
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const right = line.slice(sep + 3).split(' ')
    const mountPoint = left[4]
    const fstype = right[0]
    if (fstype === 'cgroup2') {
      if (!v2Root || mountPoint === '/sys/fs/cgroup') v2Root = mountPoint
    } else if (fstype === 'cgroup') {
      for (const opt of (right[2] ?? '').split(',')) {
        if (['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(opt) || opt.startsWith('name=')) continue
        v1[opt] = mountPoint
      }
    }
  }
  const v2Controllers = v2Root ? (read(`${v2Root}/cgroup.controllers`) ?? '').trim().split(/\s+/).filter(Boolean) : []
  const hasV1 = Object.keys(v1).length > 0
  const mode: CgroupMode = hasV1 && v2Root ? 'hybrid' : hasV1 ? 'v1' : v2Root ? 'v2' : 'none'
  return {mode, v2Root, v1, v2Controllers}
}

export const NAMESPACES = ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'user'] as const

export function namespacesSupported(): Record<string, boolean> {
  return Object.fromEntries(NAMESPACES.map((n) => [n, existsSync(`/proc/self/ns/${n}`)]))
}

/** Why an unprivileged user namespace would be refused, if it would be. */
export function userNamespaceRestrictions(): Array<{setting: string; value: string; fix: string}> {
  const out: Array<{setting: string; value: string; fix: string}> = []
  const max = read('/proc/sys/user/max_user_namespaces')?.trim()
  if (max === '0') out.push({setting: 'user.max_user_namespaces', value: max, fix: 'sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)'})
  const debian = read('/proc/sys/kernel/unprivileged_userns_clone')?.trim()
  if (debian === '0') out.push({setting: 'kernel.unprivileged_userns_clone', value: debian, fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)'})
  const apparmor = read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim()
  if (apparmor === '1') {
    out.push({
      setting: 'kernel.apparmor_restrict_unprivileged_userns',
      value: apparmor,
      fix: 'allow lab in an AppArmor profile with the "userns," rule (see Ubuntu\'s apparmor userns docs), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    })
  }
  return out
}

export function seccompSupport(): {filter: boolean; actions: string[]} {
  const status = read('/proc/self/status') ?? ''
  const actions = (read('/proc/sys/kernel/seccomp/actions_avail') ?? '').trim().split(/\s+/).filter(Boolean)
  return {filter: /^Seccomp:/m.test(status) && actions.length > 0, actions}
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib']

export function findLibseccomp(): string | null {
  for (const d of LIB_DIRS) {
    const p = `${d}/libseccomp.so.2`
    if (existsSync(p)) return p
  }
  const cache = read('/etc/ld.so.cache')
  const m = cache && /(\/[^\0]*libseccomp\.so\.2)\0/.exec(cache)
  return m ? m[1] : null
}

export function overlaySupported(): boolean {
  if (/\boverlay\b/.test(read('/proc/filesystems') ?? '')) return true
  const mod = `/lib/modules/${release()}/kernel/fs/overlayfs`
  return existsSync(mod) && readdirSync(mod).length > 0
}
