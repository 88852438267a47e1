#!/usr/bin/env -S node --
// lab's entry point. ("node --": node 20 would otherwise take our --env-file flag as its own.)
// `lab sandbox run` is the hot path (every lab step, CI step and
// grading test starts a sandbox), so it skips loading oclif; every other command and
// all help go through oclif.
const argv = process.argv.slice(2)

if (argv[0] === 'sandbox' && argv[1] === 'run') {
  // one bundled file with its compiled code cached (fast-start.cjs), else the modules
  const {createRequire} = await import('node:module')
  const {sandboxRun} = createRequire(import.meta.url)('./fast-start.cjs').load() ?? (await import('../dist/cli/sandbox-run.js'))
  const code = await sandboxRun(argv.slice(2))
  if (code !== 'help') {
    process.exitCode = code
  } else {
    const {execute} = await import('@oclif/core')
    await execute({dir: import.meta.url, args: ['sandbox', 'run', '--help']})
  }
} else if (argv[0] === 'build' && !argv.includes('--help') && !argv.includes('-h')) {
  // a fully cached rebuild is mostly start-up: oclif is loaded only for what it explains
  const {buildFast} = await import('../dist/cli/build.js')
  const code = await buildFast(argv.slice(1))
  if (code !== 'oclif') process.exitCode = code
  else {
    const {execute} = await import('@oclif/core')
    await execute({dir: import.meta.url})
  }
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
