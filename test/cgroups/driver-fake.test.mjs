// The cgroup driver against fake cgroup trees in a temp dir: detection of every layout,
// and exactly what each backend writes for a set of limits (as youki tests its cgroups).
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {detectCgroups} from '../../dist/sandbox/cgroups/detect.js'
import {createSandboxCgroup, driverForLayout, sweepStaleCgroups} from '../../dist/sandbox/cgroups/index.js'
import {CgroupV1Driver} from '../../dist/sandbox/cgroups/v1.js'
import {blkioToIoWeight, CgroupV2Driver, sharesToWeight} from '../../dist/sandbox/cgroups/v2.js'
import {DEFAULT_LIMITS, parseLimits} from '../../dist/sandbox/limits.js'

const t = suite('cgroups: driver on a fake cgroupfs')

const ID = 'a'.repeat(64)
const ID2 = 'b'.repeat(64)

function tree(files) {
  const root = mkdtempSync(join(tmpdir(), 'lab-fakecg-'))
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), {recursive: true})
    if (content === null) mkdirSync(join(root, p), {recursive: true})
    else writeFileSync(join(root, p), content)
  }
  return root
}
const read = (root, p) => readFileSync(join(root, p), 'utf8')
/** A fake group dir holds the files the driver wrote; a real one empties itself on rmdir. */
function emptyDir(dir) {
  for (const f of readdirSync(dir)) unlinkSync(join(dir, f))
}

t('detect: pure v2 (cgroup.controllers at the root)', () => {
  const root = tree({'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n', 'cgroup.procs': ''})
  const l = detectCgroups(root)
  assert.is(l.mode, 'v2')
  assert.is(l.unified, root)
  assert.equal(l.v2Controllers, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'])
  const d = driverForLayout(l)
  assert.is(d.version, 'v2')
  assert.equal([...d.controllers].sort(), ['cpu', 'cpuset', 'io', 'memory', 'pids'])
  rmSync(root, {recursive: true})
})

t('detect: v1 with co-mounted cpu,cpuacct behind symlinks and a name=systemd hierarchy', () => {
  const root = tree({'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'cpu,cpuacct/cgroup.procs': '', 'freezer/cgroup.procs': '', 'systemd/cgroup.procs': ''})
  symlinkSync('cpu,cpuacct', join(root, 'cpu'))
  symlinkSync('cpu,cpuacct', join(root, 'cpuacct'))
  const l = detectCgroups(root)
  assert.is(l.mode, 'v1')
  assert.is(l.v1.cpu, join(root, 'cpu,cpuacct'))
  assert.is(l.v1.cpuacct, join(root, 'cpu,cpuacct'))
  assert.is(l.v1.memory, join(root, 'memory'))
  assert.not.ok('systemd' in l.v1, 'a named hierarchy has no controller')
  assert.is(driverForLayout(l).version, 'v1')
  rmSync(root, {recursive: true})
})

t('detect: hybrid (v1 controllers + an empty unified mount) uses the v1 hierarchies', () => {
  const root = tree({'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'unified/cgroup.controllers': '\n', 'unified/cgroup.procs': ''})
  const l = detectCgroups(root)
  assert.is(l.mode, 'hybrid')
  assert.is(l.unified, join(root, 'unified'))
  assert.is(driverForLayout(l).version, 'v1')
  rmSync(root, {recursive: true})
})

t('detect: nothing mounted → none, and no driver', () => {
  const root = tree({'README': 'not a cgroup'})
  assert.is(detectCgroups(root).mode, 'none')
  assert.is(driverForLayout(detectCgroups(root)), null)
  assert.is(detectCgroups(join(root, 'missing')).mode, 'none')
  rmSync(root, {recursive: true})
})

t('v2: enables controllers down to lab/ and writes every limit in v2 terms', async () => {
  const root = tree({
    'cgroup.controllers': 'cpuset cpu io memory pids\n',
    'cgroup.subtree_control': 'memory\n',
    // files the kernel would create in lab/ when it is made
    'lab/memory.swap.max': 'max\n',
    'lab/cgroup.kill': '',
    'lab/io.weight': 'default 100\n',
  })
  const d = new CgroupV2Driver(root, ['cpuset', 'cpu', 'io', 'memory', 'pids'])
  const limits = {...parseLimits({memory: '64m', cpus: '0.5', cpuShares: '512', cpusetCpus: '0', pidsLimit: '100', blkioWeight: '500'}),
    deviceThrottle: [{path: '/dev/fake', major: 8, minor: 0, kind: 'rbps', rate: 1048576}, {path: '/dev/fake', major: 8, minor: 0, kind: 'wiops', rate: 100}]}
  const g = await d.create(ID, limits)
  const dir = join(root, 'lab', ID)
  assert.equal(g.procsFiles, [join(dir, 'cgroup.procs')])
  // only the missing controllers are enabled at the root; all at lab/
  assert.is(read(root, 'cgroup.subtree_control'), '+cpuset +cpu +io +pids')
  assert.is(read(root, 'lab/cgroup.subtree_control'), '+cpuset +cpu +io +memory +pids')
  assert.is(read(dir, 'memory.max'), String(64 * 1024 * 1024))
  assert.is(read(dir, 'memory.swap.max'), '0', 'no swap beyond --memory (no nsjail-style bypass)')
  assert.is(read(dir, 'pids.max'), '100')
  assert.is(read(dir, 'cpu.max'), '50000 100000')
  assert.is(read(dir, 'cpu.weight'), String(sharesToWeight(512)))
  assert.is(read(dir, 'cpuset.cpus'), '0')
  assert.is(read(dir, 'io.weight'), `default ${blkioToIoWeight(500)}`)
  assert.is(read(dir, 'io.max'), '8:0 rbps=1048576 wiops=100', 'one line per device with all its keys')
  assert.is(sharesToWeight(1024), 39)
  assert.is(blkioToIoWeight(10), 1)
  assert.is(blkioToIoWeight(1000), 10000)

  // --memory-swap adds swap on top of RAM; -1 lifts it
  const g2 = await d.create(ID2, parseLimits({memory: '64m', memorySwap: '96m'}))
  assert.is(read(join(root, 'lab', ID2), 'memory.swap.max'), String(32 * 1024 * 1024))
  emptyDir(g2.paths[0])
  await g2.remove()

  // accounting as the kernel reports it
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n')
  writeFileSync(join(dir, 'memory.peak'), '4096000\n')
  writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n')
  writeFileSync(join(dir, 'pids.peak'), '42\n')
  writeFileSync(join(dir, 'pids.events'), 'max 3\n')
  assert.is(await g.cpuUsageUs(), 1500)
  const s = await g.stats()
  assert.equal(s, {cpuUserUs: 1000, cpuSystemUs: 500, memoryPeakBytes: 4096000, oomKills: 2, memoryLimitHits: 7, pidsPeak: 42, pidsLimitHits: 3, swapBounded: true})

  // an empty group is not killed again; a populated one gets cgroup.kill
  writeFileSync(join(dir, 'cgroup.events'), 'populated 0\nfrozen 0\n')
  await g.killAll()
  assert.not.ok(existsSync(join(dir, 'cgroup.kill')))
  writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n')
  await g.killAll()
  assert.is(read(dir, 'cgroup.kill'), '1')
  emptyDir(dir)
  await g.remove()
  assert.not.ok(existsSync(dir))
  await g.remove() // already gone: fine
  rmSync(root, {recursive: true})
})

t('v2: a limit whose controller the host lacks is a usage error', async () => {
  const root = tree({'cgroup.controllers': 'memory pids\n', 'cgroup.subtree_control': ''})
  const d = new CgroupV2Driver(root, ['memory', 'pids'])
  const err = await d.create(ID, parseLimits({cpus: '1'})).then(() => null, (e) => e)
  assert.match(err?.message ?? '', /no "cpu" controller, which --cpus\/--cpu-shares needs/)
  assert.not.ok(existsSync(join(root, 'lab', ID)))
  rmSync(root, {recursive: true})
})

t('v1: one group per hierarchy, memsw equal to the limit, quota on cpu, freeze-and-kill files', async () => {
  const root = tree({
    'memory/cgroup.procs': '', 'memory/memory.memsw.limit_in_bytes': '', 'pids/cgroup.procs': '',
    'cpuacct/cgroup.procs': '', 'cpuacct/cpuacct.usage_user': '', 'freezer/cgroup.procs': '', 'cpu/cgroup.procs': '',
    'cpuset/cgroup.procs': '', 'cpuset/cpuset.cpus': '0-1\n', 'cpuset/cpuset.mems': '0\n', 'blkio/cgroup.procs': '', 'blkio/blkio.weight': '500\n',
  })
  const d = new CgroupV1Driver(detectCgroups(root).v1)
  const g = await d.create(ID, parseLimits({memory: '64m', pidsLimit: '50', cpus: '1.5', cpusetCpus: '1', blkioWeight: '300'}))
  const at = (c, f) => read(root, join(c, 'lab', ID, f))
  assert.is(at('memory', 'memory.limit_in_bytes'), String(64 << 20))
  assert.is(at('memory', 'memory.memsw.limit_in_bytes'), String(64 << 20), 'memory+swap capped at the memory limit')
  assert.is(at('pids', 'pids.max'), '50')
  assert.is(at('cpu', 'cpu.cfs_quota_us'), '150000')
  assert.not.ok(existsSync(join(root, 'cpu/lab', ID, 'cpu.cfs_period_us')), 'the period stays the kernel default of 100 ms')
  assert.is(at('cpuset', 'cpuset.cpus'), '1')
  assert.is(at('blkio', 'blkio.weight'), '300')
  // lab/ in cpuset got the root's CPUs and memory nodes, and children copy them
  assert.is(read(root, 'cpuset/lab/cpuset.cpus'), '0-1')
  assert.is(read(root, 'cpuset/lab/cpuset.mems'), '0')
  assert.is(read(root, 'cpuset/lab/cgroup.clone_children'), '1')
  assert.equal(g.procsFiles.map((p) => p.slice(root.length + 1)).sort(),
    ['blkio', 'cpu', 'cpuacct', 'cpuset', 'freezer', 'memory', 'pids'].map((c) => `${c}/lab/${ID}/cgroup.procs`))

  writeFileSync(join(root, 'cpuacct/lab', ID, 'cpuacct.usage'), '2500000\n')
  writeFileSync(join(root, 'cpuacct/lab', ID, 'cpuacct.usage_user'), '2000000\n')
  writeFileSync(join(root, 'cpuacct/lab', ID, 'cpuacct.usage_sys'), '500000\n')
  writeFileSync(join(root, 'memory/lab', ID, 'memory.max_usage_in_bytes'), '1234567\n')
  writeFileSync(join(root, 'memory/lab', ID, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n')
  writeFileSync(join(root, 'memory/lab', ID, 'memory.failcnt'), '9\n')
  writeFileSync(join(root, 'pids/lab', ID, 'pids.events'), 'max 4\n')
  assert.is(await g.cpuUsageUs(), 2500)
  assert.equal(await g.stats(), {cpuUserUs: 2000, cpuSystemUs: 500, memoryPeakBytes: 1234567, oomKills: 1, memoryLimitHits: 9, pidsPeak: null, pidsLimitHits: 4, swapBounded: true})

  await g.killAll() // empty: nothing to freeze
  assert.not.ok(existsSync(join(root, 'freezer/lab', ID, 'freezer.state')))
  for (const p of g.paths) emptyDir(p)
  await g.remove()
  for (const p of g.paths) assert.not.ok(existsSync(p))
  rmSync(root, {recursive: true})
})

t('v1: a lean group skips freezer and cpuacct, unless cpuacct is co-mounted with cpu', async () => {
  const separate = tree({'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'cpuacct/cgroup.procs': '', 'freezer/cgroup.procs': '', 'cpu/cgroup.procs': ''})
  const d = new CgroupV1Driver(detectCgroups(separate).v1)
  const lean = await d.create(ID, parseLimits({memory: '64m', cpus: '1'}), {lean: true})
  assert.equal(lean.paths.map((p) => p.slice(separate.length + 1)).sort(), ['cpu', 'memory', 'pids'].map((c) => `${c}/lab/${ID}`))
  assert.not.ok(existsSync(join(separate, 'freezer/lab', ID)))
  assert.not.ok(existsSync(join(separate, 'cpuacct/lab', ID)))
  assert.is(lean.cpuAccounting, false, 'the engine then takes CPU time from the helper')
  const full = await d.create(ID2, parseLimits({memory: '64m'}))
  assert.is(full.paths.length, 4)
  assert.is(full.cpuAccounting, true)
  rmSync(separate, {recursive: true})

  const comounted = tree({'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'cpu,cpuacct/cgroup.procs': '', 'freezer/cgroup.procs': ''})
  symlinkSync('cpu,cpuacct', join(comounted, 'cpu'))
  symlinkSync('cpu,cpuacct', join(comounted, 'cpuacct'))
  const d2 = new CgroupV1Driver(detectCgroups(comounted).v1)
  const withCpu = await d2.create(ID, parseLimits({cpus: '1'}), {lean: true})
  assert.is(withCpu.cpuAccounting, true, 'cpuacct shares the cpu group it needs anyway')
  assert.not.ok(existsSync(join(comounted, 'freezer/lab', ID)))
  const noCpu = await d2.create(ID2, DEFAULT_LIMITS, {lean: true})
  assert.is(noCpu.cpuAccounting, false)
  rmSync(comounted, {recursive: true})
})

t('v1: without swap accounting, swappiness 0 keeps the group out of swap', async () => {
  const root = tree({'memory/cgroup.procs': '', 'pids/cgroup.procs': ''})
  const d = new CgroupV1Driver(detectCgroups(root).v1)
  const g = await d.create(ID, DEFAULT_LIMITS)
  assert.is(read(root, `memory/lab/${ID}/memory.swappiness`), '0')
  assert.not.ok(existsSync(join(root, `memory/lab/${ID}/memory.memsw.limit_in_bytes`)))
  rmSync(root, {recursive: true})
})

t('sweep: removes groups whose owner died or is unknown, keeps live ones', async () => {
  const root = tree({'cgroup.controllers': 'memory pids\n', 'cgroup.subtree_control': 'memory pids\n', 'lab/cgroup.subtree_control': 'memory pids\n'})
  const ownerDir = mkdtempSync(join(tmpdir(), 'lab-owners-'))
  const dead = 'c'.repeat(64)
  const orphan = 'd'.repeat(64)
  mkdirSync(join(root, 'lab', dead))
  writeFileSync(join(ownerDir, dead), '999999999 12345\n') // no such process
  mkdirSync(join(root, 'lab', orphan)) // no record at all
  const live = await createSandboxCgroup(ID, DEFAULT_LIMITS, {root, ownerDir})
  assert.match(readFileSync(join(ownerDir, ID), 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`))
  // createSandboxCgroup swept first
  assert.not.ok(existsSync(join(root, 'lab', dead)))
  assert.not.ok(existsSync(join(ownerDir, dead)))
  assert.not.ok(existsSync(join(root, 'lab', orphan)))
  const report = await sweepStaleCgroups({root, ownerDir})
  assert.equal(report, {removed: [], kept: [ID], failed: []})
  emptyDir(live.paths[0])
  await live.remove()
  assert.not.ok(existsSync(join(ownerDir, ID)), 'the owner record goes with the group')
  rmSync(root, {recursive: true})
  rmSync(ownerDir, {recursive: true})
})

t('limits: defaults, Docker semantics and bad values', () => {
  assert.equal(parseLimits({}), DEFAULT_LIMITS)
  assert.is(DEFAULT_LIMITS.memorySwapBytes, DEFAULT_LIMITS.memoryBytes, 'no swap by default')
  assert.ok(DEFAULT_LIMITS.pids > 0)
  const l = parseLimits({memory: '1g', memorySwap: '-1', pidsLimit: '-1', cpuTime: '1m30s', outputLimit: '1m'})
  assert.is(l.memoryBytes, 1024 ** 3)
  assert.is(l.memorySwapBytes, -1)
  assert.is(l.pids, null)
  assert.is(l.cpuTimeMs, 90_000)
  assert.is(l.outputBytes, 1024 * 1024)
  for (const [req, re] of [
    [{memory: '12qb'}, /invalid size "12qb" for --memory/],
    [{memory: '-5'}, /invalid size "-5" for --memory/],
    [{memory: '1m'}, /too small/],
    [{cpus: '0'}, /invalid --cpus "0"/],
    [{cpus: '-1'}, /invalid --cpus/],
    [{cpus: '999'}, /invalid --cpus/],
    [{pidsLimit: '-7'}, /invalid --pids-limit/],
    [{pidsLimit: '0'}, /invalid --pids-limit/],
    [{cpuShares: '1'}, /invalid --cpu-shares/],
    [{blkioWeight: '5'}, /invalid --blkio-weight/],
    [{cpusetCpus: '0-'}, /invalid --cpuset-cpus/],
    [{cpusetCpus: '4096'}, /does not exist/],
    [{memory: '64m', memorySwap: '32m'}, /below --memory/],
    [{cpuTime: '0s'}, /must be more than 0/],
    [{outputLimit: 'lots'}, /invalid size "lots" for --output-limit/],
    [{deviceReadBps: ['/dev/null:1m']}, /not a block device/],
    [{deviceWriteIops: ['sda']}, /invalid --device-write-iops/],
  ]) {
    assert.throws(() => parseLimits(req), re, JSON.stringify(req))
  }
})

t.run()
