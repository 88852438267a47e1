// A build by an ordinary user (rootless): its own store, its RUN steps in sandboxes of its
// own user namespace (one id: every file is root's inside), the layer cache as for root.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, symlinkSync, copyFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {LAB, rootTest} from '../helpers.mjs'

const t = suite('build: rootless')

rootTest(t, 'an ordinary user builds from its own image: RUN runs as root inside, the rebuild is all cache hits', async () => {
  const user = 'lab-rootless'
  if (spawnSync('id', [user]).status !== 0 && spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]).status !== 0) return
  const home = execFileSync('mktemp', ['-d', '/tmp/lb-home.XXXXXX'], {encoding: 'utf8'}).trim()
  try {
    const root = join(home, 'root')
    mkdirSync(join(root, 'bin'), {recursive: true})
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'))
    for (const a of ['sh', 'echo', 'cat', 'id', 'stat']) symlinkSync('busybox', join(root, 'bin', a))
    execFileSync('tar', ['-C', root, '-cf', join(home, 'root.tar'), '.'])
    mkdirSync(join(home, 'ctx'))
    writeFileSync(join(home, 'ctx', 'Dockerfile'), 'FROM mine:v1\nCOPY f.txt /f.txt\nRUN echo "ran as $(id -u)" > /ran && stat -c %u /f.txt >> /ran\nCMD ["cat", "/ran"]\n')
    writeFileSync(join(home, 'ctx', 'f.txt'), 'hi\n')
    execFileSync('chown', ['-R', user, home])
    const as = (args) => spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${home}/run`, process.execPath, '--', LAB, ...args], {encoding: 'utf8', timeout: 60_000})
    assert.is(as(['image', 'import', join(home, 'root.tar'), 'mine:v1']).status, 0)
    const b = as(['build', '-t', 'b:1', join(home, 'ctx')])
    assert.is(b.status, 0, b.stderr)
    assert.equal(as(['sandbox', 'run', 'b:1', '--']).stdout, 'ran as 0\n0\n')
    const again = as(['build', '--json', '-t', 'b:1', join(home, 'ctx')])
    assert.is(JSON.parse(again.stdout).ran, 0)
  } finally {
    execFileSync('rm', ['-rf', home])
  }
})

t.run()
