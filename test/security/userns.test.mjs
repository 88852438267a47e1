// User remapping: root inside a sandbox is never root outside. Proved from the host.
import {execFileSync} from 'node:child_process'
import {chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, processesMatching, rootTest, sh, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('security: user remapping')

const tag = (n) => `sleep 2${process.pid}${n}`
const hostIds = (pid) => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  return {uid: Number(/^Uid:\s+(\d+)/m.exec(s)[1]), gid: Number(/^Gid:\s+(\d+)/m.exec(s)[1])}
}
const sleeper = (n) => processesMatching(tag(n)).find((p) => p.cmd.startsWith('sleep '))

function volume(uid, gid) {
  const dir = mkdtempSync(join(tmpdir(), 'labvol-'))
  chownSync(dir, uid, gid)
  return dir
}

rootTest(t, 'attack: container root is host root (Docker without userns-remap) · defence: id -u says 0 inside, the host sees an unprivileged uid', async () => {
  const child = spawnLab(['sandbox', 'run', '--', 'sh', '-c', `id -u; exec ${tag(1)}`])
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  // the output travels sandbox -> helper -> CLI -> us, and may arrive after the exec
  assert.ok(await waitFor(() => sleeper(1) && out.includes('\n'), 5000), `sandbox started and printed (${JSON.stringify(out)})`)
  const ids = hostIds(sleeper(1).pid)
  child.kill('SIGKILL')
  assert.is(out.trim(), '0')
  assert.ok(ids.uid >= 65536 && ids.gid >= 65536, `host uid ${ids.uid} is not a system id`)
})

rootTest(t, 'attack: one sandbox reaches another through shared ids · defence: two live sandboxes never share a host id range', async () => {
  const a = spawnLab(['sandbox', 'run', '--', 'sleep', tag(2).split(' ')[1]])
  const b = spawnLab(['sandbox', 'run', '--', 'sleep', tag(3).split(' ')[1]])
  assert.ok(await waitFor(() => sleeper(2) && sleeper(3), 5000))
  const ua = hostIds(sleeper(2).pid).uid
  const ub = hostIds(sleeper(3).pid).uid
  a.kill('SIGKILL')
  b.kill('SIGKILL')
  assert.ok(Math.abs(ua - ub) >= 65536, `ranges overlap: ${ua} vs ${ub}`)
})

rootTest(t, 'the result reports the host range, and --userns=host opts out visibly', async () => {
  const r = JSON.parse((await lab(['sandbox', 'run', '--json', '--', 'cat', '/proc/self/uid_map'])).stdout)
  assert.ok(r.userns.hostUidBase > 0 && r.userns.size === 65536)
  assert.match(r.stdout, new RegExp(`^\\s*0\\s+${r.userns.hostUidBase}\\s+65536`))
  const host = await lab(['sandbox', 'run', '--userns=host', '--', 'cat', '/proc/self/uid_map'])
  assert.match(host.stdout, /^\s*0\s+0\s+4294967295/)
  assert.match(host.stderr, /--userns=host: root in this sandbox is root on the host/)
})

rootTest(t, 'a file the sandbox creates in a writable volume belongs to the volume\'s owner on the host (idmapped mount)', async () => {
  const dir = volume(1234, 1234)
  writeFileSync(join(dir, 'mine'), 'v1\n')
  chownSync(join(dir, 'mine'), 1234, 1234)
  try {
    const r = await sh('stat -c "%u:%g" /data/mine; echo v2 >> /data/mine && touch /data/new && mkdir /data/sub && echo ok', ['-v', `${dir}:/data`])
    assert.is(r.stdout, '0:0\nok\n', r.stderr)
    for (const f of ['new', 'sub', 'mine']) {
      const st = statSync(join(dir, f))
      assert.is(`${st.uid}:${st.gid}`, '1234:1234', f)
    }
    assert.is(readFileSync(join(dir, 'mine'), 'utf8'), 'v1\nv2\n')
    // as another sandbox user, the same volume owner is that user inside
    const u = await sh('stat -c %u /data/mine; touch /data/by-1000 && echo ok', ['-u', '1000:1000', '-v', `${dir}:/data`])
    assert.is(u.stdout, '1000\nok\n', u.stderr)
    assert.is(statSync(join(dir, 'by-1000')).uid, 1234)
  } finally {
    rmSync(dir, {recursive: true})
  }
})

rootTest(t, 'a volume on a file system that cannot idmap (ramfs) is mounted without mapping: the warning names the fix, the sandbox owns nothing there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labram-'))
  execFileSync('mount', ['-t', 'ramfs', 'lab-test', dir])
  try {
    chownSync(dir, 1234, 1234)
    execFileSync('chmod', ['755', dir])
    execFileSync('mkdir', ['-m', '1777', join(dir, 'open')])
    const r = await sh('touch /data/x 2>/dev/null; echo rc=$?; touch /data/open/y && echo open-ok', ['-v', `${dir}:/data`])
    assert.is(r.code, 0, r.stderr)
    assert.match(r.stderr, /^lab: warning: cannot idmap .*lacks idmapped mounts.*do not own it.*ext4, xfs, btrfs.*--userns=host$/m)
    // not the owner: no write where only the owner may; the host directory is untouched
    assert.match(r.stdout, /^rc=1\n/)
    assert.is(`${statSync(dir).uid}:${statSync(dir).gid}`, '1234:1234')
    // where others may write, the file belongs to the sandbox's remapped root on the host
    assert.match(r.stdout, /open-ok\n$/)
    assert.ok(statSync(join(dir, 'open', 'y')).uid >= 65536, `owner ${statSync(join(dir, 'open', 'y')).uid}`)
  } finally {
    execFileSync('umount', [dir])
    rmSync(dir, {recursive: true})
  }
})

rootTest(t, 'attack: write a host-root-owned file through a read-write bind mount (planted or hard-linked) · defence: only the volume\'s owner is mapped; a root-owned volume is root\'s only with the set-id filter', async () => {
  const dir = volume(1234, 1234)
  writeFileSync(join(dir, 'rootfile'), 'root\n') // owned by host root
  try {
    const r = await sh('{ echo pwned >> /data/rootfile; } 2>&1; echo rc=$?', ['-v', `${dir}:/data`])
    assert.match(r.stdout, /Permission denied\nrc=2/)
    assert.is(readFileSync(join(dir, 'rootfile'), 'utf8'), 'root\n')
    const rootDir = volume(0, 0)
    writeFileSync(join(rootDir, 'f'), 'root\n')
    // a volume that belongs to host root is written as root, as under docker run -v, only
    // when the filter refuses set-id files (security/seccomp.test.mjs); without a filter it is not mapped
    const r2 = await sh('{ echo pwned >> /data/f; } 2>&1; echo rc=$?', ['--security-opt', 'seccomp=unconfined', '-v', `${rootDir}:/data`])
    assert.match(r2.stdout, /Permission denied\nrc=2/)
    assert.match(r2.stderr, /belongs to host root, so it is not id-mapped/)
    assert.is(readFileSync(join(rootDir, 'f'), 'utf8'), 'root\n')
    rmSync(rootDir, {recursive: true})
  } finally {
    rmSync(dir, {recursive: true})
  }
})

rootTest(t, 'capabilities are dropped inside the user namespace too, and the host root fs shows as the overflow id', async () => {
  const r = await sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status; stat -c %u /usr/bin/env; cat /proc/self/setgroups')
  assert.match(r.stdout, /CapEff:\s+0{16}\nCapBnd:\s+0{16}\n65534\nallow\n/)
})

rootTest(t, 'a crash frees the id range: SIGKILL of the CLI releases the slot lock', async () => {
  const child = spawnLab(['sandbox', 'run', '--json', '--', 'sleep', tag(4).split(' ')[1]])
  assert.ok(await waitFor(() => sleeper(4), 5000))
  const uid = hostIds(sleeper(4).pid).uid
  const slot = Math.floor((uid - 1_000_000_000) / 65536)
  const lockFile = `/run/lab/idpool/${slot}`
  const locked = () => {
    try {
      execFileSync('flock', ['-n', lockFile, 'true'])
      return false
    } catch {
      return true
    }
  }
  assert.ok(locked(), 'the live sandbox holds its slot')
  child.kill('SIGKILL')
  assert.ok(await waitFor(() => !sleeper(4) && !locked(), 5000), 'slot released and sandbox gone')
})

t.run()
