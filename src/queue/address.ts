/**
 * The queue's address: redis://[user:pass@]HOST:PORT[/DB] or rediss:// (TLS), checked
 * before anything connects. The password never appears in output: every message shows
 * the address with it replaced by "***". Apart from connection.ts so that commands which
 * only might use a queue (lab ci, lab grade) do not load the Redis client to parse a flag.
 */
import type {RedisOptions} from 'ioredis'

import {LabError} from '../errors.js'

export interface QueueAddress {
  /** the URL with any password replaced by *** */
  display: string
  options: RedisOptions
  tls: boolean
  hasPassword: boolean
}

export function parseQueueUrl(given: string | undefined): QueueAddress {
  const raw = given ?? process.env.LAB_QUEUE
  if (!raw) throw new LabError('queue-url', 'no queue given', {hint: 'pass --queue redis://[user:pass@]HOST:PORT[/DB] or set LAB_QUEUE'})
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new LabError('queue-url', `--queue ${redact(raw)}: not a URL`, {hint: 'use redis://[user:pass@]HOST:PORT[/DB], or rediss:// for TLS'})
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new LabError('queue-url', `--queue: scheme "${u.protocol.replace(/:$/, '')}" is not redis or rediss`, {hint: 'use redis://[user:pass@]HOST:PORT[/DB], or rediss:// for TLS'})
  if (!u.hostname) throw new LabError('queue-url', '--queue: the URL has no host', {hint: 'e.g. redis://:PASSWORD@127.0.0.1:6379/0'})
  const port = u.port ? Number(u.port) : 6379
  const dbText = u.pathname.replace(/^\//, '')
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new LabError('queue-url', `--queue: database "${dbText}" is not a number 0–15`, {hint: 'the path of the URL is the Redis database number, e.g. /0'})
  if (u.search || u.hash) throw new LabError('queue-url', '--queue: the URL may not have a query or fragment', {hint: 'use redis://[user:pass@]HOST:PORT[/DB]'})
  const tls = u.protocol === 'rediss:'
  const password = u.password ? decodeURIComponent(u.password) : undefined
  const username = u.username ? decodeURIComponent(u.username) : undefined
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return {
    display: redact(raw),
    tls,
    hasPassword: Boolean(password),
    options: {
      host,
      port,
      db: dbText ? Number(dbText) : 0,
      username,
      password,
      ...(tls ? {tls: {servername: host}} : {}),
      // BullMQ's blocking commands need these; connection loss is retried by ioredis
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      lazyConnect: true,
      connectionName: 'lab',
    },
  }
}

export function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
}
