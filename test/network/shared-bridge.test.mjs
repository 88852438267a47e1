// The default bridge lab0 is the host's, whichever state directory a sandbox's records are
// in (the user's, a lab run's private one, another --state-dir): two state directories on
// it get different addresses, can't publish the same host port, and keep each other's
// published ports when one of them changes its own.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('one default bridge for every state directory')
const can = isRoot && haveNetTools()
let N
let other
let envB
const serve = (word) => ['busybox', 'sh', '-c', `mkdir -p /tmp/w && echo ${word} >/tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w`]
const FETCH = (url) => `fetch(${JSON.stringify(url)}, {signal: AbortSignal.timeout(3000)}).then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`
const get = (port) => N.ns(process.execPath, ['-e', FETCH(`http://127.0.0.1:${port}/`)])
const addressOf = async (name, env) => JSON.parse((await N.lab(['network', 'inspect', 'bridge'], {env})).stdout)[0].sandboxes.find((s) => s.name === name)?.address

t.before(() => {
  if (!can) return
  N = new TestNetns('share')
  other = mkdtempSync(join(tmpdir(), 'lab-share-b-'))
  envB = {...N.env, LAB_STATE_DIR: other}
})

t.after(async () => {
  if (!N) return
  const ids = (await N.lab(['sandbox', 'ps', '-aq', '--no-trunc'], {env: envB})).stdout.split('\n').filter(Boolean)
  if (ids.length) await N.lab(['sandbox', 'rm', '-f', ...ids], {env: envB})
  await N.cleanup()
  rmSync(other, {recursive: true, force: true})
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

test('two state directories share lab0: own addresses, own ports, and neither drops the other\'s', async () => {
  const a = await N.lab(['sandbox', 'run', '-d', '--name', 'a', '--network', 'bridge', '-p', '18080:8080', '--', ...serve('a')])
  assert.is(a.code, 0, a.stderr)
  const b = await N.lab(['sandbox', 'run', '-d', '--name', 'b', '--network', 'bridge', '-p', '18081:8080', '--', ...serve('b')], {env: envB})
  assert.is(b.code, 0, b.stderr)
  const [addrA, addrB] = [await addressOf('a'), await addressOf('b', envB)]
  assert.ok(addrA && addrB && addrA !== addrB, `different addresses on lab0: ${addrA} and ${addrB}`)
  // B's start re-applied lab0's ruleset: A's port is still in it
  assert.ok(await waitFor(() => get(18080).stdout === 'a\n' && get(18081).stdout === 'b\n', 15_000, 200), 'both published ports answer')
  // a host port is the host's: the other state directory can't have it
  const clash = await N.lab(['sandbox', 'run', '--network', 'bridge', '-p', '18080:8080', '--', 'true'], {env: envB})
  assert.is.not(clash.code, 0)
  assert.match(clash.stderr, /18080.*already published/)
  assert.is(clash.stderr.trim().split('\n').length, 1, clash.stderr)
  // B's sandbox goes: its port with it, A's stays
  const rm = await N.lab(['sandbox', 'rm', '-f', 'b'], {env: envB})
  assert.is(rm.code, 0, rm.stderr)
  assert.ok(await waitFor(() => get(18081).code !== 0, 10_000, 200), 'the removed sandbox\'s port is gone')
  assert.is(get(18080).stdout, 'a\n')
  // and the address B had is free again, for A's next sandbox or B's
  const again = await N.lab(['sandbox', 'run', '--network', 'bridge', '--', 'busybox', 'sh', '-c', "busybox ip -4 -o addr show eth0 | busybox awk '{print $4}'"], {env: envB})
  assert.is(again.stdout.trim(), `${addrB}/16`, again.stderr)
})

t.run()
