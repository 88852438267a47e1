#!/usr/bin/env node
// Seccomp costs: a syscall-bound loop under the default profile vs unconfined (target:
// at most 1.10x) and vs a filter that allows everything (the kernel's floor for any
// filter), the peer's figure for the same loop (runc with Docker's default profile vs
// runc unconfined), and sandbox start-up with the default profile vs without one.
// Prints a summary and writes bench/results/seccomp.json. Needs root and hyperfine;
// the peer needs runc and skips itself, saying why, without it.
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DOCKER_CAPS, dockerProfile, ociSeccomp, writeJsonWithBigInts} from './docker-profile.mjs'
import {hyperfine, need, ROOT as root} from './lib.mjs'

const lab = join(root, 'bin', 'run.js')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-seccomp-'))
let runcName = null // the peer's container while it runs: removed also when the bench is stopped
process.on('exit', () => {
  if (runcName) spawnSync('runc', ['delete', '-f', runcName], {stdio: 'ignore'})
  rmSync(work, {recursive: true, force: true}) // also when a run fails
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))
chmodSync(work, 0o755)

need('hyperfine', 'apt-get install hyperfine')

// getppid, fstat and a 1-byte read from /dev/zero: cheap calls, so the filter's share
// shows. The loop times itself (rounds of N iterations, the median round), so neither
// the sandbox's start-up nor its variance is in the figure. With "files" it opens, reads
// (4 KiB) and closes a file instead: file I/O bound code, for comparison only.
writeFileSync(join(work, 'loop.c'), `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int rounds = argc > 2 ? atoi(argv[2]) : 15;
  if (rounds < 1 || rounds > 100) return 2;
  int files = argc > 3 && argv[3][0] == 'f';
  int fd = open("/dev/zero", O_RDONLY);
  char c, buf[4096]; struct stat st; double t[100];
  for (int r = 0; r < rounds; r++) {
    double t0 = now();
    if (files) {
      for (long i = 0; i < n; i++) { int f = open("/b/loop.c", O_RDONLY); if (f < 0 || read(f, buf, sizeof buf) <= 0) return 1; close(f); }
    } else {
      for (long i = 0; i < n; i++) { getppid(); fstat(fd, &st); if (read(fd, &c, 1) != 1) return 1; }
    }
    t[r] = (now() - t0) / n / 3;
  }
  qsort(t, rounds, sizeof t[0], cmp);
  printf("%.2f\\n", t[rounds / 2]);
  return 0;
}`)
// static, so the peer's rootfs needs nothing else; lab runs the very same binary
execFileSync('cc', ['-O2', '-static', '-o', join(work, 'loop'), join(work, 'loop.c')])
const ITER = process.env.SECCOMP_BENCH_ITER ?? '200000'
const REPEAT = Number(process.env.SECCOMP_BENCH_REPEAT ?? 5)

// warm the BPF cache so start-up measures the cached path
execFileSync(process.execPath, [lab, 'sandbox', 'run', '--', 'true'])
// The peer for "what does our filter cost": a filter that allows everything. Any filter
// at all moves every system call onto the kernel's slower seccomp entry path; the
// difference between that and our profile is what the profile itself costs.
const allowAll = join(work, 'allow-all.json')
writeFileSync(allowAll, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: []}))
const configs = {default: ['default'], strict: ['strict'], unconfined: ['unconfined'], allowAll: [allowAll], filesDefault: ['default', 'files'], filesUnconfined: ['unconfined', 'files']}

// The peer: the same loop under runc, with Docker's default profile resolved for
// Docker's default capabilities, and with no seccomp section at all. lab also runs
// Docker's profile, so the two engines are compared on the same rules.
const peer = await runcPeer()
if (peer.skip) console.log(`seccomp: peer skipped: ${peer.skip}`)
else configs.labDocker = [peer.profile]

const samples = Object.fromEntries(Object.keys(configs).map((k) => [k, []]))
if (!peer.skip) Object.assign(samples, {runcDocker: [], runcUnconfined: []})
// the configurations alternate, so a VM whose speed drifts weighs on each alike
for (let i = 0; i < REPEAT; i++) {
  for (const [name, [opt, mode]] of Object.entries(configs)) {
    const iter = mode ? String(Math.ceil(Number(ITER) / 4)) : ITER
    const out = execFileSync(process.execPath, [lab, 'sandbox', 'run', '-v', `${work}:/b:ro`, '--security-opt', `seccomp=${opt}`, '--', '/b/loop', iter, '15', ...(mode ? [mode] : [])], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
    samples[name].push(Number(out.trim()))
  }
  if (peer.skip) continue
  for (const [name, bundle] of [['runcDocker', peer.docker], ['runcUnconfined', peer.unconfined]]) {
    runcName = `lab-bench-seccomp-${process.pid}-${i}-${name}`
    const out = execFileSync('runc', ['run', '--bundle', bundle, runcName], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    runcName = null
    samples[name].push(Number(out.trim()))
  }
}

async function runcPeer() {
  if (spawnSync('sh', ['-c', 'command -v runc']).status !== 0) return {skip: 'runc is missing (apt-get install runc)'}
  const found = dockerProfile(work)
  if (found.skip) return found
  const rootfs = join(work, 'runc-rootfs')
  mkdirSync(rootfs)
  copyFileSync(join(work, 'loop'), join(rootfs, 'loop'))
  chmodSync(join(rootfs, 'loop'), 0o755)
  const spec = join(work, 'runc-spec')
  mkdirSync(spec)
  execFileSync('runc', ['spec'], {cwd: spec})
  const config = JSON.parse(readFileSync(join(spec, 'config.json'), 'utf8'))
  config.root = {path: rootfs, readonly: true}
  config.process.terminal = false
  config.process.args = ['/loop', ITER, '15']
  const caps = DOCKER_CAPS.map((c) => `CAP_${c}`)
  config.process.capabilities = {bounding: caps, effective: caps, permitted: caps}
  const bundles = {}
  for (const name of ['unconfined', 'docker']) {
    const dir = join(work, `runc-${name}`)
    mkdirSync(dir)
    if (name === 'docker') config.linux.seccomp = await ociSeccomp(found.path, DOCKER_CAPS)
    writeJsonWithBigInts(join(dir, 'config.json'), config)
    bundles[name] = dir
  }
  return {profile: found.path, ...bundles}
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ns = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]))
const start = hyperfine('seccomp-start', {default: `${process.execPath} ${lab} sandbox run -- true`, unconfined: `${process.execPath} ${lab} sandbox run --security-opt seccomp=unconfined -- true`}, {runs: 30, warmup: 2})
const startDefault = start.default * 1000
const startNone = start.unconfined * 1000
const result = {
  date: new Date().toISOString(),
  iterations: Number(ITER),
  syscallsPerIteration: 3,
  loop: {
    nsPerSyscall: {default: ns.default, strict: ns.strict, allowAll: ns.allowAll, unconfined: ns.unconfined},
    samples,
    ratioDefault: ns.default / ns.unconfined,
    ratioStrict: ns.strict / ns.unconfined,
    ratioAllowAll: ns.allowAll / ns.unconfined,
    ratioDefaultVsAllowAll: ns.default / ns.allowAll,
    target: 1.1,
  },
  // for comparison, no target: open + 4 KiB read + close per iteration
  // the peer, same loop: runc with Docker's default profile vs runc unconfined
  peer: peer.skip ? {skipped: peer.skip} : {
    nsPerSyscall: {runcDocker: ns.runcDocker, runcUnconfined: ns.runcUnconfined, labDocker: ns.labDocker},
    ratioRunc: ns.runcDocker / ns.runcUnconfined,
    ratioLabDockerProfile: ns.labDocker / ns.unconfined,
    ratioDefaultVsRunc: (ns.default / ns.unconfined) / (ns.runcDocker / ns.runcUnconfined),
  },
  fileLoop: {nsPerSyscall: {default: ns.filesDefault, unconfined: ns.filesUnconfined}, ratioDefault: ns.filesDefault / ns.filesUnconfined},
  startup: {defaultMs: startDefault, unconfinedMs: startNone, overheadMs: startDefault - startNone},
  raw: {startSeconds: start},
}
mkdirSync(join(root, 'bench', 'results'), {recursive: true})
writeFileSync(join(root, 'bench', 'results', 'seccomp.json'), JSON.stringify(result, null, 2) + '\n')
rmSync(work, {recursive: true, force: true})
const f = (x) => x.toFixed(1)
console.log(`seccomp: syscall loop, ns per call (median of ${REPEAT} runs): default ${f(ns.default)}, strict ${f(ns.strict)}, allow-all filter ${f(ns.allowAll)}, unconfined ${f(ns.unconfined)}`)
console.log(`seccomp: default / unconfined ${result.loop.ratioDefault.toFixed(3)}x (target <= 1.10x) ${result.loop.ratioDefault <= 1.1 ? 'ok' : 'MISSED'}; any filter at all (allow-all / unconfined) ${result.loop.ratioAllowAll.toFixed(3)}x`)
console.log(`seccomp: the profile's own cost (default / allow-all) ${result.loop.ratioDefaultVsAllowAll.toFixed(3)}x`)
if (!peer.skip) console.log(`seccomp: peer, same loop: runc with Docker's default profile ${f(ns.runcDocker)} ns per call, runc unconfined ${f(ns.runcUnconfined)} -> ${result.peer.ratioRunc.toFixed(3)}x; lab with Docker's profile ${result.peer.ratioLabDockerProfile.toFixed(3)}x; lab default's ratio / runc's ${result.peer.ratioDefaultVsRunc.toFixed(3)}`)
console.log(`seccomp: for comparison, a file I/O loop (open, 4 KiB read, close): default ${f(ns.filesDefault)} ns per call, unconfined ${f(ns.filesUnconfined)} -> ${result.fileLoop.ratioDefault.toFixed(3)}x`)
const d = startDefault - startNone
console.log(`seccomp: start-up: default profile ${f(startDefault)} ms, unconfined ${f(startNone)} ms (${d >= 0 ? '+' : ''}${f(d)} ms)`)
