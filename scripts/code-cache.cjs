// Writes V8's code cache for the bundled run path (see bin/fast-start.cjs). As root it
// first runs `lab sandbox run -- true` in-process, so the functions a run uses are
// compiled and cached too; elsewhere the cache covers what loading compiles.
'use strict'
const {writeFileSync, rmSync} = require('node:fs')
const {load, CACHE} = require('../bin/fast-start.cjs')

rmSync(CACHE, {force: true})
const bundle = load()
if (!bundle) {
  console.error('lab build: the run bundle is missing or older than dist/cli/sandbox-run.js')
  process.exit(1)
}
const save = () => writeFileSync(CACHE, bundle.__script.createCachedData())
if (process.getuid?.() === 0) {
  bundle.sandboxRun(['--', 'true']).then(save, save)
} else {
  save()
}
