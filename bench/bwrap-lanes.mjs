#!/usr/bin/env node
// The throughput peer for bench/cgroups.mjs: a small node process of its own that runs
// `bwrap … /bin/true` 2 at a time when asked (IPC message {n}) and answers {secs}.
// bwrap's rate is taken from its own process because spawn() forks the calling process:
// from inside the bench, bwrap would be forked from a node that has just run thousands
// of lab sandboxes (a larger heap and more JIT code), which is not bwrap's cost.
import {spawn} from 'node:child_process'

import {lanes} from './lib.mjs'

const PARALLEL = 2
const args = ['--ro-bind', '/', '/', '--unshare-all', '--dev', '/dev', '--proc', '/proc', '--die-with-parent', '/bin/true']
const once = () => new Promise((res) => spawn('bwrap', args, {stdio: 'ignore'}).on('close', res))

process.on('message', async ({n}) => process.send({secs: await lanes(n, PARALLEL, once)}))
process.on('disconnect', () => process.exit(0))
