// The rest of the sandbox lifecycle: -t with a real pty (run, run -d, exec), exec -d,
// lab sandbox cp (both directions, never through the sandbox's symlinks onto the host),
// --cpu-time and --output-limit of detached sandboxes, a foreground lifecycle run whose
// CLI is SIGKILLed, --cidfile, logs -f and the log's size cap. Every test proves its
// point from inside the sandbox or from the host's process table and files.
import {execFileSync, spawn} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {LAB, lab, processesMatching, rootTest, sleep, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('lifecycle: terminal, copy, limits')
const STATE = mkdtempSync(join(tmpdir(), 'lab-lc2-'))
const HOST = mkdtempSync(join(tmpdir(), 'lab-lc2-host-'))
const env = {...process.env, LAB_STATE_DIR: STATE}
const L = (args, opts = {}) => lab(args, {env, ...opts})
const S = (args, opts) => L(['sandbox', ...args], opts)
// the sandboxed program itself (the CLI's own command line mentions it too)
const sleeping = (n) => processesMatching(`sleep ${n}`).filter((p) => p.cmd.startsWith(`sleep ${n}`))
const inspect = async (name, fmt) => (await S(['inspect', '-f', fmt, name])).stdout.trim()

/** A detached sandbox NAME that ran the setup commands and now sleeps; resolves once ready. */
async function sandboxWith(name, setup, flags = []) {
  const r = await S(['run', '-d', ...flags, '--name', name, '--', 'sh', '-c', [...setup, 'echo READY > /tmp/ready; exec sleep 300'].join('; ')])
  assert.is(r.code, 0, r.stderr)
  assert.ok(await waitFor(async () => (await S(['exec', name, 'cat', '/tmp/ready'])).stdout.includes('READY')), `${name} is ready`)
}

/** Runs lab on a fresh pty of 33 rows x 101 columns, typing input once READY shows
 * (or after 5 s); more: [marker, input] pairs typed once each marker shows after that. */
function onPty(args, input, more = []) {
  const py = `
import os, pty, select, struct, fcntl, termios, sys, time, json
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(${JSON.stringify(process.execPath)}, [${JSON.stringify(process.execPath)}, ${JSON.stringify(LAB)}] + json.loads(sys.argv[1]), os.environ)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
out = b""
sent = False
start = time.time()
more = json.loads(sys.argv[3])
while True:
    if not sent and (b"READY" in out or time.time() - start > 5):
        os.write(fd, sys.argv[2].encode())
        sent = True
        mark = len(out)
    if sent and more and more[0][0].encode() in out[mark:]:
        os.write(fd, more.pop(0)[1].encode())
        mark = len(out)
    try:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"out": out.decode("utf8", "replace"), "code": os.waitstatus_to_exitcode(st)}))
`
  return new Promise((resolve) => {
    const c = spawn('python3', ['-c', py, JSON.stringify(args), input, JSON.stringify(more)], {env, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    c.stdout.on('data', (d) => (out += d))
    c.on('close', () => resolve(JSON.parse(out)))
  })
}

t.after(async () => {
  const ids = (await S(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await S(['rm', '-f', '-v', ...ids])
  await L(['system', 'prune', '-f', '--volumes'])
  rmSync(STATE, {recursive: true, force: true})
  rmSync(HOST, {recursive: true, force: true})
})

rootTest(t, '-it: the program has a controlling pty of the sandbox\'s devpts, sized like the caller\'s, with input relayed', async () => {
  const r = await onPty(['sandbox', 'run', '-it', '--', 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo both-ttys; stty size; cat /proc/self/stat | cut -d" " -f7; echo READY; read x; echo got:$x'], 'typed\r')
  assert.is(r.code, 0, r.out)
  assert.match(r.out, /^\/dev\/pts\/0\r$/m, 'pts 0: its own devpts instance, not the host\'s')
  assert.match(r.out, /^both-ttys\r$/m)
  assert.match(r.out, /^33 101\r$/m, 'the caller\'s window size')
  assert.not.match(r.out, /^0\r$/m, 'tty_nr of the process is set: a controlling terminal')
  assert.match(r.out, /^got:typed\r$/m, 'input went through the pty\'s line discipline')
})

rootTest(t, 'run -d -t logs the pty\'s output; exec -t gets a pty of its own; exec -d runs on and ends with the sandbox', async () => {
  const r = await S(['run', '-d', '-t', '--name', 'lc-tty', '--', 'sh', '-c', 'tty; test -t 0 && echo stdin-tty; exec sleep 300'])
  assert.is(r.code, 0, r.stderr)
  await waitFor(async () => (await S(['logs', 'lc-tty'])).stdout.includes('stdin-tty'))
  assert.match((await S(['logs', 'lc-tty'])).stdout, /\/dev\/pts\/0\r?\nstdin-tty/)
  const e = await onPty(['sandbox', 'exec', '-t', 'lc-tty', 'sh', '-c', 'tty; stty size'], '')
  assert.is(e.code, 0, e.out)
  assert.match(e.out, /^\/dev\/pts\/1\r$/m, 'a second pty of the same devpts')
  assert.match(e.out, /^33 101\r$/m)
  // exec -d: the CLI returns with the pid, the program keeps running in the sandbox
  const d = await S(['exec', '-d', 'lc-tty', 'sh', '-c', 'echo $$ > /tmp/bg.pid; exec sleep 301'])
  assert.is(d.code, 0, d.stderr)
  const pid = Number(d.stdout.trim())
  assert.ok(pid > 0)
  await sleep(200)
  assert.ok(existsSync(`/proc/${pid}`), 'still running after the CLI returned')
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /NoNewPrivs:\s+1/, 'same hardening as the sandbox')
  assert.match((await S(['exec', 'lc-tty', 'cat', '/tmp/bg.pid'])).stdout, /^\d+\n$/)
  assert.ok((await S(['top', 'lc-tty'])).stdout.includes('sleep 301'))
  assert.is((await S(['rm', '-f', 'lc-tty'])).code, 0)
  assert.ok(await waitFor(() => sleeping(301).length === 0), 'the background program ended with its sandbox')
})

rootTest(t, 'cp -L follows a symlink at the source itself, inside the sandbox\'s root; never a device, never the host', async () => {
  const secret = join(HOST, 'secret-L.txt')
  writeFileSync(secret, 'HOST SECRET\n')
  await sandboxWith('lc-cpl', [
    'mkdir -p /tmp/real/sub && echo deep > /tmp/real/sub/f && ln -s sub/f /tmp/real/inner && ln -s real /tmp/dirlink',
    'echo inside > /tmp/file && ln -s /tmp/file /tmp/abslink',
    `ln -s ${secret} /tmp/hostpath`, // the host's path: inside the root it names nothing
    'ln -s /dev/zero /tmp/devlink',
  ])
  const out = join(HOST, 'out-L')
  mkdirSync(out)
  // without -L the absolute link is refused, and the hint says -L
  const plain = await S(['cp', 'lc-cpl:/tmp/abslink', join(out, 'x')])
  assert.is(plain.code, 125)
  assert.match(plain.stderr, /^lab: cannot copy .*symlink that points outside.*add -L/)
  // with -L: the file it points to, under the link's name
  const f = await S(['cp', '-L', 'lc-cpl:/tmp/abslink', join(out, 'x')])
  assert.is(f.code, 0, f.stderr)
  assert.is(readFileSync(join(out, 'x'), 'utf8'), 'inside\n')
  assert.not.ok(lstatSync(join(out, 'x')).isSymbolicLink())
  // a directory through a link: copied under the link's name; links below stay links
  const d = await S(['cp', '-L', 'lc-cpl:/tmp/dirlink', out])
  assert.is(d.code, 0, d.stderr)
  assert.is(readFileSync(join(out, 'dirlink', 'sub', 'f'), 'utf8'), 'deep\n')
  assert.ok(lstatSync(join(out, 'dirlink', 'inner')).isSymbolicLink())
  // followed inside the sandbox's root: the host's path names nothing there
  const h = await S(['cp', '-L', 'lc-cpl:/tmp/hostpath', join(out, 'stolen')])
  assert.is(h.code, 125)
  assert.match(h.stderr, /No such file or directory/)
  assert.not.ok(existsSync(join(out, 'stolen')))
  // a link to a device is followed to the device, which is refused (and never opened)
  const z = await S(['cp', '-L', 'lc-cpl:/tmp/devlink', join(out, 'z')])
  assert.is(z.code, 125)
  assert.match(z.stderr, /refusing to copy a device/)
  // into the sandbox: -L copies what a host link points to, under the link's name
  const hostLink = join(HOST, 'to-secret')
  symlinkSync(secret, hostLink)
  const plainIn = await S(['cp', hostLink, 'lc-cpl:/tmp/'])
  assert.is(plainIn.code, 125)
  assert.match(plainIn.stderr, /add -L/)
  const inL = await S(['cp', '-L', hostLink, 'lc-cpl:/tmp/'])
  assert.is(inL.code, 0, inL.stderr)
  assert.is((await S(['exec', 'lc-cpl', 'cat', '/tmp/to-secret'])).stdout, 'HOST SECRET\n')
  symlinkSync('/nonexistent-target', join(HOST, 'dangling'))
  const dangling = await S(['cp', '-L', join(HOST, 'dangling'), 'lc-cpl:/tmp/'])
  assert.is(dangling.code, 125)
  assert.match(dangling.stderr, /^lab: .*dangling is a symlink to nothing/)
  assert.is((await S(['rm', '-f', 'lc-cpl'])).code, 0)
})

rootTest(t, 'cp -a keeps owners both ways, in the sandbox\'s ids; without it the receiving side owns the copy', async () => {
  await sandboxWith('lc-cpa', [
    'mkdir -p /tmp/d && echo x > /tmp/d/f && echo y > /tmp/d/rootf && chmod 4755 /tmp/d/rootf && ln -s f /tmp/d/l',
    'chown 1000:1001 /tmp/d /tmp/d/f && chown -h 33:33 /tmp/d/l',
  ], ['--cap-add', 'CHOWN'])
  const owner = (p) => `${lstatSync(p).uid}:${lstatSync(p).gid}`
  // out: -a gives the host copies the sandbox's ids (docker cp -a); set-id bits never travel
  const out = join(HOST, 'out-a')
  mkdirSync(out)
  const a = await S(['cp', '-a', 'lc-cpa:/tmp/d', out])
  assert.is(a.code, 0, a.stderr)
  assert.is(owner(join(out, 'd')), '1000:1001')
  assert.is(owner(join(out, 'd', 'f')), '1000:1001')
  assert.is(owner(join(out, 'd', 'rootf')), '0:0')
  assert.is(lstatSync(join(out, 'd', 'rootf')).mode & 0o7777, 0o755, 'a root-owned setuid file arrives without its setuid bit')
  assert.is(owner(join(out, 'd', 'l')), '33:33')
  const plainOut = join(HOST, 'out-plain')
  mkdirSync(plainOut)
  assert.is((await S(['cp', 'lc-cpa:/tmp/d', plainOut])).code, 0)
  assert.is(owner(join(plainOut, 'd', 'f')), `${process.getuid()}:${process.getgid()}`)
  // in: -a keeps the host owner as the sandbox's ids; without it the sandbox's root owns it
  const src = join(HOST, 'in-a')
  mkdirSync(src)
  writeFileSync(join(src, 'g'), 'z\n')
  execFileSync('chown', ['-R', '1234:4321', src])
  assert.is((await S(['cp', '-a', src, 'lc-cpa:/tmp/in'])).code, 0)
  assert.is((await S(['exec', 'lc-cpa', 'stat', '-c', '%u:%g', '/tmp/in', '/tmp/in/g'])).stdout, '1234:4321\n1234:4321\n')
  assert.is((await S(['cp', src, 'lc-cpa:/tmp/in2'])).code, 0)
  assert.is((await S(['exec', 'lc-cpa', 'stat', '-c', '%u:%g', '/tmp/in2/g'])).stdout, '0:0\n')
  // an owner the sandbox's user namespace does not map is refused in one line
  execFileSync('chown', ['100000:100000', join(src, 'g')])
  const bad = await S(['cp', '-a', src, 'lc-cpa:/tmp/in3'])
  assert.is(bad.code, 125)
  assert.match(bad.stderr, /^lab: cannot copy .*owner 100000:100000 is not one of the sandbox's ids/)
  assert.is(bad.stderr.trim().split('\n').length, 1)
  assert.is((await S(['rm', '-f', 'lc-cpa'])).code, 0)
})

rootTest(t, 'cp both ways; a symlink planted in the sandbox never reaches the host\'s file', async () => {
  const secret = join(HOST, 'secret.txt')
  writeFileSync(secret, 'HOST SECRET\n')
  mkdirSync(join(HOST, 'hostdir'))
  await sandboxWith('lc-cp', [
    'mkdir -p /tmp/d/sub && echo hi > /tmp/d/a.txt && ln -s a.txt /tmp/d/rel && echo deep > /tmp/d/sub/b',
    `ln -s ${secret} /tmp/evil`, // aims at the host's file by its host path
    `ln -s ${HOST} /tmp/evildir`, // a directory link in the middle of a path
  ])
  // out: a tree with a relative link inside it
  const out = join(HOST, 'out')
  mkdirSync(out)
  const c1 = await S(['cp', 'lc-cp:/tmp/d', out])
  assert.is(c1.code, 0, c1.stderr)
  assert.is(readFileSync(join(out, 'd', 'a.txt'), 'utf8'), 'hi\n')
  assert.is(readFileSync(join(out, 'd', 'sub', 'b'), 'utf8'), 'deep\n')
  assert.ok(lstatSync(join(out, 'd', 'rel')).isSymbolicLink())
  // out through the planted link: refused, nothing written
  const c2 = await S(['cp', 'lc-cp:/tmp/evil', join(HOST, 'stolen')])
  assert.is(c2.code, 125)
  assert.match(c2.stderr, /^lab: cannot copy lc-cp:\/tmp\/evil: .*symlink that points outside/)
  assert.is(c2.stderr.trim().split('\n').length, 1)
  assert.not.ok(existsSync(join(HOST, 'stolen')))
  // a link in the middle of the path resolves inside the sandbox's root, where HOST is not
  const c3 = await S(['cp', 'lc-cp:/tmp/evildir/secret.txt', join(HOST, 'stolen')])
  assert.is(c3.code, 125)
  assert.match(c3.stderr, /No such file or directory/)
  assert.not.ok(existsSync(join(HOST, 'stolen')))
  assert.is(readdirSync(HOST).filter((n) => n.startsWith('.lab-cp-')).length, 0, 'no staging directory left behind')
  // in: into an existing directory, then through the planted directory link
  const c4 = await S(['cp', join(out, 'd'), 'lc-cp:/tmp/back'])
  assert.is(c4.code, 0, c4.stderr)
  assert.is((await S(['exec', 'lc-cp', 'cat', '/tmp/back/sub/b'])).stdout, 'deep\n')
  assert.is((await S(['exec', 'lc-cp', 'readlink', '/tmp/back/rel'])).stdout, 'a.txt\n')
  const c5 = await S(['cp', secret, 'lc-cp:/tmp/evildir/hostdir/planted'])
  assert.is(c5.code, 125)
  assert.not.ok(existsSync(join(HOST, 'hostdir', 'planted')), 'nothing written on the host through the link')
  // devices are refused both ways; bad input is one line
  assert.match((await S(['cp', 'lc-cp:/dev/zero', join(HOST, 'z')])).stderr, /^lab: cannot copy .*refusing to copy a device/)
  assert.match((await S(['cp', '/dev/null', 'lc-cp:/tmp/n'])).stderr, /^lab: cannot copy \/dev\/null: it is a device/)
  assert.match((await S(['cp', 'nosuch:/x', HOST])).stderr, /^lab: no such sandbox/)
  const both = await S(['cp', join(HOST, 'a'), join(HOST, 'b')])
  assert.is(both.code, 125, JSON.stringify(both))
  assert.match(both.stderr, /^lab: one side must be a sandbox/m, JSON.stringify(both))
  assert.is((await S(['rm', '-f', 'lc-cp'])).code, 0)
})

rootTest(t, 'detached sandboxes keep --cpu-time and --output-limit (the supervisor enforces them)', async () => {
  const a = await S(['run', '-d', '--name', 'lc-cpu', '--cpu-time', '300ms', '--', 'sh', '-c', 'while :; do :; done'])
  const b = await S(['run', '-d', '--name', 'lc-out', '--output-limit', '2k', '--', 'sh', '-c', 'while :; do echo 0123456789abcdef0123456789abcdef; done'])
  assert.is(a.code + b.code, 0, a.stderr + b.stderr)
  assert.is((await S(['wait', 'lc-cpu'], {timeout: 20_000})).stdout.trim(), '137')
  assert.is((await S(['wait', 'lc-out'], {timeout: 20_000})).stdout.trim(), '137')
  assert.is(await inspect('lc-cpu', '{{.State.KilledBy}}'), 'cpu-time')
  assert.is(await inspect('lc-out', '{{.State.KilledBy}}'), 'output-limit')
  const logged = (await S(['logs', 'lc-out'])).stdout
  assert.ok(logged.length > 0 && logged.length <= 2048, `the log holds at most the limit (${logged.length} bytes)`)
  assert.is((await S(['rm', 'lc-cpu', 'lc-out'])).code, 0)
})

rootTest(t, 'a foreground run with a managed volume ends (and is removed) when its CLI is SIGKILLed', async () => {
  const cli = spawnLab(['sandbox', 'run', '--name', 'lc-fg', '-v', 'lc-fgvol:/data', '--', 'sh', '-c', 'echo up; exec sleep 302'], {env})
  let out = ''
  cli.stdout.on('data', (d) => (out += d))
  assert.ok(await waitFor(() => out.includes('up') && sleeping(302).length === 1, 10_000), 'running')
  const id = await inspect('lc-fg', '{{.Id}}')
  assert.ok(readdirSync('/sys/fs/cgroup').some((c) => existsSync(join('/sys/fs/cgroup', c, 'lab', id))), 'it has a cgroup while it runs')
  cli.kill('SIGKILL')
  assert.ok(await waitFor(() => sleeping(302).length === 0, 5000), 'the sandbox ended with its CLI')
  assert.ok(await waitFor(async () => !(await S(['ps', '-a'])).stdout.includes('lc-fg '), 5000), 'and was removed')
  assert.is((await S(['inspect', 'lc-fg'])).code, 125)
  assert.match((await L(['volume', 'ls'])).stdout, /lc-fgvol/, 'a named volume survives, as with docker rm')
  assert.ok(await waitFor(() => readdirSync('/sys/fs/cgroup').every((c) => !existsSync(join('/sys/fs/cgroup', c, 'lab', id))), 2000), 'its cgroups are gone')
  assert.not.ok(existsSync(join(STATE, 'sandboxes', id)), 'its record is gone')
})

rootTest(t, '--cidfile holds the id (and refuses an existing file); logs -f follows until the end', async () => {
  const cid = join(HOST, 'cid')
  const r = await S(['run', '-d', '--cidfile', cid, '--name', 'lc-follow', '--', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.3; done'])
  assert.is(r.code, 0, r.stderr)
  assert.is(readFileSync(cid, 'utf8'), r.stdout.trim())
  const again = await S(['run', '-d', '--cidfile', cid, '--', 'true'])
  assert.is(again.code, 125)
  assert.match(again.stderr, /^lab: --cidfile .*already exists/)
  const t0 = Date.now()
  const f = await S(['logs', '-f', 'lc-follow'])
  assert.is(f.stdout, 'line1\nline2\nline3\n', 'every line, in order, and it returned when the sandbox ended')
  assert.ok(Date.now() - t0 >= 300, 'it followed rather than printing a snapshot')
  assert.is((await S(['logs', '--tail', '1', 'lc-follow'])).stdout, 'line3\n')
  assert.is((await S(['rm', 'lc-follow'])).code, 0)
})

rootTest(t, 'the log is capped: it rotates to one older file, the newest lines stay readable', async () => {
  const {Lifecycle} = await import('../../dist/sandbox/lifecycle.js')
  const lc = new Lifecycle({stateDir: STATE})
  const rec = await lc.create({command: ['sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line-$i-0123456789012345678901234567890123456789; i=$((i+1)); done'], name: 'lc-rotate', logMaxBytes: 4096, callerEnv: {}})
  await lc.start(rec.id)
  await lc.wait(rec.id)
  const dir = join(STATE, 'sandboxes', rec.id)
  const files = readdirSync(dir).filter((n) => n.startsWith('log'))
  assert.equal(files.sort(), ['log', 'log.1'], 'two files, no more')
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 4096 + 256, `${f} is within the cap`)
  const lines = (await lc.logs(rec.id)).map((l) => l.line)
  assert.is(lines.at(-1), 'line-399-0123456789012345678901234567890123456789', 'the newest line is kept')
  assert.not.ok(lines.includes('line-0-0123456789012345678901234567890123456789'), 'the oldest were dropped')
  await lc.remove(rec.id)
})

rootTest(t, 'attach: live output and typed input, raw terminal with its size, the detach keys; exit code when it ends', async () => {
  // -i without -t: stdout and stderr apart, input passed on, attach returns the exit code
  const r1 = await S(['run', '-d', '-i', '--name', 'lc-att', '--', 'sh', '-c', 'while read l; do [ "$l" = quit ] && exit 3; echo "out:$l"; echo "err:$l" >&2; done'])
  assert.is(r1.code, 0, r1.stderr)
  const piped = spawn(process.execPath, [LAB, 'sandbox', 'attach', 'lc-att'], {env, stdio: ['pipe', 'pipe', 'pipe']})
  let pout = ''
  let perr = ''
  piped.stdout.on('data', (d) => (pout += d))
  piped.stderr.on('data', (d) => (perr += d))
  const code = new Promise((res) => piped.on('close', res))
  await sleep(800)
  piped.stdin.write('one\ntwo\n')
  assert.ok(await waitFor(async () => pout.includes('out:two')), `the output arrives while it runs: ${pout}${perr}`)
  piped.stdin.write('quit\n')
  assert.is(await code, 3, 'attach returns the sandbox\'s exit code')
  assert.is(pout, 'out:one\nout:two\n')
  assert.is(perr, 'err:one\nerr:two\n')
  // no terminal: a signal to attach goes on to the sandbox (--sig-proxy)
  assert.is((await S(['run', '-d', '--name', 'lc-att-sig', '--', 'sh', '-c', 'trap "exit 7" INT; while true; do echo tick; sleep 0.1; done'])).code, 0)
  const sig = spawn(process.execPath, [LAB, 'sandbox', 'attach', 'lc-att-sig'], {env, stdio: ['ignore', 'pipe', 'pipe']})
  let ticks = ''
  sig.stdout.on('data', (d) => (ticks += d))
  const sigCode = new Promise((res) => sig.on('close', res))
  assert.ok(await waitFor(async () => ticks.includes('tick')), 'attached') // its signal handlers are in place by then
  sig.kill('SIGINT')
  assert.is(await sigCode, 7, 'the sandbox got the SIGINT and its exit code came back')
  await S(['rm', '-f', 'lc-att-sig'])
  // -it: the terminal is raw, its size passed on; ctrl-p ctrl-q leaves the sandbox running
  const r2 = await S(['run', '-d', '-it', '--name', 'lc-att-t', '--', 'bash', '-c', 'until read -t 0.3 x; do echo READY; done; echo "got:$x"; stty size; echo SIZED; sleep 300'])
  assert.is(r2.code, 0, r2.stderr)
  const p = await onPty(['sandbox', 'attach', 'lc-att-t'], 'hello\r', [['SIZED', '\x10\x11']])
  assert.is(p.code, 0, p.out)
  assert.match(p.out, /got:hello/)
  assert.match(p.out, /33 101/, 'the sandbox\'s terminal took the attached terminal\'s size')
  assert.is(await inspect('lc-att-t', '{{.State.Status}}'), 'running', 'detaching left it running')
  // an exited sandbox: one line, and where its output is
  await S(['rm', '-f', 'lc-att-t'])
  const gone = await S(['attach', 'lc-att'])
  assert.is(gone.code, 125)
  assert.match(gone.stderr, /^lab: cannot attach to sandbox lc-att: it is exited \(start it first .*lab sandbox logs lc-att\)\n$/)
  const keys = await S(['attach', '--detach-keys', 'ctrl-pp', 'lc-att'])
  assert.match(keys.stderr, /invalid --detach-keys/)
  await S(['rm', '-f', 'lc-att'])
})

rootTest(t, 'cp keeps modification times, both ways and in archives; a directory\'s after its contents', async () => {
  await sandboxWith('lc-cpt', ['mkdir -p /tmp/d/sub /tmp/in && echo x > /tmp/d/sub/f && ln -s sub/f /tmp/d/l',
    'touch -h -d @1000000000 /tmp/d/l && touch -d @1000000001 /tmp/d/sub/f && touch -d @1000000002 /tmp/d/sub && touch -d @1000000003 /tmp/d'])
  const out = join(HOST, 'times')
  mkdirSync(out)
  assert.is((await S(['cp', 'lc-cpt:/tmp/d', out])).code, 0)
  const mt = (p) => Math.floor(lstatSync(p).mtimeMs / 1000)
  assert.equal([mt(join(out, 'd')), mt(join(out, 'd', 'sub')), mt(join(out, 'd', 'sub', 'f')), mt(join(out, 'd', 'l'))], [1000000003, 1000000002, 1000000001, 1000000000])
  const listing = execFileSync('sh', ['-c', `"${process.execPath}" "${LAB}" sandbox cp lc-cpt:/tmp/d/sub - | tar -tv --full-time`], {env: {...env, TZ: 'UTC'}, encoding: 'utf8'})
  assert.match(listing, /2001-09-09 01:46:41 sub\/f/)
  // in: from the host, and from an archive
  execFileSync('touch', ['-d', '@1200000000', join(out, 'd', 'sub', 'f'), join(out, 'd')])
  assert.is((await S(['cp', join(out, 'd'), 'lc-cpt:/tmp/in/copy'])).code, 0)
  const archive = execFileSync('tar', ['-C', join(out, 'd'), '-c', 'sub'])
  assert.is((await S(['cp', '-', 'lc-cpt:/tmp/in'], {input: archive})).code, 0)
  const inside = await S(['exec', 'lc-cpt', 'stat', '-c', '%Y', '/tmp/in/copy', '/tmp/in/copy/sub', '/tmp/in/copy/sub/f', '/tmp/in/sub', '/tmp/in/sub/f'])
  assert.is(inside.stdout, '1200000000\n1000000002\n1200000000\n1000000002\n1200000000\n')
  assert.is((await S(['rm', '-f', 'lc-cpt'])).code, 0)
})

rootTest(t, 'cp with -: a tar archive out on stdout and in from stdin; what an archive may not hold is refused', async () => {
  const long = 'd'.repeat(120)
  await sandboxWith('lc-tar', [
    `mkdir -p /tmp/a/b /tmp/a/${long} /tmp/in && echo hi > /tmp/a/b/f && ln -s b/f /tmp/a/l && echo deep > /tmp/a/${long}/${'n'.repeat(90)}`,
  ])
  // out: GNU tar reads the archive, long names (pax headers) included
  const x = join(HOST, 'tar-x')
  mkdirSync(x)
  execFileSync('sh', ['-c', `"${process.execPath}" "${LAB}" sandbox cp lc-tar:/tmp/a - | tar -x -C "${x}"`], {env})
  assert.is(readFileSync(join(x, 'a', 'b', 'f'), 'utf8'), 'hi\n')
  assert.is(readlinkSync(join(x, 'a', 'l')), 'b/f')
  assert.is(readFileSync(join(x, 'a', long, 'n'.repeat(90)), 'utf8'), 'deep\n')
  const json = await S(['cp', 'lc-tar:/tmp/a', '-', '--json'])
  assert.is(json.code, 125)
  assert.match(json.stdout, /--json cannot be used with - as the destination/)
  // in: several top entries, "./" names, a long name, a symlink, into a directory that exists
  const src = join(HOST, 'tar-src')
  mkdirSync(join(src, 'top1', 'sub'), {recursive: true})
  mkdirSync(join(src, 'top2'))
  writeFileSync(join(src, 'top1', 'sub', 'f'), 'one\n')
  writeFileSync(join(src, 'top2', 'q'.repeat(150)), 'two\n')
  writeFileSync(join(src, 'rootfile'), 'z\n')
  symlinkSync('sub/f', join(src, 'top1', 'l'))
  const archive = execFileSync('tar', ['-C', src, '-c', '.'])
  const inTar = await S(['cp', '-', 'lc-tar:/tmp/in'], {input: archive})
  assert.is(inTar.code, 0, inTar.stderr)
  assert.match(inTar.stderr, /Successfully copied 3 files/)
  const seen = await S(['exec', 'lc-tar', 'sh', '-c', `cat /tmp/in/top1/l /tmp/in/top2/${'q'.repeat(150)} /tmp/in/rootfile; readlink /tmp/in/top1/l`])
  assert.is(seen.stdout, 'one\ntwo\nz\nsub/f\n')
  // an archive goes into a directory that exists
  const noDir = await S(['cp', '-', 'lc-tar:/tmp/nowhere'], {input: archive})
  assert.is(noDir.code, 125)
  assert.match(noDir.stderr, /^lab: cannot copy the archive: \/tmp\/nowhere: no such directory/)
  assert.is((await S(['exec', 'lc-tar', 'ls', '/tmp'])).stdout.includes('nowhere'), false)
  // crafted archives: each refused in one line, nothing of it written
  const py = String.raw`
import io, sys, tarfile
kind = sys.argv[1]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=b"x", **kw):
        ti = tarfile.TarInfo(name)
        for k, v in kw.items(): setattr(ti, k, v)
        ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
        t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    if kind == "dotdot": add("ok/../../escaped")
    if kind == "absolute": add("/etc/escaped")
    if kind == "hardlink": add("h/f"); add("h/g", type=tarfile.LNKTYPE, linkname="h/f")
    if kind == "linkout": add("s/l", type=tarfile.SYMTYPE, linkname="../../../etc/passwd")
    if kind == "device": add("dev/null2", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    if kind == "fifo": add("p", type=tarfile.FIFOTYPE)
sys.stdout.buffer.write(buf.getvalue())`
  for (const [kind, re] of [['dotdot', /climbs out with "\.\."/], ['absolute', /names an absolute path/], ['hardlink', /is a hard link/], ['linkout', /symlink pointing outside its top entry/], ['device', /is a device or fifo/], ['fifo', /is a device or fifo/]]) {
    const r = await S(['cp', '-', 'lc-tar:/tmp/in'], {input: execFileSync('python3', ['-c', py, kind])})
    assert.is(r.code, 125, kind)
    assert.match(r.stderr, re, kind)
    assert.is(r.stderr.trim().split('\n').length, 1, `${kind}: one line`)
  }
  // not an archive, a cut one, random bytes: errors, never a crash or a stuck helper
  for (const [input, re] of [[Buffer.from('not a tar\n'), /not a tar archive/], [archive.subarray(0, 1500), /ends in the middle of an entry/], [Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919) % 251)), /not a valid tar archive/]]) {
    const r = await S(['cp', '-', 'lc-tar:/tmp/in'], {input})
    assert.is(r.code, 125)
    assert.match(r.stderr, re)
  }
  // the copy streams, as docker cp's: members before a refused one are in, the refused never
  const after = await S(['exec', 'lc-tar', 'sh', '-c', 'ls / /tmp /etc | grep -c escaped; for p in s/l h/g dev/null2 p; do test -e /tmp/in/$p -o -L /tmp/in/$p && echo $p; done; cat /tmp/in/h/f'])
  assert.is(after.stdout, '0\nx', 'no refused member was written')
  assert.is((await S(['rm', '-f', 'lc-tar'])).code, 0)
})

rootTest(t, '--log-opt: max-file files of max-size each; follow reads across several rotations between looks', async () => {
  // bursts of ~8.7 KiB (two rotations at 4k) 0.3 s apart: the follower, looking every
  // 100 ms, finds its file moved to log.2 and must read its rest, then log.1, then log
  const burst = 'j=0; while [ $j -lt 150 ]; do echo b$b-$j-0123456789012345678901234567890123456789; j=$((j+1)); done'
  // the bursts start once the follower has read the first line (on a loaded machine its
  // start could otherwise come after rotations have dropped lines it was meant to see)
  const sig = mkdtempSync(join(tmpdir(), 'lab-lc2-sig-'))
  chmodSync(sig, 0o755)
  const r = await S(['run', '-d', '--name', 'lc-logopt', '--log-opt', 'max-size=4k', '--log-opt', 'max-file=4', '-v', `${sig}:/sig:ro`, '--', 'sh', '-c', `echo start; while [ ! -e /sig/go ]; do sleep 0.05; done; for b in 0 1 2 3; do ${burst}; sleep 0.3; done`])
  assert.is(r.code, 0, r.stderr)
  const follower = spawnLab(['sandbox', 'logs', '-f', 'lc-logopt'], {env})
  let followed = ''
  follower.stdout.setEncoding('utf8')
  follower.stdout.on('data', (d) => {
    followed += d
    if (followed.startsWith('start\n') && !existsSync(join(sig, 'go'))) writeFileSync(join(sig, 'go'), '')
  })
  const code = await new Promise((res) => follower.on('close', res))
  rmSync(sig, {recursive: true, force: true})
  assert.is(code, 0)
  const want = ['start']
  for (let b = 0; b < 4; b++) for (let j = 0; j < 150; j++) want.push(`b${b}-${j}-0123456789012345678901234567890123456789`)
  assert.equal(followed.trim().split('\n'), want, 'every line once, in order')
  const dir = (await S(['inspect', '-f', '{{.LogPath}}', 'lc-logopt'])).stdout.trim().replace(/\/log$/, '')
  const files = readdirSync(dir).filter((n) => n.startsWith('log')).sort()
  assert.equal(files, ['log', 'log.1', 'log.2', 'log.3'], 'four files, no more')
  for (const n of files) assert.ok(statSync(join(dir, n)).size <= 4096, `${n} is within the cap`)
  const kept = (await S(['logs', 'lc-logopt'])).stdout.trim().split('\n')
  assert.is(kept.at(-1), want.at(-1), 'the newest line is kept')
  assert.equal(kept, want.slice(want.length - kept.length), 'what is kept is the newest lines, in order')
  assert.is((await S(['inspect', '-f', '{{json .HostConfig.LogConfig.Config}}', 'lc-logopt'])).stdout.trim(), '{"max-size":"4k","max-file":"4"}')
  assert.is((await S(['rm', 'lc-logopt'])).code, 0)
  // max-file=1: one file, begun anew at the cap
  assert.is((await S(['run', '-d', '--name', 'lc-logopt1', '--log-opt', 'max-size=4k', '--log-opt', 'max-file=1', '--', 'sh', '-c', burst.replace('$b', 'x')])).code, 0)
  assert.is((await S(['wait', 'lc-logopt1'])).code, 0)
  assert.equal(readdirSync(dir.replace(/[^/]+$/, (await S(['inspect', '-f', '{{.Id}}', 'lc-logopt1'])).stdout.trim())).filter((n) => n.startsWith('log')), ['log'])
  const one = (await S(['logs', 'lc-logopt1'])).stdout.trim().split('\n')
  assert.is(one.at(-1), 'bx-149-0123456789012345678901234567890123456789')
  assert.ok(one.length < 150, 'older lines were dropped')
  assert.is((await S(['rm', 'lc-logopt1'])).code, 0)
  // a log of 200,000 short lines reads whole (it once overflowed the stack)
  assert.is((await S(['run', '-d', '--name', 'lc-logbig', '--', 'sh', '-c', 'yes line | head -n 200000; echo DONE'])).code, 0)
  assert.is((await S(['wait', 'lc-logbig'])).code, 0)
  const big = await S(['logs', 'lc-logbig'])
  assert.is(big.code, 0, big.stderr)
  assert.is(big.stdout.length, 200000 * 5 + 5)
  assert.is((await S(['rm', 'lc-logbig'])).code, 0)
})

t.run()
