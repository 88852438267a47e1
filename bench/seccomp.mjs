#!/usr/bin/env node
// Seccomp costs: a syscall-bound loop under the default profile vs unconfined (target:
// at most 1.10x), and sandbox start-up with the default profile vs without one.
// Prints a summary and writes bench/results/seccomp.json. Needs root and hyperfine.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const lab = join(root, 'bin', 'run.js')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-seccomp-'))
process.on('exit', () => rmSync(work, {recursive: true, force: true})) // also when a run fails
chmodSync(work, 0o755)

if (spawnSync('hyperfine', ['--version'], {stdio: 'ignore'}).status !== 0) {
  console.error('bench/seccomp: hyperfine is not installed (apt-get install hyperfine)')
  process.exit(1)
}

// getppid, fstat and a 1-byte read from /dev/zero: cheap calls, so the filter's share shows
writeFileSync(join(work, 'loop.c'), `
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  int fd = open("/dev/zero", O_RDONLY);
  char c; struct stat st;
  for (long i = 0; i < n; i++) { getppid(); fstat(fd, &st); if (read(fd, &c, 1) != 1) return 1; }
  return 0;
}`)
execFileSync('cc', ['-O2', '-o', join(work, 'loop'), join(work, 'loop.c')])
const ITER = process.env.SECCOMP_BENCH_ITER ?? '1000000'

function hyperfine(name, commands, runs) {
  const out = join(work, `${name}.json`)
  execFileSync('hyperfine', ['-N', '--warmup', '2', '--runs', String(runs), '--export-json', out, ...commands], {stdio: ['ignore', 'ignore', 'inherit']})
  return JSON.parse(readFileSync(out, 'utf8')).results.map((r) => ({command: r.command, meanMs: r.mean * 1000, stddevMs: r.stddev * 1000}))
}

// warm the BPF cache so start-up measures the cached path
execFileSync(process.execPath, [lab, 'sandbox', 'run', '--', 'true'])
const run = (opt) => `${process.execPath} ${lab} sandbox run -v ${work}:/b:ro --security-opt seccomp=${opt} -- /b/loop ${ITER}`
// The peer for "what does our filter cost": a filter that allows everything. Any filter
// at all moves every system call onto the kernel's slower seccomp entry path; the
// difference between that and our profile is what the profile itself costs.
const allowAll = join(work, 'allow-all.json')
writeFileSync(allowAll, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: []}))
const loop = hyperfine('loop', [run('default'), run('strict'), run('unconfined'), run(allowAll)], 10)
const start = hyperfine('start', [`${process.execPath} ${lab} sandbox run -- true`, `${process.execPath} ${lab} sandbox run --security-opt seccomp=unconfined -- true`], 30)

// the loop includes start-up; subtract it so the ratio is the syscalls' own
const startDefault = start[0].meanMs
const startNone = start[1].meanMs
const loopDefault = loop[0].meanMs - startDefault
const loopStrict = loop[1].meanMs - startDefault
const loopNone = loop[2].meanMs - startNone
const loopAllowAll = loop[3].meanMs - startDefault
const result = {
  date: new Date().toISOString(),
  iterations: Number(ITER),
  syscallsPerIteration: 3,
  loop: {defaultMs: loopDefault, strictMs: loopStrict, unconfinedMs: loopNone, allowAllFilterMs: loopAllowAll, ratioDefault: loopDefault / loopNone, ratioStrict: loopStrict / loopNone, ratioDefaultVsAllowAll: loopDefault / loopAllowAll, target: 1.1},
  startup: {defaultMs: startDefault, unconfinedMs: startNone, overheadMs: startDefault - startNone},
  raw: {loop, start},
}
mkdirSync(join(root, 'bench', 'results'), {recursive: true})
writeFileSync(join(root, 'bench', 'results', 'seccomp.json'), JSON.stringify(result, null, 2) + '\n')
rmSync(work, {recursive: true, force: true})
console.log(`seccomp: syscall loop (${ITER} x 3 calls): default ${loopDefault.toFixed(1)} ms, strict ${loopStrict.toFixed(1)} ms, unconfined ${loopNone.toFixed(1)} ms -> ${result.loop.ratioDefault.toFixed(3)}x (target <= 1.10x) ${result.loop.ratioDefault <= 1.1 ? 'ok' : 'MISSED'}`)
console.log(`seccomp: the profile's own cost: default ${loopDefault.toFixed(1)} ms vs an allow-everything filter ${loopAllowAll.toFixed(1)} ms -> ${result.loop.ratioDefaultVsAllowAll.toFixed(3)}x`)
console.log(`seccomp: start-up: default profile ${startDefault.toFixed(1)} ms, unconfined ${startNone.toFixed(1)} ms (+${(startDefault - startNone).toFixed(1)} ms)`)
