// Shared benchmark plumbing: hyperfine runs, ratios against peers, results as JSON.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const RESULTS = join(ROOT, 'bench', 'results')

export function need(cmd, install) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench: ${cmd} is missing (${install})`)
    process.exit(2)
  }
}

/** Runs hyperfine over named commands; returns name → mean seconds. */
export function hyperfine(name, commands, {runs = Number(process.env.BENCH_RUNS ?? 60), warmup = 5} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lab-hf-'))
  const out = join(dir, `${name}.json`)
  const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, '--style', 'basic']
  for (const [label, cmd] of Object.entries(commands)) args.push('-n', label, cmd)
  let data
  try {
    execFileSync('hyperfine', args, {stdio: ['ignore', 'inherit', 'inherit']})
    data = JSON.parse(readFileSync(out, 'utf8'))
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
  return Object.fromEntries(data.results.map((r) => [r.command, r.mean]))
}

/** Prints and stores ratios; a ratio above its target is flagged, not fatal. */
export function report(name, means, ratios, extra = {}) {
  mkdirSync(RESULTS, {recursive: true})
  console.log(`\n== ${name}`)
  for (const [k, v] of Object.entries(means)) console.log(`  ${k.padEnd(28)} ${(v * 1000).toFixed(2)} ms`)
  for (const r of ratios) {
    const verdict = r.target === undefined ? '' : r.ratio <= r.target ? `  (target ≤ ${r.target}: met)` : `  (target ≤ ${r.target}: MISSED)`
    console.log(`  ${r.what.padEnd(28)} ${r.ratio.toFixed(2)}×${verdict}`)
  }
  writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify({date: new Date().toISOString(), meansSeconds: means, ratios, ...extra}, null, 2) + '\n')
}

/** Runs job n times, parallel at a time (a batch's lanes); the seconds it took. */
export async function lanes(n, parallel, job) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({length: parallel}, async () => {
    while (next < n) {
      next++
      await job()
    }
  }))
  return (performance.now() - t0) / 1000
}
