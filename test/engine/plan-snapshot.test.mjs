// The helper's wire format, as review sees it: the encoded plan of a handful of requests
// (plain, volumes with idmap, a writable root with limits, an image root, detached under
// a supervisor, exec, cp) compared with test/engine/plan.snapshot. Host-dependent values are
// normalised (the host's system directories and /etc, the seccomp filter's path, the id
// pool, temporary paths), so the snapshot changes only when the plan does.
// LAB_UPDATE_SNAPSHOTS=1 rewrites it; the diff then shows the wire-format change.
import {chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {ROOT, rootTest} from '../helpers.mjs'
import {buildSpec} from '../../dist/sandbox/build-spec.js'
import {buildCopyPlan, buildExecPlan, buildPlan, serializePlan} from '../../dist/sandbox/plan.js'
import {SYSTEM_DIRS} from '../../dist/sandbox/rootfs.js'
import {importImage} from '../../dist/images/archive.js'
import {ImageStore} from '../../dist/images/store.js'
import {tarOf} from '../images/fixtures.mjs'
import {Readable} from 'node:stream'

const t = suite('engine: plan snapshot')
const SNAPSHOT = join(ROOT, 'test', 'engine', 'plan.snapshot')
const TMP = mkdtempSync(join(tmpdir(), 'lab-plan-'))
t.after(() => rmSync(TMP, {recursive: true, force: true}))

const CGROUP = {cgroupProcs: ['/sys/fs/cgroup/lab/ID/cgroup.procs'], cgroupOwnerRecord: '/run/lab/cgroup-owners/ID', cgroupStatFiles: ['/sys/fs/cgroup/lab/ID/memory.events'], cgroupFinish: true}
const TARGET = {pid: 4242, start: 987654}

/** Host-dependent lines and tokens → stable markers. */
function normalise(plan) {
  const out = []
  let section = null
  for (const raw of plan.split('\n')) {
    let line = raw.split(TMP).join('<TMP>').replace(/ \/[^ ]*\.bpf$/, ' <SECCOMP-BPF>').replace(/^idpool (\S+) \d+ (\d+) \d+$/, 'idpool $1 <BASE> $2 <COUNT>')
    const [op, , dst] = line.split(' ')
    // the host's system directories (bound, or symlinks on a merged /usr), right after "root"
    const systemDir = ['bind', 'overlay', 'symlink'].includes(op) && SYSTEM_DIRS.includes(dst)
    // the host's /etc files under the synthesized /etc (an overlay or binds)
    const hostEtc = (['bind', 'symlink'].includes(op) && dst?.startsWith('/etc/') && section === 'etc') || (op === 'overlay' && dst === '/etc')
    if (systemDir || hostEtc) {
      const marker = systemDir ? '<host system directories>' : '<host /etc>'
      if (out.at(-1) !== marker) out.push(marker)
      continue
    }
    if (op === 'mkdir' && line.startsWith('mkdir /etc ')) section = 'etc'
    else if (op === 'proc') section = null
    out.push(line)
  }
  return out.join('\n')
}

async function plans() {
  const vol = join(TMP, 'vol')
  mkdirSync(vol)
  chownSync(vol, 1234, 1234)
  const fixed = {hostname: 'snap', name: 'snap'}
  const plain = await buildSpec({command: ['echo', 'hello world'], ...fixed})
  const volumes = await buildSpec({command: ['ls', '/data'], ...fixed, volumes: [`${vol}:/data`, `${vol}:/ro:ro`], tmpfs: ['/scratch:size=1m,mode=700'], workdir: '/data'})
  const limited = await buildSpec({command: ['sh', '-c', 'make'], ...fixed, readOnly: false, user: '1000:1000', env: ['A=b c'], capAdd: ['NET_RAW'], ulimit: ['nproc=10'], init: true, timeout: 2000, limits: {memory: 64 * 1024 * 1024, cpuTime: 1000}})
  const hostIds = await buildSpec({command: ['id'], ...fixed, userns: 'host', network: 'host'})
  const state = join(TMP, 'state')
  const layer = tarOf([{name: 'bin/', type: '5', mode: 0o755}, {name: 'bin/tool', data: Buffer.from('#!/bin/sh\n'), mode: 0o755}, {name: 'srv/', type: '5', mode: 0o755}])
  await importImage(new ImageStore(state), Readable.from([layer]), {tags: ['snap:v1'], changes: ['ENTRYPOINT ["/bin/tool"]', 'CMD ["--help"]', 'ENV MODE=image', 'WORKDIR /srv/app'], source: '-'})
  const image = await buildSpec({command: [], ...fixed, image: 'snap:v1', env: ['MODE=request']}, {stateDir: state})
  const cases = {
    plain: buildPlan(plain, CGROUP),
    'volumes (idmapped when writable)': buildPlan(volumes, CGROUP),
    'writable root, user, limits, -t': buildPlan(limited, {...CGROUP, tty: {rows: 24, cols: 80, stdin: true}}),
    '--userns=host --network host': buildPlan(hostIds, {...CGROUP, hostResolvConf: 'nameserver 127.0.0.1\n'}),
    'image root (idmapped layers, upper on the scratch tmpfs, the image\'s config)': buildPlan(image, CGROUP),
    'detached, joined namespaces, supervised': buildPlan(limited, {
      cgroupProcs: CGROUP.cgroupProcs,
      cgroupOwnerRecord: CGROUP.cgroupOwnerRecord,
      cgroupStatFiles: CGROUP.cgroupStatFiles,
      joins: [{kind: 'net', ...TARGET}, {kind: 'user', ...TARGET}],
      supervise: {
        runDir: '/run/lab/sandboxes/ID',
        log: {file: '/var/lib/lab/sandboxes/ID/log', maxBytes: 10485760, files: 2},
        restart: {name: 'on-failure', maximumRetryCount: 3},
        keepStdin: true,
        tty: {rows: 24, cols: 80},
        cpuTime: {ms: 1000, usageFile: '/sys/fs/cgroup/lab/ID/cpu.stat', cpus: 2},
        outputLimitBytes: 4096,
        caller: {pid: 100, start: 200},
        autoRemove: ['/run/lab/sandboxes/ID', '/var/lib/lab/sandboxes/ID'],
        names: {dir: '/var/lib/lab/names', id: 'ID'},
      },
    }),
    exec: buildExecPlan(limited, TARGET, {command: ['ps', '-ef'], uid: 0, gid: 0, env: {PATH: '/bin', X: 'y z'}, cwd: '/', cgroupProcs: CGROUP.cgroupProcs, tty: {rows: 30, cols: 100, stdin: true}}),
    'exec -d': buildExecPlan(plain, TARGET, {command: ['sleep', '9'], uid: 1000, gid: 1000, env: {}, cwd: '/tmp', cgroupProcs: [], background: true}),
    'cp out -L -a': buildCopyPlan(TARGET, 'out', '/srv/report.txt', {follow: true, archive: true}),
    'cp - into a directory': buildCopyPlan(TARGET, 'in', '/srv', {intoDir: true}),
  }
  return Object.entries(cases).map(([name, ops]) => `=== ${name}\n${normalise(serializePlan(ops))}`).join('\n')
}

rootTest(t, 'the encoded plans match test/engine/plan.snapshot', async () => {
  const now = await plans()
  if (process.env.LAB_UPDATE_SNAPSHOTS === '1') writeFileSync(SNAPSHOT, now)
  const want = readFileSync(SNAPSHOT, 'utf8')
  assert.fixture(now, want, 'the wire format changed: review the diff, then LAB_UPDATE_SNAPSHOTS=1 npm test -- test/engine/plan-snapshot.test.mjs')
})

t('every token is encoded as plan.c decodes it: spaces, percent signs, empty strings', () => {
  const plan = serializePlan([['env', 'A=b c%'], ['file', '/etc/x', '644', ''], ['exec', 'printf', '%s\n', 'ü']])
  assert.is(plan, 'env A=b%20c%25\nfile /etc/x 644 %\nexec printf %25s%0a %c3%bc\nend\n')
})

t.run()
