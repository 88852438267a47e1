// Writes V8's code cache for a bundled path (see bin/fast-start.cjs): `sandbox-run` (the
// default) or `ci`. As root it first runs the path in-process — `lab sandbox run -- true`,
// or `lab ci` on a 1-step workflow in a scratch repository with a scratch state
// directory — so the functions a run uses are compiled and cached too; elsewhere the cache
// covers what loading compiles.
'use strict'
const {mkdirSync, mkdtempSync, rmSync, writeFileSync} = require('node:fs')
const {tmpdir} = require('node:os')
const {join} = require('node:path')
const {load, cachePath} = require('../bin/fast-start.cjs')

const name = process.argv[2] ?? 'sandbox-run'
rmSync(cachePath(name), {force: true})
let scratch
if (name === 'ci') {
  // before loading: the state directory is read when the modules load
  scratch = mkdtempSync(join(tmpdir(), 'lab-code-cache-'))
  process.env.LAB_STATE_DIR = join(scratch, 'state')
}
const bundle = load(name)
if (!bundle) {
  console.error(`lab build: the ${name} bundle is missing or older than its compiled entry`)
  process.exit(1)
}
const save = () => {
  writeFileSync(cachePath(name), bundle.__script.createCachedData())
  if (scratch) rmSync(scratch, {recursive: true, force: true})
  // the CI path keeps its helper server: nothing else is left to wait for
  process.exit(0)
}
if (process.getuid?.() !== 0) save()
else if (name === 'ci') {
  const repo = join(scratch, 'repo')
  mkdirSync(join(repo, '.github', 'workflows'), {recursive: true})
  writeFileSync(join(repo, '.github', 'workflows', 'warm.yml'), 'on: push\njobs:\n  warm:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo warm\n')
  bundle.ciFast([join(repo, '.github', 'workflows', 'warm.yml'), '--quiet']).then(save, save)
} else bundle.sandboxRun(['--', 'true']).then(save, save)
