// Docker's credential helpers (config.json "credHelpers" and "credsStore"), run as Docker's
// CLI runs them: `docker-credential-NAME get`, the server on stdin, JSON out. The helper
// here is a small script on PATH whose answers the test chooses; the registries are real
// (htpasswd, and a token service that takes identity tokens as OAuth2 refresh tokens).
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'
import {ociLayout, tarOf, tmp} from './fixtures.mjs'
import {hasRegistry, skopeoPush, startRegistry} from './registry.mjs'

const work = tmp()
const img = ociLayout(join(work, 'img'), [tarOf([{name: 'hello', data: Buffer.from('hello\n')}])])

// docker-credential-labtest: logs each call, answers from answers.json by server
// ({"SERVER": {"Username","Secret"}}); a missing server is "credentials not found"
// (exit 1, as docker-credential-helpers answer); "fail" makes it fail outright.
const bin = join(work, 'bin')
mkdirSync(bin)
writeFileSync(join(bin, 'docker-credential-labtest'), `#!/bin/sh
dir=$(dirname "$0")
read -r server
echo "$1 $server" >> "$dir/calls.log"
[ "$1" = get ] || { echo "unsupported verb $1"; exit 1; }
[ -f "$dir/fail" ] && { echo "the keyring is locked"; exit 1; }
exec node -e '
const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]
if (!a) { console.log("credentials not found in native keychain"); process.exit(1) }
console.log(JSON.stringify({ServerURL: process.argv[2], ...a}))
' "$dir/answers.json" "$server"
`)
chmodSync(join(bin, 'docker-credential-labtest'), 0o755)
const answer = (a) => writeFileSync(join(bin, 'answers.json'), JSON.stringify(a))
const calls = () => {
  try {
    return readFileSync(join(bin, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}
const resetCalls = () => rmSync(join(bin, 'calls.log'), {force: true})

function state(dockerConfig) {
  const dir = mkdtempSync(join(work, 'state-'))
  const docker = join(dir, 'docker')
  mkdirSync(docker)
  if (dockerConfig) writeFileSync(join(docker, 'config.json'), JSON.stringify(dockerConfig))
  return {dir, env: {...process.env, LAB_STATE_DIR: dir, DOCKER_CONFIG: docker, PATH: `${bin}:${process.env.PATH}`}}
}
const pull = (ref, s) => lab(['image', 'pull', ref, '--json'], {env: s.env})
/** what a failed --json command said: its error object's message and hint */
const said = (r) => {
  try {
    const e = JSON.parse(r.stdout).error
    return `${e.message} (${e.hint})`
  } catch {
    return r.stdout + r.stderr
  }
}

const suite = hasRegistry ? test : test.skip

suite('htpasswd: credHelpers and credsStore are run with the server on stdin; not found is anonymous', async () => {
  const reg = await startRegistry({htpasswd: {alice: 's3cret'}})
  try {
    await skopeoPush(`oci:${join(work, 'img')}:v1`, `${reg.host}/course/private:v1`, 'alice:s3cret')
    const ref = `${reg.host}/course/private:v1`

    // credHelpers: the registry's own helper
    answer({[reg.host]: {Username: 'alice', Secret: 's3cret'}})
    resetCalls()
    let r = await pull(ref, state({credHelpers: {[reg.host]: 'labtest', 'other.example': 'nope'}}))
    assert.is(r.code, 0, r.stderr)
    assert.is(JSON.parse(r.stdout).id, img.config)
    assert.ok(calls().length >= 1)
    assert.ok(calls().every((c) => c === `get ${reg.host}`), `the helper is asked with get and the server: ${calls()}`)

    // credsStore: the default store
    resetCalls()
    r = await pull(ref, state({credsStore: 'labtest', auths: {[reg.host]: {}}}))
    assert.is(r.code, 0, r.stderr)
    assert.ok(calls().includes(`get ${reg.host}`))

    // "credentials not found": the config's own auths entry, else anonymous (a login is needed)
    answer({})
    r = await pull(ref, state({credsStore: 'labtest', auths: {[reg.host]: {auth: Buffer.from('alice:s3cret').toString('base64')}}}))
    assert.is(r.code, 0, r.stderr)
    r = await pull(ref, state({credsStore: 'labtest'}))
    assert.is(r.code, 125, r.stderr)
    assert.match(said(r), /needs a login for this/)

    // wrong credentials from the helper: refused, as a wrong login is
    answer({[reg.host]: {Username: 'alice', Secret: 'wrong'}})
    r = await pull(ref, state({credsStore: 'labtest'}))
    assert.is(r.code, 125)
    assert.match(said(r), /refused the credentials/)

    // lab login comes first: its credentials are used and the helper is not run
    const s = state({credHelpers: {[reg.host]: 'labtest'}})
    const login = await lab(['login', '-u', 'alice', '--password-stdin', reg.host], {env: s.env, input: 's3cret\n'})
    assert.is(login.code, 0, login.stderr)
    resetCalls()
    r = await pull(ref, s)
    assert.is(r.code, 0, r.stderr)
    assert.equal(calls(), [], 'lab login\'s credentials win over the Docker config\'s helper')

    // a helper that is not installed, one that fails, one with a path for a name: clear errors
    r = await pull(ref, state({credHelpers: {[reg.host]: 'missing'}}))
    assert.is.not(r.code, 0)
    assert.match(said(r), /the credential helper docker-credential-missing named in .*config\.json \("credHelpers\.127\.0\.0\.1:\d+"\) is not installed/)
    writeFileSync(join(bin, 'fail'), '')
    r = await pull(ref, state({credsStore: 'labtest'}))
    rmSync(join(bin, 'fail'))
    assert.is.not(r.code, 0)
    assert.match(said(r), new RegExp(`the credential helper docker-credential-labtest failed for ${reg.host.replace(/\./g, '\\.')}: the keyring is locked`))
    r = await pull(ref, state({credsStore: '../../bin/sh'}))
    assert.is.not(r.code, 0)
    assert.match(said(r), /is not a helper name/)
  } finally {
    await reg.stop()
  }
})

suite('token auth: a helper\'s "<token>" identity token is traded by an OAuth2 refresh-token POST', async () => {
  const reg = await startRegistry({token: {alice: 'tok3n'}, refresh: {'refresh-abc': 'alice'}})
  try {
    await skopeoPush(`oci:${join(work, 'img')}:v1`, `${reg.host}/course/tokened:v1`, 'alice:tok3n')
    answer({[reg.host]: {Username: '<token>', Secret: 'refresh-abc'}})
    reg.token.requests.length = 0
    const r = await pull(`${reg.host}/course/tokened:v1`, state({credHelpers: {[reg.host]: 'labtest'}}))
    assert.is(r.code, 0, r.stderr)
    const asked = reg.token.requests.find((q) => q.oauth && q.user === 'alice' && q.scopes.includes('repository:course/tokened:pull'))
    assert.ok(asked, `the identity token was traded for the pull scope: ${JSON.stringify(reg.token.requests)}`)
    assert.is(asked.service, 'lab-test-registry')
    // an unknown identity token is refused like a wrong password
    answer({[reg.host]: {Username: '<token>', Secret: 'revoked'}})
    const bad = await pull(`${reg.host}/course/tokened:v1`, state({credHelpers: {[reg.host]: 'labtest'}}))
    assert.is(bad.code, 125, bad.stderr)
    assert.match(said(bad), /refused the credentials/)
  } finally {
    await reg.stop()
  }
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
