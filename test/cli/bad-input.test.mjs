// Bad input: one clear line on stderr, exit 125, and nothing left behind.
import {mkdtempSync, rmSync, writeFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'

const t = suite('cli: bad input')

const cases = [
  [['sandbox', 'run', '--frobnicate', '--', 'true'], /unknown flag --frobnicate/],
  [['sandbox', 'run', '-v', '/definitely/not/here:/data', '--', 'true'], /source \/definitely\/not\/here does not exist/],
  [['sandbox', 'run', '-v', '/tmp:data', '--', 'true'], /is not an absolute path/],
  [['sandbox', 'run', '-v', '/tmp:/data/../etc', '--', 'true'], /contains "\.\."/],
  [['sandbox', 'run', '-v', '/tmp:/proc', '--', 'true'], /cannot mount over \/proc/],
  [['sandbox', 'run', '-v', './relative:/data', '--', 'true'], /not an absolute path/],
  [['sandbox', 'run', '-v', 'bad name:/data', '--', 'true'], /is neither an absolute host path nor a volume name/],
  [['sandbox', 'run', '-v', '/dev/null:/x', '--', 'true'], /not a directory or regular file/],
  [['sandbox', 'run', '-u', 'mallory', '--', 'true'], /unknown user "mallory"/],
  [['sandbox', 'run', '-u', '1000:wheel2', '--', 'true'], /unknown group "wheel2"/],
  [['sandbox', 'run', '-u', '99999999999', '--', 'true'], /out of range/],
  [['sandbox', 'run', '--env-file', '/nonexistent/env', '--', 'true'], /--env-file \/nonexistent\/env: cannot read it/],
  [['sandbox', 'run', '--cap-add', 'FLY', '--', 'true'], /unknown capability "FLY"/],
  [['sandbox', 'run', '--network', 'nosuch', '--', 'true'], /no such network: nosuch/],
  [['sandbox', 'run', '--timeout', 'soon', '--', 'true'], /invalid duration "soon"/],
  [['sandbox', 'run', '--tmpfs', '/x:size=12qb', '--', 'true'], /invalid size "12qb"/],
  [['sandbox', 'run', '--ulimit', 'nofile=10:5', '--', 'true'], /soft limit above hard limit/],
  [['sandbox', 'run', '--security-opt', 'no-new-privileges=false', '--', 'true'], /always sets no_new_privs/],
  [['sandbox', 'run', '-d', '--log-opt', 'compress=true', '--', 'true'], /unknown --log-opt "compress"/],
  [['sandbox', 'run', '-d', '--log-opt', 'max-size=1k', '--', 'true'], /--log-opt max-size is too small/],
  [['sandbox', 'run', '-d', '--log-opt', 'max-size=-1', '--', 'true'], /max-size=-1 \(no limit\) is not allowed/],
  [['sandbox', 'run', '-d', '--log-opt', 'max-file=0', '--', 'true'], /invalid --log-opt max-file "0"/],
  [['sandbox', 'create', '--log-opt', 'max-file=many', '--', 'true'], /invalid --log-opt max-file "many"/],
  [['sandbox', 'run', '-h', 'bad_host!', '--', 'true'], /invalid hostname/],
  [['sandbox', 'run'], /no command given/],
]

for (const [args, re] of cases) {
  t(`${args.slice(2).join(' ') || '(no command)'} → one-line error, exit 125`, async () => {
    const r = await lab(args)
    assert.is(r.code, 125, r.stderr)
    assert.match(r.stderr, re)
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
    assert.match(r.stderr, /^lab: /)
  })
}

t('bad env file line names the file and line number', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labenv-'))
  const f = join(dir, 'env')
  writeFileSync(f, 'GOOD=1\n# comment\n\nBAD LINE\n')
  const r = await lab(['sandbox', 'run', '--env-file', f, '--', 'true'])
  rmSync(dir, {recursive: true})
  assert.is(r.code, 125)
  assert.match(r.stderr, new RegExp(`${f}:4: "BAD LINE" is not KEY=value`))
})

t('--json turns a bad-input error into a JSON error object', async () => {
  const r = await lab(['sandbox', 'run', '--json', '-u', 'nobody2', '--', 'true'])
  assert.is(r.code, 125)
  const j = JSON.parse(r.stdout)
  assert.is(j.error.code, 'usage')
  assert.match(j.error.message, /unknown user/)
  assert.ok(j.error.hint)
})

t('nothing is left behind by refused runs (no temp file in a private TMPDIR)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labtmp-'))
  await lab(['sandbox', 'run', '-v', '/nope:/x', '--', 'true'], {env: {...process.env, TMPDIR: dir}})
  await lab(['sandbox', 'run', '--env-file', '/nope', '--', 'true'], {env: {...process.env, TMPDIR: dir}})
  assert.equal(readdirSync(dir), [])
  rmSync(dir, {recursive: true})
})

t.run()
