// The start-up fast paths (bin/run.js: lab build, lab image pull) read only the argv
// they know; everything else goes to oclif, which explains it in one line.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {parseFastArgv} from '../../dist/cli/fast-argv.js'
import {lab} from '../helpers.mjs'

const t = suite('fast-path argv')
const spec = {strings: {'-t': 'tag', '--tag': 'tag', '--platform': 'platform'}, multiple: new Set(['tag']), booleans: {'-q': 'quiet', '--json': 'json'}, positionals: 1}

t('flags by every spelling, repeated ones collected, = and separate values, -- ends the flags', () => {
  assert.equal(parseFastArgv(['-t', 'a', '--tag=b', '-q', '--platform', 'linux/amd64', 'ctx'], spec), {positionals: ['ctx'], flags: {tag: ['a', 'b'], quiet: true, platform: 'linux/amd64'}, json: false})
  assert.equal(parseFastArgv(['--json', '--', '-odd-name'], spec), {positionals: ['-odd-name'], flags: {}, json: true})
})

t('what it does not know is left to oclif (null): unknown, repeated single, missing value, wrong count', () => {
  for (const argv of [['--bogus', 'x'], ['--platform', 'a', '--platform', 'b', 'x'], ['x', '--platform'], [], ['a', 'b'], ['-q=1', 'x']]) {
    assert.is(parseFastArgv(argv, spec), null, argv.join(' '))
  }
})

t('lab image pull: bad argv is explained by oclif, bad input by the command, each in one line', async () => {
  const state = mkdtempSync(join(tmpdir(), 'lab-fast-'))
  const env = {...process.env, LAB_STATE_DIR: state}
  try {
    for (const [args, re] of [[['image', 'pull'], /missing IMAGE/], [['image', 'pull', '--bogus', 'x'], /Nonexistent flag: --bogus/], [['image', 'pull', 'Not a ref!'], /invalid reference|not a valid|reference/i]]) {
      const r = await lab(args, {env})
      assert.is.not(r.code, 0, args.join(' '))
      assert.match(r.stderr, re)
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    }
    const j = await lab(['image', 'pull', '--json', 'Not a ref!'], {env})
    assert.is.not(j.code, 0)
    assert.ok(JSON.parse(j.stdout).error.message, j.stdout)
  } finally {
    rmSync(state, {recursive: true, force: true})
  }
})

t.run()
