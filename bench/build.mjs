// `lab build` against Debian's `buildah bud` (in the same session) of the same two-stage
// Dockerfile on the same busybox base: the first stage generates 200 files (a tree of
// "sources" and a tarball of them), the slim second stage copies them in with a script.
// No compiler is in the image, so the "build" is a generator; what is measured is the
// builder: a sandbox per RUN, a layer per step, the commit, the cache.
//   cold: every step run (lab --no-cache; buildah --layers --no-cache)
//   cached: an unchanged rebuild (lab; buildah --layers), all cache hits
// Targets (issue 19): cold ≤ 1.0×, cached ≤ 0.5× and under 0.5 s.
// buildah runs with --isolation chroot: its OCI runtimes (runc, crun) refuse this host's
// cgroups (hybrid mode), as in bench/image-start.mjs. Its storage is a temporary root.
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hyperfine, need, ROOT, report} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
need('buildah', 'apt-get install buildah')
need('busybox', 'apt-get install busybox-static')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-build-'))
const buildah = `buildah --root ${work}/buildah --runroot ${work}/buildah-run --storage-driver overlay`
process.on('exit', () => {
  spawnSync('sh', ['-c', `${buildah} rm --all; ${buildah} rmi --all --force`], {stdio: 'ignore'})
  spawnSync('sh', ['-c', `umount ${work}/buildah/overlay 2>/dev/null`], {stdio: 'ignore'})
  rmSync(work, {recursive: true, force: true})
})

// the base: a static busybox root, one layer, in both stores
const root = join(work, 'root')
mkdirSync(join(root, 'bin'), {recursive: true})
mkdirSync(join(root, 'etc'))
copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'))
for (const a of ['sh', 'mkdir', 'echo', 'cat', 'true', 'tar', 'ls', 'seq']) symlinkSync('busybox', join(root, 'bin', a))
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
const baseTar = join(work, 'base.tar')
execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', baseTar, '.'])
const state = join(work, 'state')
const env = {...process.env, LAB_STATE_DIR: state}
execFileSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'image', 'import', baseTar, 'localhost/bench-base:1'], {env, stdio: 'ignore'})
const ctr = execFileSync('sh', ['-c', `${buildah} from scratch`], {encoding: 'utf8'}).trim()
execFileSync('sh', ['-c', `${buildah} add ${ctr} ${baseTar} / && ${buildah} commit -q ${ctr} localhost/bench-base:1 && ${buildah} rm ${ctr}`], {stdio: 'ignore'})

const ctx = join(work, 'ctx')
mkdirSync(ctx)
writeFileSync(join(ctx, 'app.sh'), '#!/bin/sh\nls /srv/data | wc -l\n', {mode: 0o755})
writeFileSync(join(ctx, 'Dockerfile'), `FROM localhost/bench-base:1 AS gen
RUN mkdir -p /out/src && for i in $(seq 1 200); do echo "int f$i(void) { return $i; }" > /out/src/f$i.c; done && tar -C /out -cf /out/src.tar src
FROM localhost/bench-base:1
COPY --from=gen /out/ /srv/data/
COPY app.sh /srv/app.sh
CMD ["/srv/app.sh"]
`)

const lab = `${process.execPath} ${join(ROOT, 'bin', 'run.js')} build -q --state-dir ${state}`
const bud = `${buildah} bud --isolation chroot --layers -q`
// warm both caches once, so the cached runs below are all hits
execFileSync('sh', ['-c', `${lab} -t bench:1 ${ctx} && ${bud} -t bench:1 ${ctx}`], {stdio: 'ignore'})

const runs = Number(process.env.BENCH_RUNS ?? 5)
const cold = hyperfine('build-cold', {'lab build --no-cache': `${lab} --no-cache -t bench:1 ${ctx}`, 'buildah bud --no-cache': `${bud} --no-cache -t bench:1 ${ctx}`}, {runs, warmup: 1})
const warm = hyperfine('build-cached', {'lab build (cached)': `${lab} -t bench:1 ${ctx}`, 'buildah bud (cached)': `${bud} -t bench:1 ${ctx}`}, {runs: runs * 2, warmup: 1})
const means = {...cold, ...warm}
report('build', means, [
  {what: 'cold: lab / buildah', ratio: cold['lab build --no-cache'] / cold['buildah bud --no-cache'], target: 1.0},
  {what: 'cached: lab / buildah', ratio: warm['lab build (cached)'] / warm['buildah bud (cached)'], target: 0.5},
], {cachedUnderHalfSecond: warm['lab build (cached)'] < 0.5})
