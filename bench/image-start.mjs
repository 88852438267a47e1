// Start-up of /bin/true in an image sandbox, measured against peers in the same session:
//   the helper on an image root (overlay of idmapped layers, upper on the scratch tmpfs)
//   vs the helper on the host's root, and vs crun on an OCI bundle of the same image.
// Targets (issue 18): image ≤ 1.15× host root; image ≤ 0.5× crun.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {hyperfine, need, ROOT, report} from './lib.mjs'

const {buildSpec} = await import(join(ROOT, 'dist/sandbox/build-spec.js'))
const {buildPlan, serializePlan} = await import(join(ROOT, 'dist/sandbox/plan.js'))
const {HELPER_PATH} = await import(join(ROOT, 'dist/sandbox/helper.js'))
const {importImage} = await import(join(ROOT, 'dist/images/archive.js'))
const {ImageStore} = await import(join(ROOT, 'dist/images/store.js'))

need('hyperfine', 'apt-get install hyperfine')
need('busybox', 'apt-get install busybox-static')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-img-'))
process.on('exit', () => rmSync(work, {recursive: true, force: true}))

const runner = join(work, 'plan-runner')
try {
  execFileSync('cc', ['-O2', '-static', '-o', runner, join(ROOT, 'bench/plan-runner.c')], {stdio: 'ignore'})
} catch {
  execFileSync('cc', ['-O2', '-o', runner, join(ROOT, 'bench/plan-runner.c')])
}

// the image: a static busybox root with /bin/true, imported as one layer
const rootDir = join(work, 'root')
mkdirSync(join(rootDir, 'bin'), {recursive: true})
mkdirSync(join(rootDir, 'etc'))
copyFileSync('/bin/busybox', join(rootDir, 'bin', 'busybox'))
for (const a of ['sh', 'true']) symlinkSync('busybox', join(rootDir, 'bin', a))
writeFileSync(join(rootDir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
const state = join(work, 'state')
const tarBytes = execFileSync('tar', ['-C', rootDir, '--numeric-owner', '-cf', '-', '.'], {maxBuffer: 64 << 20})
await importImage(new ImageStore(state), Readable.from([tarBytes]), {tags: ['bench/true:v1'], source: '-'})

async function planFor(name, req, opts) {
  const file = join(work, `${name}.plan`)
  writeFileSync(file, serializePlan(buildPlan(await buildSpec({command: ['/bin/true'], ...req}, opts))))
  return file
}
const hostPlan = await planFor('host', {})
const imagePlan = await planFor('image', {image: 'bench/true:v1'}, {stateDir: state})

const commands = {
  'helper, host root': `${runner} ${HELPER_PATH} ${hostPlan}`,
  'helper, image root': `${runner} ${HELPER_PATH} ${imagePlan}`,
}

// crun on an OCI bundle of the same image (its default spec: namespaces, a read-only
// root, its own /proc, /dev, /sys), if crun is installed
const hasCrun = spawnSync('sh', ['-c', 'command -v crun']).status === 0
if (hasCrun) {
  const bundle = join(work, 'bundle')
  mkdirSync(bundle)
  execFileSync('cp', ['-a', rootDir, join(bundle, 'rootfs')])
  execFileSync('crun', ['spec'], {cwd: bundle})
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
  spec.process.args = ['/bin/true']
  spec.process.terminal = false
  spec.root.readonly = true
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec))
  const cmd = `crun run --bundle ${bundle} lab-bench-image-${process.pid}`
  // crun refuses some hosts outright (e.g. cgroups in hybrid mode): then say why
  const probe = spawnSync('sh', ['-c', cmd], {encoding: 'utf8'})
  if (probe.status === 0) commands['crun run, same image'] = cmd
  else console.error(`bench: crun cannot run here (${(probe.stderr || '').trim().split('\n').pop()}): the crun comparison is left out`)
} else {
  console.error('bench: crun is not installed (apt-get install crun): the crun comparison is left out')
}

const r = hyperfine('image-start', commands)
const ratios = [{what: 'image root / host root', ratio: r['helper, image root'] / r['helper, host root'], target: 1.15}]
if (commands['crun run, same image']) ratios.push({what: 'image root / crun', ratio: r['helper, image root'] / r['crun run, same image'], target: 0.5})
report('image-start', r, ratios)
