// The netns lab (labs/netns): its walkthrough runs in a network namespace of the test's own
// and leaves that namespace exactly as it was (every namespace, veth pair and bridge of the
// lab lives inside a sandbox's own namespace); wrong answers fail with their hints; and the
// lab's seccomp profile opens network and mount namespaces only, never a user namespace
// (the attack: a lab profile as a way to a fresh user namespace; the defence: unshare's
// flags are filtered, setns must name a network namespace).
import {chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'
import {loadLab} from '../../dist/labs/load.js'
import {runLab} from '../../dist/labs/runner.js'
import {ensureExerciseDir} from '../../dist/labs/workdir.js'

const t = suite('labs: netns')
const LAB_DIR = join(ROOT, 'labs', 'netns')
const NETNS = '--cap-add NET_ADMIN --cap-add SYS_ADMIN --security-opt seccomp=lab-netns --tmpfs /run/netns'
const BRIDGE = `ip link add br0 type bridge && ip link set br0 up && for n in red blue; do ip netns add $n && ip link add $n-br type veth peer name eth0 netns $n && ip link set $n-br master br0 && ip link set $n-br up; done && nsenter --net=/run/netns/red ip addr add 10.0.2.1/24 dev eth0 && nsenter --net=/run/netns/red ip link set eth0 up && nsenter --net=/run/netns/blue ip addr add 10.0.2.2/24 dev eth0 && nsenter --net=/run/netns/blue ip link set eth0 up && mkdir -p /tmp/w && echo blue > /tmp/w/index.html && (nsenter --net=/run/netns/blue busybox httpd -f -p 8080 -h /tmp/w &) && sleep 1 && fetch() { printf "GET / HTTP/1.0\\r\\n\\r\\n" | nsenter --net=/run/netns/red busybox nc -w 2 10.0.2.2 8080 | grep -q blue; }`

/** Wrong answers: the check that must fail, and words its hint must contain. */
const WRONG = [
  {file: '01-pair.cmd', answer: `lab sandbox run -- sh -c 'ip link add inside type veth peer name outside; ip -br link'`, check: 'your sandbox created the pair inside@outside', hint: '--cap-add NET_ADMIN'},
  {file: '02-blue.cmd', answer: `lab sandbox run ${NETNS} -- sh -c 'ip netns add blue && ip link add veth-host type veth peer name veth-blue netns blue && ip addr add 10.0.1.2/24 dev veth-host && ip -br addr'`, check: 'your namespace blue has 10.0.1.2/24 on veth-blue', hint: 'nsenter --net=/run/netns/blue'},
  {file: '03-unplug.cmd', answer: `lab sandbox run ${NETNS} -- sh -c '${BRIDGE} && (fetch && echo reached); (fetch || echo unplugged)'`, check: 'with blue unplugged, red could not reach it', hint: 'nomaster'},
]

async function exerciseRun(l, step, answer) {
  const parent = mkdtempSync(join(tmpdir(), 'labex-'))
  chmodSync(parent, 0o711)
  const dir = join(parent, 'work')
  ensureExerciseDir(l, dir)
  writeFileSync(join(dir, step.exercise.file), answer)
  try {
    return await runLab(l, {mode: 'exercise', workDir: dir, removeWorkDir: false, steps: [step]})
  } finally {
    rmSync(parent, {recursive: true, force: true})
  }
}

const can = haveNetTools()
const netTest = (name, fn) => (can ? rootTest(t, name, fn) : t.skip(`${name} [skipped: needs ip, nft, nsenter and busybox]`, fn))

netTest('the walkthrough passes in a namespace of the test\'s own and leaves its links, addresses and firewall as they were', async () => {
  const N = new TestNetns('netnslab')
  try {
    // /run/netns is the host's: other test files running beside this one add and remove
    // their own (labtest-…); what counts is that the lab leaves no name there
    const namedNetns = () => N.ns('ip', ['netns']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n && !n.startsWith('labtest-')).sort()
    const state = () => ({links: N.ns('ip', ['-o', 'link']).stdout.replace(/\\.*$/gm, ''), addrs: N.ns('ip', ['-o', 'addr']).stdout, nft: N.ns('nft', ['list', 'ruleset']).stdout, netns: namedNetns()})
    const hostLinks = readdirSync('/sys/class/net').sort()
    const before = state()
    const r = await N.lab(['run', 'netns', '--json'], {timeout: 120_000})
    assert.is(r.code, 0, r.stdout + r.stderr)
    const out = JSON.parse(r.stdout)
    assert.ok(out.steps.every((s) => s.status === 'passed'), JSON.stringify(out.steps.map((s) => [s.id, s.status])))
    assert.equal(state(), before, 'the namespace the lab ran in is unchanged')
    assert.equal(readdirSync('/sys/class/net').sort(), hostLinks, 'the host\'s interfaces are unchanged')
  } finally {
    await N.cleanup()
  }
})

for (const w of WRONG) {
  rootTest(t, `a wrong ${w.file} fails "${w.check}" with its hint`, async () => {
    const l = await loadLab(LAB_DIR)
    const step = l.steps.find((s) => s.exercise?.file === w.file)
    const o = await exerciseRun(l, step, w.answer)
    const c = o.steps[0].checks.find((x) => x.name === w.check)
    assert.ok(c, `no check named ${w.check}`)
    assert.is(c.passed, false, JSON.stringify(o.steps[0].actions.map((a) => a.stdout)))
    assert.ok(c.hint.includes(w.hint), c.hint)
  })
}

rootTest(t, 'the lab-netns profile makes network namespaces, but refuses a user namespace and a setns of any other type', async () => {
  const r = await lab(['sandbox', 'run', ...NETNS.split(' '), '--', 'sh', '-c', 'ip netns add red && echo netns-ok; unshare -U true 2>/dev/null || echo userns-refused; unshare -p -f true 2>/dev/null || echo pidns-refused; nsenter --user=/proc/1/ns/user true 2>/dev/null || echo setns-user-refused'])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout, 'netns-ok\nuserns-refused\npidns-refused\nsetns-user-refused\n')
  const d = await lab(['sandbox', 'run', '--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_ADMIN', '--tmpfs', '/run/netns', '--', 'sh', '-c', 'ip netns add red 2>/dev/null || echo refused-by-default'])
  assert.is(d.stdout, 'refused-by-default\n', 'the default profile keeps refusing it')
})

t.run()
