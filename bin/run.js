#!/usr/bin/env -S node --
// lab's entry point. ("node --": node 20 would otherwise take our --env-file flag as its own.)
// CommonJS (bin/package.json), because node loads an ES module entry through its module
// loader, which costs a run about as much again as loading the whole run path below.
// `lab sandbox run` is the hot path (every lab step, CI step and grading test starts a
// sandbox), so it skips loading oclif, as do `lab build`, `lab image pull` and `lab ci` (src/cli/
// fast-argv.ts reads their argv); every other command, all help and any argv a fast path
// does not know go through oclif.
'use strict'
const argv = process.argv.slice(2)
const ROOT = require('node:path').join(__dirname, '..')

main().catch((err) => {
  process.stderr.write(`lab: ${err?.stack ?? err}\n`)
  process.exitCode = 1
})

async function main() {
  if (argv[0] === 'sandbox' && argv[1] === 'run') {
    // one bundled file with its compiled code cached (fast-start.cjs), else the modules
    const {sandboxRun} = require('./fast-start.cjs').load() ?? (await import('../dist/cli/sandbox-run.js'))
    const code = await sandboxRun(argv.slice(2))
    if (code !== 'help') process.exitCode = code
    else await oclif(['sandbox', 'run', '--help'])
  } else if (argv[0] === 'build' && !helpAsked(argv)) {
    // a fully cached rebuild is mostly start-up: oclif is loaded only for what it explains
    await fastOrOclif(async () => (await import('../dist/cli/build.js')).buildFast(argv.slice(1)))
  } else if (argv[0] === 'ci' && !helpAsked(argv)) {
    // a pipeline's fixed cost was a third oclif's, then mostly loading its modules: one
    // bundled file with its compiled code cached, as for sandbox run
    await fastOrOclif(async () => (require('./fast-start.cjs').load('ci') ?? (await import('../dist/cli/ci.js'))).ciFast(argv.slice(1)))
  } else if (argv[0] === 'image' && argv[1] === 'pull' && !helpAsked(argv)) {
    // start-up was a third of a pull of a small image
    await fastOrOclif(async () => (await import('../dist/cli/image-pull.js')).pullFast(argv.slice(2)))
  } else {
    await oclif()
  }
}

function helpAsked(args) {
  return args.includes('--help') || args.includes('-h')
}

async function oclif(args) {
  const {execute} = await import('@oclif/core')
  // the package root, not this folder: its package.json only makes this file CommonJS
  await execute({dir: ROOT, ...(args ? {args} : {})})
}

// a fast path reads the argv it knows and returns the exit code, or 'oclif' for the rest
async function fastOrOclif(run) {
  const code = await run()
  if (code !== 'oclif') process.exitCode = code
  else await oclif()
}
