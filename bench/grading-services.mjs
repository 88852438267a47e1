#!/usr/bin/env node
// Grading services, measured against a peer in the same session, inside a network namespace
// this benchmark makes (and removes): `lab grade` of one submission with 4 client tests,
// each beside a student's web server on a private network of its own (create the network,
// start the server, wait for its port, run the client, remove both), vs the same 4 tests
// with no services and no network. The ratio is what a private network and a service cost
// a test. Needs root, hyperfine, busybox. Writes bench/results/grading-services.json.
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hyperfine, need, report, ROOT} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
need('busybox', 'apt-get install busybox-static')
if (process.getuid() !== 0) {
  console.error('bench: grading-services needs root (bridged networks)')
  process.exit(2)
}
const NS = `labbench-gs-${process.pid}`
const dir = mkdtempSync(join(tmpdir(), 'lbgs-'))
const state = join(dir, 'state')
mkdirSync(state)
const LAB = join(ROOT, 'bin', 'run.js')
const TESTS = 4
const GET = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 server 8080 | busybox tail -n 1`
const tests = (services) => Array.from({length: TESTS}, (_, i) => `  - {name: t${i}, points: 1, ${services ? '' : 'services: [], '}run: ${JSON.stringify(services ? GET : 'echo hello')}, checks: [{stdout: {equals: hello}}]}`).join('\n')
const head = `title: bench\nservices:\n  - {name: server, run: "mkdir -p /tmp/w && echo hello > /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w", ready: {port: 8080}}\ntests:\n`
writeFileSync(join(dir, 'with.yaml'), head + tests(true) + '\n')
writeFileSync(join(dir, 'without.yaml'), head + tests(false) + '\n')
mkdirSync(join(dir, 'sub'))
writeFileSync(join(dir, 'sub', 'README'), 'a submission\n')

execFileSync('ip', ['netns', 'add', NS])
try {
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
  const cmd = (spec) => `env LAB_STATE_DIR=${state} nsenter --net=/run/netns/${NS} ${process.execPath} ${LAB} grade ${join(dir, spec)} ${join(dir, 'sub')} --jobs 2 --json`
  const means = hyperfine('grading-services', {'4 tests beside a service': cmd('with.yaml'), '4 tests, no network': cmd('without.yaml')}, {runs: Number(process.env.BENCH_RUNS ?? 5), warmup: 1})
  const ratio = means['4 tests beside a service'] / means['4 tests, no network']
  report('grading-services', means, [{what: 'services / no network', ratio}], {perTestServiceMs: ((means['4 tests beside a service'] - means['4 tests, no network']) / TESTS) * 1000, jobs: 2})
} finally {
  execFileSync('ip', ['netns', 'del', NS])
  rmSync(dir, {recursive: true, force: true})
}
