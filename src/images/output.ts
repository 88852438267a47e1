/**
 * Where image archives go: a file written under a temporary name and renamed when
 * complete (an interrupted save leaves no half archive), or stdout when it is not a
 * terminal (Docker refuses to write an archive to one, and so does lab).
 */
import {createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {usageError} from '../errors.js'

export async function writeOutput<T>(file: string | undefined, what: string, fn: (w: Writable) => Promise<T>): Promise<T> {
  if (file === undefined || file === '-') {
    if (process.stdout.isTTY) throw usageError(`refusing to write ${what} to a terminal`, 'use -o FILE or redirect stdout')
    return fn(process.stdout)
  }
  const dest = resolve(file)
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.part`)
  const w = createWriteStream(tmp, {flags: 'wx', mode: 0o600})
  const opened = new Promise<void>((res, rej) => {
    w.once('open', () => res())
    w.once('error', (e) => rej(usageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, 'check the directory exists and is writable')))
  })
  await opened
  const cleanup = () => rmSync(tmp, {force: true})
  process.once('exit', cleanup)
  try {
    const out = await fn(w)
    renameSync(tmp, dest)
    return out
  } finally {
    process.off('exit', cleanup)
    cleanup()
  }
}

/** A directory output (an OCI layout): made under a temporary name, renamed when complete. */
export async function writeDirOutput<T>(dir: string, fn: (d: string) => Promise<T>): Promise<T> {
  const dest = resolve(dir)
  if (existsSync(dest) && (!lstatSync(dest).isDirectory() || readdirSync(dest).length)) throw usageError(`${dir} exists and is not an empty directory`, 'give a new directory for the OCI layout')
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.part`)
  const cleanup = () => rmSync(tmp, {recursive: true, force: true})
  process.once('exit', cleanup)
  try {
    const out = await fn(tmp)
    if (existsSync(dest)) rmSync(dest, {recursive: true})
    renameSync(tmp, dest)
    return out
  } finally {
    process.off('exit', cleanup)
    cleanup()
  }
}

/** An input archive: a file, or stdin with "-" or nothing (not a terminal). */
export function openInput(file: string | undefined, what: string): {stream?: Readable; dir?: string; name: string} {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw usageError(`${what} is read from stdin, which is a terminal`, 'use -i FILE or pipe the archive in')
    return {stream: process.stdin, name: '-'}
  }
  let st
  try {
    st = lstatSync(file)
  } catch {
    throw usageError(`${file} does not exist`, `give ${what} as a file`)
  }
  if (st.isDirectory()) return {dir: resolve(file), name: file}
  return {stream: createReadStream(file), name: file}
}
