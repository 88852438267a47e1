#!/usr/bin/env node
// Image pull benchmark: a 3-layer image of about 50 MB (incompressible layers) from a local
// registry (Debian's docker-registry on 127.0.0.1), fetched into an empty store by
// `lab image pull` — downloads in parallel, digests verified, layers unpacked hardened —
// against the peer doing the same work, `skopeo copy` to an OCI layout then `umoci unpack`
// (podman cannot run here). Then a second image sharing two of the three layers: only the
// new layer is fetched. Writes bench/results/images.json.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'

import {ociLayout, tarOf} from '../test/images/fixtures.mjs'
import {skopeoPush, startRegistry} from '../test/images/registry.mjs'
import {hyperfine, need, report, ROOT} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
need('docker-registry', 'apt-get install docker-registry')
need('skopeo', 'apt-get install skopeo')
need('umoci', 'apt-get install umoci')

const LAB = join(ROOT, 'bin', 'run.js')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-images-'))
const runs = Number(process.env.BENCH_RUNS ?? 5)
const reg = await startRegistry()
try {
  const layer = (name, mb) => tarOf([{name: `data/${name}`, data: randomBytes(mb << 20)}])
  const shared = [layer('a', 17), layer('b', 17)]
  ociLayout(join(work, 'big'), [...shared, layer('c', 16)])
  ociLayout(join(work, 'next'), [...shared, layer('d', 1)])
  await skopeoPush(`oci:${join(work, 'big')}:v1`, `${reg.host}/bench/big:v1`)
  await skopeoPush(`oci:${join(work, 'next')}:v1`, `${reg.host}/bench/next:v1`)
  const state = join(work, 'state')
  const peer = join(work, 'peer')
  const means = hyperfine('images', {
    'lab image pull': `sh -c 'rm -rf ${state} && LAB_STATE_DIR=${state} ${process.execPath} ${LAB} image pull -q ${reg.host}/bench/big:v1 >/dev/null'`,
    'skopeo copy + umoci unpack': `sh -c 'rm -rf ${peer} && mkdir ${peer} && skopeo copy -q --src-tls-verify=false docker://${reg.host}/bench/big:v1 oci:${peer}/layout:v1 && umoci unpack --image ${peer}/layout:v1 ${peer}/bundle >/dev/null'`,
  }, {runs, warmup: 1})
  // the second image: only its own layer is fetched
  const env = {...process.env, LAB_STATE_DIR: state}
  const second = JSON.parse(execFileSync(process.execPath, [LAB, 'image', 'pull', '--json', `${reg.host}/bench/next:v1`], {env, encoding: 'utf8'}))
  const fetched = second.layers.filter((l) => l.status === 'pulled').length
  console.log(`\n  second image: ${fetched} of ${second.layers.length} layers fetched`)
  report('images', means, [{what: 'pull: lab / skopeo+umoci', ratio: means['lab image pull'] / means['skopeo copy + umoci unpack'], target: 1.0}], {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    imageMiB: 50,
    layers: 3,
    secondPullLayersFetched: fetched,
    secondPullLayers: second.layers.length,
  })
} finally {
  await reg.stop()
  rmSync(work, {recursive: true, force: true})
}
