// Start-up of a fully hardened sandbox, measured against peers in the same session:
//   helper alone (/bin/true, full default hardening) vs bwrap --unshare-all and bare unshare
//   `lab sandbox run -- true` end to end vs `node -e 0`
// Targets: helper ≤ 1.0× bwrap (issue 2), still with user namespace and an idmapped
// volume (issue 5); end to end ≤ 1.6× node -e 0.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hyperfine, need, ROOT, report} from './lib.mjs'

const {buildSpec} = await import(join(ROOT, 'dist/sandbox/build-spec.js'))
const {buildPlan, serializePlan} = await import(join(ROOT, 'dist/sandbox/plan.js'))
const {HELPER_PATH} = await import(join(ROOT, 'dist/sandbox/helper.js'))

need('hyperfine', 'apt-get install hyperfine')
need('bwrap', 'apt-get install bubblewrap')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-'))
process.on('exit', () => rmSync(work, {recursive: true, force: true}))
const runner = join(work, 'plan-runner')
// linked statically like the helper, so the driver adds no dynamic loader of its own
try {
  execFileSync('cc', ['-O2', '-static', '-o', runner, join(ROOT, 'bench/plan-runner.c')], {stdio: 'ignore'})
} catch {
  execFileSync('cc', ['-O2', '-o', runner, join(ROOT, 'bench/plan-runner.c')])
}
async function planFor(name, req) {
  const file = join(work, `${name}.plan`)
  writeFileSync(file, serializePlan(buildPlan(await buildSpec({command: ['/bin/true'], ...req}))))
  return file
}
const planFile = await planFor('default', {})
// bwrap runs no seccomp filter by default; give it ours (it takes a compiled BPF on a
// fd) to compare equal work. A shell opens the fd, so its own cost is measured too.
const filter = (await buildSpec({command: ['/bin/true']})).seccomp.bpfPath
const noUserns = await planFor('userns-host', {userns: 'host'})
const vol = join(work, 'vol')
execFileSync('mkdir', ['-p', vol])
execFileSync('chown', ['1234:1234', vol])
const withIdmap = await planFor('idmap', {volumes: [`${vol}:/data`]})

// bwrap with the same layout: system dirs read-only, /proc, minimal /dev, /tmp tmpfs,
// every namespace, no capabilities, new session.
const bwrap = [
  'bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL --hostname bench',
  '--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64',
  '--ro-bind /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev --tmpfs /tmp /bin/true',
].join(' ')

const r = hyperfine('startup', {
  helper: `${runner} ${HELPER_PATH} ${planFile}`,
  'helper, --userns=host': `${runner} ${HELPER_PATH} ${noUserns}`,
  'helper + idmapped volume': `${runner} ${HELPER_PATH} ${withIdmap}`,
  bwrap,
  'bwrap + our seccomp filter': `/bin/sh -c '${bwrap.replace(' /bin/true', ' --seccomp 9 /bin/true')} 9<${filter}'`,
  'sh -c true': `/bin/sh -c true`,
  unshare: 'unshare --pid --fork --mount --uts --ipc --net --cgroup --mount-proc /bin/true',
  'lab sandbox run': `${join(ROOT, 'bin/run.js')} sandbox run -- /bin/true`,
  'node -e 0': `${process.execPath} -e 0`,
})
report('startup', r, [
  {what: 'helper / bwrap', ratio: r.helper / r.bwrap, target: 1.0},
  // the same filter in both: the helper's extra set-up (a synthesized /etc, masked
  // /proc paths, /sys, /dev/shm, mqueue, an id range) against bwrap's
  {what: 'helper / bwrap, same filter', ratio: r.helper / (r['bwrap + our seccomp filter'] - r['sh -c true'])},
  {what: 'helper / unshare', ratio: r.helper / r.unshare},
  {what: 'user namespace cost', ratio: r.helper / r['helper, --userns=host']},
  {what: 'helper + idmap / bwrap', ratio: r['helper + idmapped volume'] / r.bwrap, target: 1.0},
  {what: 'lab sandbox run / node -e 0', ratio: r['lab sandbox run'] / r['node -e 0'], target: 1.6},
])
