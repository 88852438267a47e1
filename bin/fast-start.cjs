// The fast start of lab's hot commands: `lab sandbox run` (every lab step, CI step and
// grading test starts a sandbox) and `lab ci` (a pipeline's fixed cost). scripts/build.mjs
// bundles each one's path (dist/cli/sandbox-run.js, dist/cli/ci.js and what they import)
// into one file, dist/run/NAME.cjs, and saves V8's compiled code for it beside it (.cache).
// Loading that is one read and no compilation, where the module tree costs a resolve, a
// read and a compile per file.
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
/** bundle name → the compiled entry it is made from */
const ENTRIES = {'sandbox-run': 'sandbox-run.js', ci: 'ci.js'}
const bundlePath = (name) => path.join(dist, 'run', `${name}.cjs`)
const cachePath = (name) => `${bundlePath(name)}.cache`
const BUNDLE = bundlePath('sandbox-run')
const CACHE = cachePath('sandbox-run')

function load(name = 'sandbox-run') {
  if (process.env.LAB_NO_FAST_START || !ENTRIES[name]) return null
  const bundle = bundlePath(name)
  let src
  try {
    if (fs.statSync(bundle).mtimeMs < fs.statSync(path.join(dist, 'cli', ENTRIES[name])).mtimeMs) return null
    src = fs.readFileSync(bundle, 'latin1') // ASCII only (scripts/build.mjs): no decoding
  } catch {
    return null
  }
  let cachedData
  try {
    cachedData = fs.readFileSync(cachePath(name))
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script(Module.wrap(src), {filename: bundle, cachedData})
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle))
  mod.exports.__script = script
  return mod.exports
}

module.exports = {load, bundlePath, cachePath, ENTRIES, BUNDLE, CACHE}
