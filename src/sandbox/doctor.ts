/** `lab doctor`: what this host supports, each missing piece with its fix. */
import {spawnSync} from 'node:child_process'

import {assertHelperBuilt, HELPER_PATH} from './helper.js'
import {buildSpec} from './build-spec.js'
import {cgroupInfo, findLibseccomp, kernelAtLeast, kernelVersion, namespacesSupported, overlaySupported, seccompSupport, userNamespaceRestrictions} from './host.js'
import {delegatedParent} from './cgroups/rootless.js'
import {othersMayOpenTun, pastaBinary, TUN_DEVICE, tunUsable} from './pasta.js'
import {runSandbox} from './run.js'
import {imageRootCheck, imageStoreCheck} from '../images/doctor.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface DoctorCheck {
  name: string
  status: CheckStatus
  detail: string
  fix?: string
}

export interface DoctorReport {
  ok: boolean
  kernel: string
  cgroupMode: string
  checks: DoctorCheck[]
}

export async function runDoctor(): Promise<DoctorReport> {
  const checks: DoctorCheck[] = []
  const add = (c: DoctorCheck) => checks.push(c)
  const [maj, min] = kernelVersion()

  add(
    kernelAtLeast(5, 12)
      ? {name: 'kernel', status: 'ok', detail: `${maj}.${min} (new mount API, mount_setattr, openat2)`}
      : {name: 'kernel', status: 'fail', detail: `${maj}.${min} is older than 5.12`, fix: 'lab needs Linux 5.12 or newer (mount_setattr); upgrade the kernel'},
  )

  const ns = namespacesSupported()
  const missing = Object.entries(ns).filter(([, v]) => !v).map(([k]) => k)
  add(missing.length === 0 ? {name: 'namespaces', status: 'ok', detail: Object.keys(ns).join(', ')} : {name: 'namespaces', status: 'fail', detail: `missing: ${missing.join(', ')}`, fix: 'enable CONFIG_NAMESPACES and the missing CONFIG_*_NS options in the kernel'})

  const root = process.getuid?.() === 0
  const restrictions = userNamespaceRestrictions()
  if (restrictions.length === 0) add({name: 'user namespaces', status: 'ok', detail: root ? 'available' : 'available to unprivileged users'})
  else
    for (const r of restrictions) {
      add({name: 'user namespaces', status: root ? 'warn' : 'fail', detail: `${r.setting} = ${r.value} refuses unprivileged user namespaces`, fix: r.fix})
    }

  const cg = cgroupInfo()
  if (cg.mode === 'none') add({name: 'cgroups', status: 'fail', detail: 'no cgroup file system is mounted', fix: 'mount cgroup2 on /sys/fs/cgroup (systemd does this by default)'})
  else {
    const ctrls = cg.mode === 'v1' || cg.mode === 'hybrid' ? Object.keys(cg.v1).sort().join(', ') : cg.v2Controllers.join(', ')
    add({name: 'cgroups', status: 'ok', detail: `${cg.mode}${ctrls ? ` (${ctrls})` : ''}`})
  }

  if (!root) {
    const parent = delegatedParent()
    add(
      parent
        ? {name: 'cgroup delegation', status: 'ok', detail: `limits go into the delegated group ${parent}`}
        : {name: 'cgroup delegation', status: 'warn', detail: 'no writable cgroup v2 subtree: memory, cpu and pids limits are reported as not enforced (rlimits and timeouts still hold)', fix: 'run lab under `systemd-run --user --scope -p Delegate=yes`, or point LAB_CGROUP_PARENT at a delegated group'},
    )
  }

  const sc = seccompSupport()
  add(sc.filter ? {name: 'seccomp', status: 'ok', detail: `filter mode; actions: ${sc.actions.join(' ')}`} : {name: 'seccomp', status: 'fail', detail: 'the kernel has no seccomp filter support', fix: 'enable CONFIG_SECCOMP_FILTER in the kernel'})
  const lib = findLibseccomp()
  add(lib ? {name: 'libseccomp', status: 'ok', detail: lib} : {name: 'libseccomp', status: 'fail', detail: 'libseccomp.so.2 not found', fix: 'install it: apt-get install libseccomp2 · dnf install libseccomp · apk add libseccomp'})

  add(overlaySupported() ? {name: 'overlayfs', status: 'ok', detail: 'available (writable roots with --read-only=false)'} : {name: 'overlayfs', status: 'warn', detail: 'not available: --read-only=false will fail', fix: 'modprobe overlay'})

  // bridged networks (src/network/): bridges by iproute2, firewall rules by nftables, as root
  const netTools = [['ip', '-V'], ['nft', '--version']].filter(([c, a]) => spawnSync(c, [a]).status !== 0).map(([c]) => c)
  add(netTools.length === 0 && root
    ? {name: 'bridged networks', status: 'ok', detail: 'ip and nft found (--network bridge|NAME, -p)'}
    : {name: 'bridged networks', status: 'warn', detail: root ? `missing: ${netTools.join(', ')}` : 'need root; without root, --network pasta|bridge use pasta (below)', fix: root ? 'apt-get install iproute2 nftables' : 'run as root, or use --network pasta'})

  // rootless networking (src/sandbox/pasta.ts): pasta, and a tun device the caller may open
  const pasta = pastaBinary()
  // as root: whether the users who would run rootless sandboxes may open it
  const tun = root ? othersMayOpenTun() : tunUsable()
  add(pasta && tun
    ? {name: 'pasta', status: 'ok', detail: `${pasta}${root ? ' (used without root: --network pasta|bridge)' : ' (--network pasta|bridge)'}`}
    : {name: 'pasta', status: 'warn', detail: !pasta ? 'not installed: rootless sandboxes have no network but loopback' : `${TUN_DEVICE} is not readable and writable${root ? ' by other users' : ''}`, fix: !pasta ? 'apt-get install passt · dnf install passt' : `chmod 0666 ${TUN_DEVICE} (the usual default)`})

  add(
    kernelAtLeast(5, 12)
      ? {name: 'idmapped mounts', status: 'ok', detail: 'supported by the kernel (ext4, xfs, btrfs; tmpfs from 6.3)'}
      : {name: 'idmapped mounts', status: 'warn', detail: 'not supported by this kernel', fix: 'upgrade to Linux 5.12+; writable volumes then fall back as documented'},
  )

  add(imageStoreCheck())
  add(imageRootCheck([maj, min]))

  try {
    assertHelperBuilt()
    const spec = await buildSpec({command: ['/bin/true']})
    const r = await runSandbox(spec, {stdio: 'pipe'})
    add(r.verdict === 'ok' ? {name: 'sandbox', status: 'ok', detail: `a fully hardened sandbox ran /bin/true in ${r.wallMs.toFixed(1)} ms`} : {name: 'sandbox', status: 'fail', detail: r.error ? `${r.error.stage}: ${r.error.call} ${r.error.path}: ${r.error.message}` : `verdict ${r.verdict}`, fix: r.error?.hint ?? 'see the failing check above'})
  } catch (e) {
    add({name: 'sandbox', status: 'fail', detail: (e as Error).message, fix: `build the helper (${HELPER_PATH}) with npm ci`})
  }

  return {ok: checks.every((c) => c.status !== 'fail'), kernel: `${maj}.${min}`, cgroupMode: cg.mode, checks}
}
