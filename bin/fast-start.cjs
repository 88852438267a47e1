// `lab sandbox run`'s fast start. scripts/build.mjs bundles the run path (dist/cli/
// sandbox-run.js and what it imports, 60-odd modules) into one file, dist/run/sandbox-run.cjs,
// and saves V8's compiled code for it beside it (.cache). Loading that is one read and no
// compilation, where the module tree costs a resolve, a read and a compile per file.
// Returns the bundle's exports, or null when there is no bundle or it is older than the
// compiled TypeScript (a `tsc` without the rest of the build): the caller then imports
// the modules themselves (as with LAB_NO_FAST_START=1). A cache V8 rejects (another
// node) only costs the compile.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')

const dist = path.join(__dirname, '..', 'dist')
const BUNDLE = path.join(dist, 'run', 'sandbox-run.cjs')
const CACHE = `${BUNDLE}.cache`

function load() {
  if (process.env.LAB_NO_FAST_START) return null
  let src
  try {
    if (fs.statSync(BUNDLE).mtimeMs < fs.statSync(path.join(dist, 'cli', 'sandbox-run.js')).mtimeMs) return null
    src = fs.readFileSync(BUNDLE, 'latin1') // ASCII only (scripts/build.mjs): no decoding
  } catch {
    return null
  }
  let cachedData
  try {
    cachedData = fs.readFileSync(CACHE)
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script(Module.wrap(src), {filename: BUNDLE, cachedData})
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(BUNDLE), mod, BUNDLE, path.dirname(BUNDLE))
  mod.exports.__script = script
  return mod.exports
}

module.exports = {load, BUNDLE, CACHE}
