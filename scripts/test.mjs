#!/usr/bin/env node
// Runs the uvu suites (test/**/*.test.mjs, or the directories/files given) one file per
// process so a crash in one cannot hide the others. The last line is the summary
// "N passed, N failed" (skips, if any, are counted on the line before). Exits non-zero
// when anything failed.
import {spawn, spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

if (!process.env.LAB_TEST_NO_BUILD) {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {cwd: root, stdio: 'inherit'})
  if (b.status !== 0) {
    console.log('0 passed, 1 failed')
    process.exit(1)
  }
}

function collect(p, out) {
  const st = statSync(p)
  if (st.isDirectory()) for (const n of readdirSync(p).sort()) collect(join(p, n), out)
  else if (p.endsWith('.test.mjs')) out.push(p)
  return out
}

const targets = process.argv.slice(2)
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(join(root, t), []))
const jobs = Math.max(1, Number(process.env.LAB_TEST_JOBS ?? 2))
let passed = 0
let failed = 0
let skipped = 0
const failures = []

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules', 'uvu', 'bin.js'), dirname(file), `^${file.split('/').pop().replace(/[.]/g, '\\.')}$`], {
      cwd: root,
      env: {...process.env, FORCE_COLOR: '0'},
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), Number(process.env.LAB_TEST_FILE_TIMEOUT ?? 300) * 1000)
    child.on('close', (code) => {
      clearTimeout(timer)
      const plain = out.replace(/\x1b\[[0-9;]*m/g, '') // uvu colours its summary even when piped
      const num = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(plain) ?? [])[1] ?? 0)
      const total = num('Total')
      const p = num('Passed')
      const s = num('Skipped')
      const name = relative(root, file)
      // a file that ran nothing failed to load, unless it skipped what it had on purpose
      if (code !== 0 || (total === 0 && s === 0)) {
        const f = Math.max(1, total - p - s)
        failed += f
        passed += p
        skipped += s
        failures.push(name)
        process.stdout.write(`FAIL ${name} (${p}/${total})\n${out}\n`)
      } else {
        passed += p
        skipped += s
        process.stdout.write(`ok   ${name} (${p} passed${s ? `, ${s} skipped` : ''})\n`)
        if (process.env.LAB_TEST_VERBOSE) process.stdout.write(out)
      }
      resolve()
    })
  })
}

const queue = [...files]
await Promise.all(
  Array.from({length: jobs}, async () => {
    while (queue.length) await runFile(queue.shift())
  }),
)
if (failures.length) console.log(`\nfailed files: ${failures.join(', ')}`)
if (skipped) console.log(`${skipped} skipped: tests needing what this host lacks (their names say what)`)
// the last line, as CI reads it
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
