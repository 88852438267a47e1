// The seccomp bench's peer: Docker's own default profile, applied by runc the way Docker
// applies it. Docker resolves the profile's includes/excludes against the container's
// capabilities and hands runc an OCI seccomp section; this does the same with lab's
// resolver (the resolving is not what is timed: runc loads the rules with its own
// libseccomp, and the kernel runs them).
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './lib.mjs'

// Docker's profile ships in this Debian package's sources. Installing the package pulls
// in some 260 others, so the bench downloads the .deb alone and takes the one file out.
const PACKAGE = 'golang-github-docker-docker-dev'
const IN_PACKAGE = './usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json'
// moby's oci/caps/defaults.go: what `docker run` grants when nothing is added or dropped
export const DOCKER_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE']

/** The path of Docker's default.json, or {skip: why}. LAB_BENCH_DOCKER_PROFILE names a copy. */
export function dockerProfile(work) {
  const given = process.env.LAB_BENCH_DOCKER_PROFILE
  if (given) return existsSync(given) ? {path: given} : {skip: `LAB_BENCH_DOCKER_PROFILE=${given} does not exist`}
  const installed = IN_PACKAGE.slice(1)
  if (existsSync(installed)) return {path: installed}
  const dl = spawnSync('apt-get', ['download', PACKAGE], {cwd: work, encoding: 'utf8'})
  const deb = existsSync(work) ? readdirSync(work).find((f) => f.startsWith(PACKAGE) && f.endsWith('.deb')) : undefined
  if (dl.status !== 0 || !deb) return {skip: `could not download ${PACKAGE} for Docker's default profile (set LAB_BENCH_DOCKER_PROFILE to a copy of moby's profiles/seccomp/default.json)`}
  const tar = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" > "$3"', 'sh', join(work, deb), IN_PACKAGE, join(work, 'docker-default.json')])
  if (tar.status !== 0) return {skip: `${deb} has no ${IN_PACKAGE}`}
  return {path: join(work, 'docker-default.json')}
}

const ACTIONS = {allow: 'SCMP_ACT_ALLOW', errno: 'SCMP_ACT_ERRNO', kill_process: 'SCMP_ACT_KILL_PROCESS', kill_thread: 'SCMP_ACT_KILL_THREAD', trap: 'SCMP_ACT_TRAP', log: 'SCMP_ACT_LOG', trace: 'SCMP_ACT_TRACE'}
const OPS = {ne: 'SCMP_CMP_NE', lt: 'SCMP_CMP_LT', le: 'SCMP_CMP_LE', eq: 'SCMP_CMP_EQ', ge: 'SCMP_CMP_GE', gt: 'SCMP_CMP_GT', masked_eq: 'SCMP_CMP_MASKED_EQ'}
const ARCHES = {x86_64: 'SCMP_ARCH_X86_64', x86: 'SCMP_ARCH_X86', x32: 'SCMP_ARCH_X32', aarch64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM'}

function action(a) {
  return a.kind === 'errno' || a.kind === 'trace' ? {action: ACTIONS[a.kind], errnoRet: a.value} : {action: ACTIONS[a.kind]}
}

/** A Docker-format profile as the OCI seccomp section Docker would give runc. */
export async function ociSeccomp(profilePath, caps) {
  const {loadProfileFile} = await import(join(ROOT, 'dist', 'seccomp', 'load.js'))
  const {resolveProfile, hostContext} = await import(join(ROOT, 'dist', 'seccomp', 'resolve.js'))
  const {profile} = await loadProfileFile(profilePath)
  const r = resolveProfile(profile, hostContext(caps))
  const syscalls = []
  // entry < 0: lab's own guards for multiplexed calls, which Docker does not add
  for (const rule of r.rules) {
    if (rule.entry < 0) continue
    const args = []
    for (const c of rule.conditions) args.push({index: c.index, value: c.value, valueTwo: c.valueTwo, op: OPS[c.op]})
    syscalls.push({names: [rule.name], ...action(rule.action), args})
  }
  const d = r.defaultAction
  return {defaultAction: ACTIONS[d.kind], ...(d.kind === 'errno' ? {defaultErrnoRet: d.value} : {}), architectures: r.arches.map((a) => ARCHES[a]), syscalls}
}

/** JSON with 64-bit argument values written as exact numbers, as runc reads them. */
export function writeJsonWithBigInts(path, value) {
  const text = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `@big${v}@` : v), 1)
  writeFileSync(path, text.replace(/"@big(\d+)@"/g, '$1'))
}
