#!/usr/bin/env node
// zstd image pull benchmark: a 3-layer image of about 48 MB of compressible text, pushed
// to a local registry (Debian's docker-registry on 127.0.0.1) by skopeo recompressed to
// zstd, fetched into an empty store by `lab image pull` (digests verified, the zstd
// walked and decoded by fzstd in JavaScript, layers unpacked hardened) against the peer
// doing the same work: `skopeo copy --dest-decompress` to a dir: (fetch, verify, Go's zstd)
// then GNU tar extracting each layer (umoci 0.4.7 does not read zstd layers).
// The same image as gzip, pulled by lab, shows what zstd costs lab over zlib.
// Writes bench/results/images-zstd.json.
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

const LAB = join(ROOT, 'bin', 'run.js')
const work = mkdtempSync(join(tmpdir(), 'lab-bench-zstd-'))
const runs = Number(process.env.BENCH_RUNS ?? 5)
const reg = await startRegistry()
try {
  // log-like text: repeated words with random ids, about 4:1 with zstd -3
  const text = (mb) => {
    const lines = []
    let n = 0
    while (n < mb << 20) {
      const l = `2026-01-02T03:04:05Z INFO request ${randomBytes(6).toString('hex')} served /course/${n % 97}/index.html in ${n % 1000} ms\n`
      lines.push(l)
      n += l.length
    }
    return Buffer.from(lines.join(''))
  }
  const layer = (name) => tarOf([{name: `data/${name}.log`, data: text(16)}])
  ociLayout(join(work, 'img'), [layer('a'), layer('b'), layer('c')])
  await skopeoPush(`oci:${join(work, 'img')}:v1`, `${reg.host}/bench/zstd:v1`, null, ['--dest-compress-format', 'zstd', '--dest-compress'])
  await skopeoPush(`oci:${join(work, 'img')}:v1`, `${reg.host}/bench/gzip:v1`)
  const state = join(work, 'state')
  const peer = join(work, 'peer')
  const pull = (ref) => `sh -c 'rm -rf ${state} && LAB_STATE_DIR=${state} ${process.execPath} ${LAB} image pull -q ${reg.host}/${ref} >/dev/null'`
  const means = hyperfine('images-zstd', {
    'lab image pull (zstd)': pull('bench/zstd:v1'),
    'skopeo copy + tar -x (zstd)': `sh -c 'rm -rf ${peer} && mkdir -p ${peer}/root && skopeo copy -q --src-tls-verify=false --dest-decompress docker://${reg.host}/bench/zstd:v1 dir:${peer}/dir && for f in $(find ${peer}/dir -type f -size +64k); do tar -C ${peer}/root -xf $f; done'`,
    'lab image pull (gzip)': pull('bench/gzip:v1'),
  }, {runs, warmup: 1})
  report('images-zstd', means, [
    {what: 'zstd pull: lab / skopeo+tar', ratio: means['lab image pull (zstd)'] / means['skopeo copy + tar -x (zstd)'], target: 1.0},
    {what: 'lab pull: zstd / gzip', ratio: means['lab image pull (zstd)'] / means['lab image pull (gzip)']},
  ], {cpus: cpus().length, cpuModel: cpus()[0]?.model, imageMiB: 48, layers: 3})
} finally {
  await reg.stop()
  rmSync(work, {recursive: true, force: true})
}
